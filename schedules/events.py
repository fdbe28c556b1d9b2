"""Event triggers: a file arriving in a watched folder, and one bot finishing (chains).

File arrival is polled rather than watched with inotify: it works on network shares (where a
scanner or a partner's SFTP drops files) and costs one directory listing per folder per poll. A file
counts once it has kept its size for ``settle`` seconds, and each (path, size, mtime) is claimed in
history, so it starts its bot once — even across restarts.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backroom.schedules.history import History, Run
from backroom.schedules.settings import Settings
from backroom.schedules.status import RunStatus

__all__ = ["FileWatcher", "chain_requests"]

log = logging.getLogger(__name__)


def chain_requests(settings: Settings, finished: Run) -> list[tuple[str, dict[str, Any]]]:
    """(bot, params) for every bot configured to run after ``finished``."""
    requests = []
    for name, bot in settings.bots.items():
        if not bot.enabled:
            continue
        for chain in bot.after:
            if chain.bot != finished.bot:
                continue
            # a run with warnings finished its work: chains "on succeeded" follow it too
            status = RunStatus.SUCCEEDED if RunStatus(finished.status).ok else finished.status
            if "any" not in chain.on and status not in chain.on and finished.status not in chain.on:
                continue
            outputs = finished.outputs or {}
            if chain.if_output and not outputs.get(chain.if_output):
                continue
            params: dict[str, Any] = {}
            for param, source in chain.params.items():
                if source == "run_id":
                    params[param] = finished.id
                elif source == "status":
                    params[param] = finished.status
                elif source.startswith("outputs."):
                    params[param] = outputs.get(source.removeprefix("outputs."))
                else:
                    params[param] = source
            requests.append((name, params))
    return requests


class FileWatcher:
    """Polls each bot's watched folder and submits one run per arrived file."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        submit: Callable[[str, dict[str, Any], str], Any],
        *,
        is_paused: Callable[[str], bool] = lambda bot: False,
    ) -> None:
        self.settings = settings
        self.history = history
        self.submit = submit
        self.is_paused = is_paused
        self._sizes: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watched(self) -> dict[str, Any]:
        return {name: b.watch for name, b in self.settings.bots.items() if b.enabled and b.watch is not None}

    def start(self) -> None:
        if not self.watched():
            return
        self._thread = threading.Thread(target=self._loop, name="file-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = min(w.poll for w in self.watched().values())
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("file watcher poll failed")
            self._stop.wait(interval)

    def poll_once(self, now: float | None = None) -> list[Any]:
        """One pass over every watched folder; returns what was submitted."""
        now = time.monotonic() if now is None else now
        submitted = []
        for bot, watch in self.watched().items():
            if self.is_paused(bot):
                continue
            folder = self.settings.path(watch.folder)
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.name.startswith("."):
                    continue
                if not any(fnmatch.fnmatch(path.name.lower(), p.lower()) for p in watch.patterns):
                    continue
                stat = path.stat()
                key = (bot, str(path))
                size, mtime = stat.st_size, stat.st_mtime_ns
                previous = self._sizes.get(key)
                if previous is None or previous[:2] != (size, mtime):
                    self._sizes[key] = (size, mtime, now)
                    if watch.settle > 0:
                        continue
                elif now - previous[2] < watch.settle:
                    continue
                fingerprint = f"{size}:{mtime}"
                if not self.history.claim_file(bot, str(path), fingerprint):
                    continue
                run = self.submit(bot, {watch.param: str(path)}, f"file:{Path(path).name}")
                if run is not None:
                    self.history.attach_file_run(bot, str(path), fingerprint, run.id)
                    submitted.append(run)
        return submitted

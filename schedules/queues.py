"""Work-item queues on the runner's side: start consumers when items wait, alert on missed deadlines.

A bot with ``consumes = "NAME"`` is started (trigger ``queue``) when its queue holds items that are
due and it has no run queued or running; that run takes items with ``ctx.items()`` until none are
due (see :mod:`backroom.bots.sdk.workitems`). Items whose deadline passed unfinished are announced
once, to the consumer's notify targets and the global on-failure targets, and marked alerted.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from backroom.bots.sdk.notify import Notifier
from backroom.bots.sdk.secrets import SecretResolver
from backroom.bots.sdk.workitems import WorkQueue
from backroom.schedules.history import History, Run, utcnow
from backroom.schedules.settings import BotSettings, Settings

__all__ = ["QueueWatcher", "consumers"]

log = logging.getLogger(__name__)


def consumers(settings: Settings, bots: dict[str, Any]) -> dict[str, str]:
    """bot -> the queue it consumes, for the enabled bots that consume one."""
    out = {}
    for name, cls in bots.items():
        queue = getattr(cls, "consumes", None)
        if queue and settings.bots.get(name, BotSettings()).enabled:
            out[name] = queue
    return out


class QueueWatcher:
    """Polls the consumed queues; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        bots: dict[str, Any],
        submit: Callable[[str, dict[str, Any], str], Run | None],
        active: Callable[[], dict[str, int]],
        *,
        is_paused: Callable[[str], bool] = lambda bot: False,
        clock: Callable[[], dt.datetime] = utcnow,
        poll: float = 2.0,
        notify: Callable[[list[str], str, str], None] | None = None,
    ) -> None:
        self.settings, self.history, self.submit, self.active = settings, history, submit, active
        self.consumers = consumers(settings, bots)
        self.is_paused, self.clock, self.poll = is_paused, clock, poll
        self.notify = notify or _send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def queue(self, name: str) -> WorkQueue:
        return WorkQueue(self.history.engine, name, clock=self.clock)

    def start(self) -> None:
        if not self.consumers:
            return
        self._thread = threading.Thread(target=self._loop, name="queue-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("queue watcher")
            self._stop.wait(self.poll)

    def poll_once(self) -> list[Run]:
        """Start idle consumers of queues with due items; announce missed deadlines. The runs started."""
        started = []
        active = self.active()
        for bot, name in self.consumers.items():
            queue = self.queue(name)
            self._alert_overdue(bot, queue)
            if self.is_paused(bot) or active.get(bot, 0) > 0:
                continue
            waiting = queue.available()
            if waiting:
                run = self.submit(bot, {}, f"queue:{name}")
                if run is not None:
                    started.append(run)
        return started

    def _alert_overdue(self, bot: str, queue: WorkQueue) -> None:
        overdue = queue.overdue(mark=True)
        if not overdue:
            return
        settings = self.settings.bots.get(bot, BotSettings())
        targets = list(dict.fromkeys([*settings.notify, *self.settings.notify.on_failure]))
        refs = ", ".join(str(item["ref"]) for item in overdue[:20])
        more = f" (+{len(overdue) - 20} more)" if len(overdue) > 20 else ""
        title = f"⏰ Backroom · {len(overdue)} item(s) of queue {queue.name} past their deadline"
        body = f"**Queue**: {queue.name}\n\n**Consumer**: {bot}\n\n**Items**: {refs}{more}"
        log.warning("%d item(s) of queue %s are past their deadline: %s%s", len(overdue), queue.name, refs, more)
        if targets:
            self.notify(targets, title, body)


def _send(targets: list[str], title: str, body: str) -> None:
    resolver = SecretResolver()
    try:
        Notifier(targets, resolver.resolve).send(title, body)
    except Exception as exc:
        log.error("deadline alert could not be sent: %s", resolver.redactor.redact(str(exc)))

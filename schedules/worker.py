"""The child side of a run: build the context, call the bot, report back over a pipe.

Runs inside a process forked from a pre-warmed forkserver (see :mod:`schedules.execution`). It first
takes the run's own minimal environment (:mod:`schedules.runenv`) and, when configured, the run's OS
user; a bot never sees serve's environment or privileges. Everything sent to the parent is one of the
typed messages of :mod:`schedules.pipe`, scrubbed by the run's redactor (:mod:`schedules.scrub`):
log lines, the bot's stdout and stderr (:mod:`schedules.capture`), progress, the result, errors.
The child becomes its own process-group leader so that a timeout or cancel can kill it together
with anything it started (a browser, say), and it exits if its parent goes away.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import threading
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from backroom.bots.sdk.errors import MissingSecretError
from backroom.bots.sdk.secrets import RedactingFilter, Redactor, SecretResolver
from backroom.schedules.capture import OutputCapture
from backroom.schedules.pipe import (
    CancelRequest,
    ChildMessage,
    Dropped,
    Failed,
    Finished,
    LogLine,
    Progress,
    RunPayload,
)
from backroom.schedules.reaper import has_descendants, make_subreaper
from backroom.schedules.scrub import scrub_message
from backroom.schedules.undumpable import make_undumpable

__all__ = ["RunPayload", "child_entry", "child_main", "noop"]


class _PipeHandler(logging.Handler):
    """Log records to the parent, each message cut to ``max_bytes`` before it crosses the pipe."""

    def __init__(self, conn: Connection, lock: threading.Lock, max_bytes: int) -> None:
        super().__init__(logging.INFO)
        self.conn, self._send_lock, self._max_bytes = conn, lock, max_bytes

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_text:
                message += "\n" + record.exc_text
            elif record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            data = message.encode("utf-8", "surrogatepass")
            if len(data) > self._max_bytes:
                kept = data[: self._max_bytes].decode("utf-8", "ignore")
                message = f"{kept} … [{len(data) - len(kept.encode('utf-8'))} bytes cut]"
            with self._send_lock:
                self.conn.send(
                    LogLine(dt.datetime.fromtimestamp(record.created, dt.UTC), record.levelname, record.name, message)
                )
        except (OSError, ValueError):
            pass


class _LineCap(logging.Filter):
    """Lets the first ``max_lines`` records through; counts the rest without sending (or redacting) them.

    The supervisor caps the log anyway; stopping here spares the pipe and both processes a flood.
    """

    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines, self.passed, self.lines, self.bytes = max_lines, 0, 0, 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            if self.passed < self.max_lines:
                self.passed += 1
                return True
        size = 0
        with contextlib.suppress(Exception):  # a record that cannot format is still a line left out
            size = len(record.getMessage().encode("utf-8", "surrogatepass"))
        with self._lock:
            self.lines += 1
            self.bytes += size
        return False


def _watch_parent(conn: Connection, cancel: threading.Event) -> None:
    """Read control messages; if the parent is gone, take the whole process group down."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os.killpg(os.getpgid(0), signal.SIGKILL)
            return
        if isinstance(message, CancelRequest):
            cancel.set()


def noop() -> None:
    """Started once to warm the forkserver up."""


def child_entry(conn: Connection, payload: RunPayload) -> None:
    """What the forkserver runs: take the run's environment and user, then :func:`child_main`.

    This lives here, not in :mod:`schedules.execution`, so that the child needs only modules the
    forkserver preloaded (importing the execution module costs ~90 ms of CPU per run).
    """
    os.environ.clear()
    os.environ.update(payload.environ)
    if payload.run_as is not None:
        # The bots' modules are imported as serve's user — as the forkserver's preload already does for
        # every configured bot module — because the run's user may not be able to read where the code
        # lives; what the bot *does* runs as the run's user.
        from backroom.schedules.discovery import discover

        discover(payload.bot_modules)
        become(*payload.run_as)
    child_main(conn, payload)


def become(user: str, uid: int, gid: int) -> None:
    """Switch this process to ``user`` for good (groups, then group, then user: the order that can't be undone)."""
    os.initgroups(user, gid)
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise PermissionError(f"could not switch the run's process to user {user!r}")


def child_main(conn: Connection, payload: RunPayload) -> None:
    """Entry point of the run's process."""
    os.setsid()
    make_undumpable()  # another run of the same OS user must not read this one's secrets
    subreaper = make_subreaper()  # every orphan it leaves comes back here: "no child" means "nothing left"
    lock = threading.Lock()

    redactor = Redactor()
    with contextlib.suppress(ValueError):  # the database's password: the run needs the URL, no log needs it
        redactor.add(unquote(urlsplit(payload.database_url).password or ""))
    for value in [*payload.secret_values.values(), *(os.environ.get(n, "") for n in payload.secret_env)]:
        redactor.add(value)

    def send(message: ChildMessage) -> None:
        message = scrub_message(message, redactor.redact)
        with lock:
            conn.send(message)

    handler = _PipeHandler(conn, lock, payload.log_line_max_bytes)
    cap = _LineCap(payload.log_max_lines)
    handler.addFilter(cap)  # first: what is only counted is never formatted twice nor redacted
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.raiseExceptions = False  # a failing handler must not print to stderr, which is captured
    for noisy in ("httpx", "httpcore", "urllib3", "asyncio", "apprise", "faker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    output = OutputCapture(lambda stream, line: logging.getLogger(stream).info("%s", line), payload.log_line_max_bytes)
    output.start()

    cancel = threading.Event()
    threading.Thread(target=_watch_parent, args=(conn, cancel), daemon=True, name="parent-watch").start()

    try:
        try:
            message: ChildMessage = _run_bot(payload, _RunSecrets(redactor, payload.secret_values), cancel, send)
        except BaseException as exc:
            from backroom.bots.sdk.context import RunCancelled
            from backroom.bots.sdk.errors import TransientError

            text = f"{type(exc).__name__}: {exc}"
            tb = "".join(traceback.format_exception(exc))
            message = Failed(text, tb, isinstance(exc, TransientError), isinstance(exc, RunCancelled))
        output.stop()  # what the bot printed is logged before its result is sent
        if cap.lines:
            send(Dropped(cap.lines, cap.bytes))
        if not has_descendants(subreaper):
            message = replace(message, descendants=False)  # serve may skip its scan for leftovers
        send(message)
    finally:
        logging.shutdown()
        conn.close()


class _RunSecrets(SecretResolver):
    """A run's resolver: ``env:`` references from the run's own environment, ``keyring:`` ones only
    from the values serve resolved for it. A run never asks the keyring itself."""

    def __init__(self, redactor: Redactor, values: dict[str, str]) -> None:
        super().__init__(redactor, os.environ)
        self._values = values

    def resolve(self, ref: str) -> str:
        if not ref.startswith("keyring:"):
            return super().resolve(ref)
        value = self._values.get(ref)
        if value is None:
            raise MissingSecretError(ref, "not found in the system keyring, or not referenced by this bot's config")
        self.redactor.add(value)
        return value


def _run_bot(payload: RunPayload, secrets: Any, cancel: threading.Event, send: Any) -> Finished:
    from backroom.bots.sdk.context import Context
    from backroom.bots.sdk.paths import Roots
    from backroom.bots.sdk.system import SystemSettings
    from backroom.schedules.discovery import get_bot

    bot_cls = get_bot(payload.bot, payload.bot_modules)
    log = logging.getLogger(f"backroom.run.{payload.bot}")
    # Secrets the run will need are resolved before the bot starts: a missing one fails the run here,
    # naming the reference, instead of half-way through the work.
    for ref in payload.secret_refs:
        secrets.resolve(ref)
    roots = Roots({name: Path(folder) for name, folder in payload.roots.items()})
    params = bot_cls.Params.model_validate(payload.params, context={"roots": roots})  # confined again here
    config = bot_cls.Config.model_validate(payload.config)
    systems = {name: SystemSettings.model_validate(data) for name, data in payload.systems.items()}

    def progress(label: str, done: int, total: int | None) -> None:
        send(Progress(label, done, total))

    ctx = Context(
        run_id=payload.run_id,
        bot=payload.bot,
        run_dir=Path(payload.run_dir),
        database_url=payload.database_url,
        systems=systems,
        config=config,
        secrets=secrets,
        notify_targets=list(payload.notify),
        timezone=payload.timezone,
        logger=log,
        progress_sink=progress,
        cancel_event=cancel,
        dry_run=payload.dry_run,
        home=Path(payload.home),
        roots=roots,
        consumes=getattr(bot_cls, "consumes", None),
    )
    log.info("%s started (run %s, attempt %s)", payload.bot, payload.run_id[:8], payload.attempt)
    try:
        result = bot_cls().run(ctx, params)
    finally:
        ctx.close()
    data = result.model_dump(mode="json")
    return Finished(data["status"], data.get("summary"), data.get("counts") or {}, data.get("outputs") or {})

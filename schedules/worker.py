"""The child side of a run: build the context, call the bot, report back over a pipe.

Runs inside a process forked from a pre-warmed forkserver (see :mod:`schedules.execution`). Everything
sent to the parent is one of the typed messages of :mod:`schedules.pipe`; log lines and errors are
redacted before they leave the child.
The child becomes its own process-group leader so that a timeout or cancel can kill it together
with anything it started (a browser, say), and it exits if its parent goes away.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from backroom.schedules.pipe import CancelRequest, ChildMessage, Failed, Finished, LogLine, Progress, RunPayload

__all__ = ["RunPayload", "child_entry", "child_main", "noop"]


class _PipeHandler(logging.Handler):
    def __init__(self, conn: Connection, lock: threading.Lock) -> None:
        super().__init__(logging.INFO)
        self.conn, self._send_lock = conn, lock

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_text:
                message += "\n" + record.exc_text
            elif record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            with self._send_lock:
                self.conn.send(
                    LogLine(dt.datetime.fromtimestamp(record.created, dt.UTC), record.levelname, record.name, message)
                )
        except (OSError, ValueError):
            pass


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
    """What the forkserver runs: restore the parent's environment, then :func:`child_main`.

    This lives here, not in :mod:`schedules.execution`, so that the child needs only modules the
    forkserver preloaded (importing the execution module costs ~90 ms of CPU per run).
    """
    if payload.environ is not None:
        os.environ.clear()
        os.environ.update(payload.environ)
    child_main(conn, payload)


def child_main(conn: Connection, payload: RunPayload) -> None:
    """Entry point of the run's process."""
    os.setsid()
    lock = threading.Lock()

    def send(message: ChildMessage) -> None:
        with lock:
            conn.send(message)

    from backroom.bots.sdk.secrets import RedactingFilter, Redactor, SecretResolver

    redactor = Redactor()
    handler = _PipeHandler(conn, lock)
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "urllib3", "asyncio", "apprise", "faker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    cancel = threading.Event()
    threading.Thread(target=_watch_parent, args=(conn, cancel), daemon=True, name="parent-watch").start()

    try:
        send(_run_bot(payload, SecretResolver(redactor), cancel, send))
    except BaseException as exc:
        from backroom.bots.sdk.context import RunCancelled
        from backroom.bots.sdk.errors import TransientError

        text = redactor.redact(f"{type(exc).__name__}: {exc}")
        tb = redactor.redact("".join(traceback.format_exception(exc)))
        send(Failed(text, tb, isinstance(exc, TransientError), isinstance(exc, RunCancelled)))
    finally:
        logging.shutdown()
        conn.close()


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
    )
    log.info("%s started (run %s, attempt %s)", payload.bot, payload.run_id[:8], payload.attempt)
    try:
        result = bot_cls().run(ctx, params)
    finally:
        ctx.close()
    data = result.model_dump(mode="json")
    return Finished(data["status"], data.get("summary"), data.get("counts") or {}, data.get("outputs") or {})

"""Running one bot in a child process: hard timeout, cancel, crash isolation.

Why a process per run: a bot stuck in a browser or in C code (OCR) cannot be stopped from a thread,
and a segfaulting bot must not take the runner down. Forking from a *forkserver* whose modules are
preloaded makes a process cheap (milliseconds, not the second a fresh interpreter takes).

The supervisor (this module, in the runner's process) passes the child's log lines and progress to
a :class:`RunSink` as they come, enforces the timeout, passes a cancel on (first politely, then
SIGKILL to the child's whole process group), and returns one frozen :class:`RunOutcome`. It never
writes history: the runner owns the sink and records the outcome (:mod:`schedules.dispatch`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from backroom.schedules.outcome import LogEntry, RunOutcome, artifact_files
from backroom.schedules.pipe import CancelRequest, Failed, Finished, LogLine, Progress, RunPayload
from backroom.schedules.settings import BotSettings, Settings, utcnow
from backroom.schedules.status import RunStatus
from backroom.schedules.worker import child_entry, noop

if TYPE_CHECKING:
    from backroom.schedules.history.models import Run

__all__ = ["ProcessExecutor", "RunOutcome", "RunSink", "required_secret_refs"]

CANCEL_GRACE_S = 5.0
LOG_FLUSH_S = 0.5

_mp_context: Any = None
_mp_lock = threading.Lock()


def _context(extra_modules: tuple[str, ...] = ()) -> Any:
    """The forkserver context, with Backroom's modules preloaded into the server."""
    global _mp_context
    with _mp_lock:
        if _mp_context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["backroom.schedules.preload", *extra_modules])
            _install_main_skipping()
            _mp_context = ctx
        return _mp_context


_start_local = threading.local()


def _install_main_skipping() -> None:
    """Let run processes start without re-running the parent's ``__main__``.

    multiprocessing re-imports the parent's main module in every child it starts (Python 3.11's
    forkserver cannot preload it: it asks for a 'main_path' key that the preparation data never
    has). For ``backroom serve`` that is the console script and everything it imports; for a test or
    benchmark harness it can be far more — measured at ~130 ms of CPU per run. A run's process needs
    nothing from ``__main__`` (its target is :func:`schedules.worker.child_entry`), so while the
    executor starts one, the main-module entries are left out of the preparation data.
    """
    from multiprocessing import spawn

    if getattr(spawn.get_preparation_data, "_backroom", False):
        return
    original = spawn.get_preparation_data

    def get_preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if getattr(_start_local, "skip_main", False):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data._backroom = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = get_preparation_data


def _start(process: Any) -> None:
    _start_local.skip_main = True
    try:
        process.start()
    finally:
        _start_local.skip_main = False


class RunSink(Protocol):
    """Where a run's live state goes while it runs, and where a cancel request is read from."""

    def append_logs(self, run_id: str, lines: Sequence[LogEntry]) -> None: ...

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None: ...

    def cancel_requested(self, run_id: str) -> bool: ...


ProgressCallback = Callable[[str, int, int | None], None]
LogCallback = Callable[[str, str], None]


def required_secret_refs(settings: Settings, bot: str, bot_cls: Any) -> list[str]:
    """Secret references a run of ``bot`` needs, so a missing one fails before the bot starts."""
    refs: list[str] = []
    for name in _systems_used(settings, bot, bot_cls):
        system = settings.systems.get(name)
        if system is not None:
            refs.extend(system.secret_refs())
    return refs


def _systems_used(settings: Settings, bot: str, bot_cls: Any) -> list[str]:
    bot_settings = settings.bots.get(bot, BotSettings())
    declared = getattr(bot_cls, "required_systems", None)
    if callable(declared):
        try:
            config = bot_cls.Config.model_validate(bot_settings.config)
            return list(declared(config))
        except Exception:
            return []
    return _system_names_in(bot_settings.config, set(settings.systems))


def _system_names_in(value: Any, known: set[str], key: str = "") -> list[str]:
    """System names referenced by config keys named ``system``/``*_system``/``systems``."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_system_names_in(v, known, str(k)))
    elif isinstance(value, list):
        for v in value:
            found.extend(_system_names_in(v, known, key))
    elif isinstance(value, str) and (key == "system" or key.endswith("_system") or key == "systems"):
        found.append(value)
    return found


class ProcessExecutor:
    """Executes runs in child processes; reports to a :class:`RunSink`, returns a :class:`RunOutcome`."""

    def __init__(self, settings: Settings, bots: dict[str, Any]) -> None:
        self.settings = settings
        self.bots = bots
        self._cancel_events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Start the forkserver now, so the first run does not pay for it."""
        ctx = _context(tuple(self.settings.bot_modules))
        proc = ctx.Process(target=noop)
        _start(proc)
        proc.join()

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            event = self._cancel_events.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def run_dir(self, run: Run) -> Path:
        """Where ``run`` keeps its files: ``runs_dir/YYYY/MM/DD/<run id>``."""
        return self.settings.runs_path / run.queued_at.strftime("%Y/%m/%d") / run.id

    def payload(self, run: Run, run_dir: Path) -> RunPayload:
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        bot_cls = self.bots[run.bot]
        return RunPayload(
            run_id=run.id,
            bot=run.bot,
            run_dir=str(run_dir),
            home=str(self.settings.home_path),
            database_url=self.settings.database_url,
            params=run.params,
            config=bot_settings.config,
            systems={n: s.model_dump(mode="json") for n, s in self.settings.systems.items()},
            secret_refs=tuple(required_secret_refs(self.settings, run.bot, bot_cls)),
            timezone=self.settings.timezone,
            dry_run=run.dry_run,
            attempt=run.attempt,
            notify=tuple(bot_settings.notify),
            environ=dict(os.environ),
            bot_modules=tuple(self.settings.bot_modules),
        )

    def execute(
        self,
        run: Run,
        run_dir: Path,
        sink: RunSink,
        *,
        on_progress: ProgressCallback | None = None,
        on_log: LogCallback | None = None,
    ) -> RunOutcome:
        """Run ``run`` to its end in a child process; blocks. The caller has marked it running."""
        if run.bot not in self.bots:
            return RunOutcome(RunStatus.FAILED, error=f"unknown bot {run.bot!r}")
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        cancel_event = threading.Event()
        with self._lock:
            self._cancel_events[run.id] = cancel_event
        try:
            return self._supervise(run, run_dir, bot_settings.timeout, sink, cancel_event, on_progress, on_log)
        finally:
            with self._lock:
                self._cancel_events.pop(run.id, None)

    def _supervise(
        self,
        run: Run,
        run_dir: Path,
        timeout: float,
        sink: RunSink,
        cancel_event: threading.Event,
        on_progress: ProgressCallback | None,
        on_log: LogCallback | None,
    ) -> RunOutcome:
        ctx = _context(tuple(self.settings.bot_modules))
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(target=child_entry, args=(child_conn, self.payload(run, run_dir)), daemon=False)
        _start(process)
        child_conn.close()
        started = time.monotonic()
        deadline = started + timeout
        logs: list[LogEntry] = []
        last_flush = started
        last_cancel_check = started
        outcome: RunOutcome | None = None
        cancel_sent_at: float | None = None
        progress_state: dict[str, Any] | None = None
        progress_flushed: dict[str, Any] | None = None

        def flush() -> None:
            nonlocal logs, last_flush, progress_flushed
            if logs:
                sink.append_logs(run.id, logs)
                logs = []
            if progress_state is not None and progress_state is not progress_flushed:
                sink.set_progress(run.id, progress_state)
                progress_flushed = progress_state
            last_flush = time.monotonic()

        while True:
            now = time.monotonic()
            if now - last_cancel_check >= 1.0:
                last_cancel_check = now
                if not cancel_event.is_set() and sink.cancel_requested(run.id):
                    cancel_event.set()
            if cancel_event.is_set() and cancel_sent_at is None:
                cancel_sent_at = now
                logs.append(LogEntry(utcnow(), "WARNING", "backroom.runner", "cancel requested; stopping the run"))
                with contextlib.suppress(OSError):
                    parent_conn.send(CancelRequest())
            if cancel_sent_at is not None and now - cancel_sent_at > CANCEL_GRACE_S:
                _kill_group(process)
                outcome = RunOutcome(RunStatus.CANCELLED, error="cancelled by request")
                break
            if now > deadline:
                _kill_group(process)
                outcome = RunOutcome(RunStatus.TIMED_OUT, error=f"killed after its timeout of {timeout:.0f} s")
                logs.append(LogEntry(utcnow(), "ERROR", "backroom.runner", outcome.error or ""))
                break
            try:
                ready = parent_conn.poll(0.1)
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    message = parent_conn.recv()
                except (EOFError, OSError):
                    break
                match message:
                    case LogLine(at, level, name, text):
                        logs.append(LogEntry(at, level, name, text))
                        if on_log:
                            on_log(level, text)
                    case Progress(label, done, total):
                        progress_state = {"label": label, "done": done, "total": total}
                        if on_progress:
                            on_progress(label, done, total)
                    case Finished() | Failed():
                        outcome = _ending(message, cancel_sent_at is not None)
            elif not process.is_alive():
                break
            if time.monotonic() - last_flush >= LOG_FLUSH_S:
                flush()
        # Drain what the child sent before it ended. Its result can be here too: the child may send
        # it and exit between a poll that timed out and the liveness check above.
        try:
            while parent_conn.poll(0):
                message = parent_conn.recv()
                if isinstance(message, LogLine):
                    logs.append(LogEntry(message.at, message.level, message.logger, message.text))
                elif isinstance(message, Finished | Failed) and outcome is None:
                    outcome = _ending(message, cancel_sent_at is not None)
        except (EOFError, OSError):
            pass
        process.join(timeout=10)
        if process.is_alive():
            _kill_group(process)
            process.join(timeout=5)
        if outcome is None:
            code = process.exitcode
            if code is not None and code < 0:
                name = signal.Signals(-code).name
                outcome = RunOutcome(RunStatus.FAILED, error=f"the bot's process died with signal {name}")
            else:
                error = f"the bot's process exited with code {code} without a result"
                outcome = RunOutcome(RunStatus.FAILED, error=error)
        parent_conn.close()
        # what is left is written with the outcome, in one transaction
        return dataclasses.replace(
            outcome, progress=progress_state, logs=tuple(logs), artifacts=artifact_files(run_dir)
        )


def _ending(message: Finished | Failed, cancel_sent: bool) -> RunOutcome:
    """The outcome a child's last message reports (a failure after a cancel counts as cancelled)."""
    if isinstance(message, Finished):
        return RunOutcome(
            RunStatus(message.status), summary=message.summary, counts=message.counts, outputs=message.outputs
        )
    status = RunStatus.CANCELLED if message.cancelled or cancel_sent else RunStatus.FAILED
    return RunOutcome(status, error=message.error, traceback=message.traceback, transient=message.transient)


def _kill_group(process: Any) -> None:
    """SIGKILL the child and everything it started (it leads its own process group)."""
    pid = process.pid
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError, AttributeError):
            process.kill()

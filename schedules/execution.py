"""Running one bot in a child process: hard timeout, cancel, crash isolation.

Why a process per run: a bot stuck in a browser or in C code (OCR) cannot be stopped from a thread,
and a segfaulting bot must not take the runner down. Forking from a *forkserver* whose modules are
preloaded makes a process cheap (milliseconds, not the second a fresh interpreter takes).

The supervisor (this module, in the runner's process) passes the child's log lines and progress to
a :class:`RunSink` as they come, enforces the timeout, passes a cancel on (first politely, then
SIGKILL to the child's whole process group), and returns one frozen :class:`RunOutcome`. It never
writes history: the runner owns the sink and records the outcome (:mod:`schedules.dispatch`).

Least privilege and bounds (see SECURITY.md): the child gets the run's minimal environment and only
its bot's secrets (:mod:`schedules.runenv`), optionally another OS user (``run_as_user``); what it
sends is read with an unpickler that builds nothing but the pipe's messages, scrubbed again by a
redactor that knows the run's secrets (:mod:`schedules.scrub`) and capped (:mod:`schedules.logcap`);
and whatever the run started is killed when it ends, however it ends (:mod:`schedules.leftovers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import multiprocessing
import os
import pickle
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from backroom.bots.sdk.secrets import Redactor, SecretResolver
from backroom.schedules.counts import warned_status
from backroom.schedules.leftovers import kill_leftovers
from backroom.schedules.logcap import LogBudget
from backroom.schedules.outcome import LogEntry, RunOutcome, artifact_files
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
from backroom.schedules.runenv import RunSecrets, base_environ, referenced_secrets, resolve_secrets, run_environ
from backroom.schedules.scrub import scrub_message
from backroom.schedules.settings import BotSettings, Settings, utcnow
from backroom.schedules.status import RunStatus
from backroom.schedules.undumpable import make_undumpable
from backroom.schedules.worker import child_entry, noop

if TYPE_CHECKING:
    from backroom.schedules.history.models import Run

__all__ = ["ProcessExecutor", "RunOutcome", "RunSink", "required_secret_refs"]

CANCEL_GRACE_S = 5.0
LOG_FLUSH_S = 0.5
#: the largest message a run's process may send (a log line is cut to a few KiB before it is sent)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

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
            _install_minimal_helper_environment()
            make_undumpable()  # runs share serve's OS user: they must not read its /proc/PID/environ
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


_helpers: list[subprocess.Popen[bytes]] = []


def _install_minimal_helper_environment() -> None:
    """Start multiprocessing's helper servers (the forkserver, its resource tracker) with the base
    environment only.

    Every run is forked from the forkserver, and ``/proc/self/environ`` shows the environment a
    process was *started* with: were the forkserver started with serve's environment, every run
    could read every console token and system secret there, whatever it did to ``os.environ``.
    """
    from multiprocessing import util

    if getattr(util.spawnv_passfds, "_backroom", False):
        return

    def spawnv_passfds(path: str, args: Sequence[str], passfds: Sequence[int]) -> int:
        helper = subprocess.Popen(list(args), executable=path, pass_fds=tuple(passfds), env=base_environ())
        _helpers.append(helper)  # kept, so that subprocess never reaps it behind multiprocessing's back
        return helper.pid

    spawnv_passfds._backroom = True  # type: ignore[attr-defined]
    util.spawnv_passfds = spawnv_passfds


_MESSAGE_CLASSES = {
    ("backroom.schedules.pipe", "LogLine"): LogLine,
    ("backroom.schedules.pipe", "Progress"): Progress,
    ("backroom.schedules.pipe", "Finished"): Finished,
    ("backroom.schedules.pipe", "Failed"): Failed,
    ("backroom.schedules.pipe", "Dropped"): Dropped,
}


class _MessageUnpickler(pickle.Unpickler):
    """Builds the pipe's messages and dates, nothing else.

    A run's process is not trusted: a plain ``recv()`` would unpickle whatever it sent, and a pickle
    can call any function, in serve, with serve's secrets and privileges.
    """

    def find_class(self, module: str, name: str) -> Any:
        if module == "datetime" and name in {"datetime", "date", "timezone", "timedelta"}:
            return super().find_class(module, name)
        found = _MESSAGE_CLASSES.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"a run's process may not send {module}.{name}")
        return found


def read_message(data: bytes) -> ChildMessage:
    """One message from a run's process, or UnpicklingError when it is anything else."""
    message = _MessageUnpickler(io.BytesIO(data)).load()
    if not isinstance(message, LogLine | Progress | Finished | Failed | Dropped):
        raise pickle.UnpicklingError(f"a run's process may not send a {type(message).__name__}")
    return message


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

    def payload(self, run: Run, run_dir: Path, secrets: RunSecrets | None = None) -> RunPayload:
        """What the run's process gets: its bot's settings, its own environment and secrets, no more."""
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        bot_cls = self.bots[run.bot]
        if secrets is None:
            secrets = self.secrets(run)
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
            environ=run_environ(self.settings, run.id, run_dir, secrets),
            bot_modules=tuple(self.settings.bot_modules),
            secret_values=dict(secrets.values),
            secret_env=tuple(secrets.environ),
            run_as=self.run_as(),
            log_max_lines=self.settings.log_max_lines,
            log_line_max_bytes=self.settings.log_line_max_bytes,
            roots=self.settings.roots_for(run.bot).as_strings(),
        )

    def secrets(self, run: Run) -> RunSecrets:
        """The secrets ``run``'s bot references, resolved here in serve."""
        systems = _systems_used(self.settings, run.bot, self.bots[run.bot])
        refs = referenced_secrets(self.settings, run.bot, systems)
        return resolve_secrets(refs, SecretResolver(Redactor()))

    def run_as(self) -> tuple[str, int, int] | None:
        """``run_as_user`` as (name, uid, gid); ValueError when it cannot be honoured."""
        name = self.settings.run_as_user
        if not name:
            return None
        if os.geteuid() != 0:
            uid = os.geteuid()
            raise ValueError(f"run_as_user = {name!r} needs backroom serve to run as root (it runs as uid {uid})")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ValueError(f"run_as_user = {name!r}: no such user on this machine") from None
        return entry.pw_name, entry.pw_uid, entry.pw_gid

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
        secrets = self.secrets(run)
        try:
            payload = self.payload(run, run_dir, secrets)
            if payload.run_as is not None:
                _hand_over(run_dir, payload.run_as)
        except (ValueError, OSError) as exc:
            return RunOutcome(RunStatus.FAILED, error=f"the run could not start: {exc}")
        redactor = Redactor()
        for value in [*secrets.all_values(), database_password(self.settings.database_url)]:
            redactor.add(value)
        cancel_event = threading.Event()
        with self._lock:
            self._cancel_events[run.id] = cancel_event
        try:
            return self._supervise(
                run, run_dir, payload, bot_settings.timeout, sink, cancel_event, redactor, on_progress, on_log
            )
        finally:
            with self._lock:
                self._cancel_events.pop(run.id, None)

    def _supervise(
        self,
        run: Run,
        run_dir: Path,
        payload: RunPayload,
        timeout: float,
        sink: RunSink,
        cancel_event: threading.Event,
        redactor: Redactor,
        on_progress: ProgressCallback | None,
        on_log: LogCallback | None,
    ) -> RunOutcome:
        ctx = _context(tuple(self.settings.bot_modules))
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(target=child_entry, args=(child_conn, payload), daemon=False)
        _start(process)
        child_conn.close()
        started = time.monotonic()
        deadline = started + timeout
        budget = LogBudget(self.settings.log_max_lines, self.settings.log_line_max_bytes)
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

        def receive() -> ChildMessage | None:
            """The next message, scrubbed; None when the child is gone or broke the protocol."""
            nonlocal outcome
            try:
                message = read_message(parent_conn.recv_bytes(MAX_MESSAGE_BYTES))
                if isinstance(message, LogLine) and budget.full:
                    return message  # only counted, never stored: not worth redacting
                return scrub_message(message, redactor.redact)
            except EOFError:
                return None
            except OSError:  # a message over MAX_MESSAGE_BYTES (or a broken pipe): the run ends here
                if process.is_alive():
                    _kill_group(process)
                    error = f"the bot's process sent a message over {MAX_MESSAGE_BYTES} bytes"
                    outcome = RunOutcome(RunStatus.FAILED, error=error)
                return None
            except (pickle.UnpicklingError, TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
                _kill_group(process)
                error = f"the bot's process sent something that is not a run message ({type(exc).__name__})"
                outcome = RunOutcome(RunStatus.FAILED, error=error)
                return None

        ending: Finished | Failed | None = None  # the child's last word, if it had one

        def log_line(message: LogLine) -> None:
            entry = budget.admit(LogEntry(message.at, message.level, message.logger, message.text))
            if entry is not None:
                logs.append(entry)
                if on_log:
                    on_log(entry.level, entry.message)

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
                message = receive()
                if message is None:
                    break
                match message:
                    case LogLine():
                        log_line(message)
                    case Dropped(lines, size):
                        budget.count_dropped(int(lines), int(size))
                    case Progress(label, done, total):
                        progress_state = {"label": label, "done": done, "total": total}
                        if on_progress:
                            on_progress(label, done, total)
                    case Finished() | Failed():
                        ending = message
                        outcome = _ending(message, cancel_sent_at is not None)
            elif not process.is_alive():
                break
            if time.monotonic() - last_flush >= LOG_FLUSH_S:
                flush()
        # Drain what the child sent before it ended. Its result can be here too: the child may send
        # it and exit between a poll that timed out and the liveness check above.
        try:
            while parent_conn.poll(0):
                message = receive()
                if message is None:
                    break
                if isinstance(message, LogLine):
                    log_line(message)
                elif isinstance(message, Dropped):
                    budget.count_dropped(int(message.lines), int(message.bytes))
                elif isinstance(message, Finished | Failed) and outcome is None:
                    ending = message
                    outcome = _ending(message, cancel_sent_at is not None)
        except (EOFError, OSError):
            pass
        process.join(timeout=10)
        if process.is_alive():
            _kill_group(process)
            process.join(timeout=5)
        # whatever its end, nothing the run started outlives it (a setsid grandchild included); the scan
        # of /proc is skipped only when the run's process, a subreaper, ended saying it left no process
        kill_leftovers(run.id, process.pid, scan=not (isinstance(ending, Finished | Failed) and not ending.descendants))
        if outcome is None:
            code = process.exitcode
            if code is not None and code < 0:
                name = signal.Signals(-code).name
                outcome = RunOutcome(RunStatus.FAILED, error=f"the bot's process died with signal {name}")
            else:
                error = f"the bot's process exited with code {code} without a result"
                outcome = RunOutcome(RunStatus.FAILED, error=error)
        parent_conn.close()
        note = budget.closing_note(utcnow())
        if note is not None:
            logs.append(note)
        # what is left is written with the outcome, in one transaction
        return dataclasses.replace(
            outcome, progress=progress_state, logs=tuple(logs), artifacts=artifact_files(run_dir)
        )


def _ending(message: Finished | Failed, cancel_sent: bool) -> RunOutcome:
    """The outcome a child's last message reports (a failure after a cancel counts as cancelled)."""
    if isinstance(message, Finished):
        status = warned_status(RunStatus(message.status), message.counts)  # no silent green
        return RunOutcome(status, summary=message.summary, counts=message.counts, outputs=message.outputs)
    status = RunStatus.CANCELLED if message.cancelled or cancel_sent else RunStatus.FAILED
    return RunOutcome(status, error=message.error, traceback=message.traceback, transient=message.transient)


def database_password(url: str) -> str:
    """The password in a database URL (a run needs the URL for its bot's state; never its password in a log)."""
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


def _hand_over(run_dir: Path, run_as: tuple[str, int, int]) -> None:
    """Give the run's folder to the run's user, so that it can write its artifacts there."""
    _, uid, gid = run_as
    run_dir.mkdir(parents=True, exist_ok=True)
    for path in (run_dir, *run_dir.rglob("*")):
        os.chown(path, uid, gid, follow_symlinks=False)


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

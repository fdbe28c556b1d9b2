"""Dispatch: queued runs to supervisor threads, outcomes to history, then retries, chains, notices.

    pending runs ── global ``max_parallel_runs`` and per-bot ``max_instances`` ──► supervisor thread
    supervisor ── mark running ► ProcessExecutor.execute (live logs/progress to history) ► finish_run
    finished run ── notifications, a retry with exponential backoff (transient errors), chained bots

:func:`run_and_record` is the one place a run's record is written from its outcome; the dispatcher
and ``backroom run`` (through :meth:`schedules.runner.Runner.run_in_foreground`) both go through it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backroom.schedules.errors import BotNotFound, ParamsInvalid
from backroom.schedules.events import chain_requests
from backroom.schedules.execution import LogCallback, ProcessExecutor, ProgressCallback
from backroom.schedules.history import History, Run, process_owner, utcnow
from backroom.schedules.notifications import notify_run
from backroom.schedules.outcome import LogEntry, RunOutcome
from backroom.schedules.runsdir import runs_folder_problem
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.status import RunStatus, Trigger

__all__ = ["Dispatcher", "run_and_record"]

log = logging.getLogger(__name__)

TriggerFn = Callable[..., Run]


def run_and_record(
    history: History,
    executor: ProcessExecutor,
    run: Run,
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    marked: bool = False,
) -> RunOutcome:
    """Mark ``run`` running, execute it to its end, record the outcome; the outcome as recorded.

    ``marked``: the caller already marked it running (a worker does, under the cluster's limits).
    """
    run_dir = executor.run_dir(run)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        problem = runs_folder_problem(run_dir)
    except OSError as exc:
        problem = f"the runs folder {executor.settings.runs_path} is not writable: {exc.strerror or exc}"
    if problem is not None:
        outcome = RunOutcome(RunStatus.FAILED, error=problem)
        history.finish_run(run.id, outcome)
        return outcome
    try:
        if not marked and not history.mark_running(run.id, str(run_dir), process_owner()):
            return RunOutcome(RunStatus.CANCELLED, error="cancelled before it started")
        outcome = executor.execute(run, run_dir, history, on_progress=on_progress, on_log=on_log)
    except Exception as exc:
        log.exception("supervising run %s failed", run.id[:8])
        outcome = RunOutcome(RunStatus.FAILED, error=f"runner error: {exc}")
    history.finish_run(run.id, outcome)
    return outcome


class Dispatcher:
    """Pending runs, running counts per bot, the supervisor pool, and what follows a finished run."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        executor: ProcessExecutor,
        trigger: TriggerFn,
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.history = history
        self.executor = executor
        self.trigger = trigger  # the runner's trigger, for chained runs
        self.stop = stop
        self.listeners: list[Callable[[Run], None]] = []  # called with each finished run
        self._pending: collections.deque[Run] = collections.deque()
        self._running: collections.Counter[str] = collections.Counter()
        self._cond = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=settings.max_parallel_runs, thread_name_prefix="run")
        self._timers: list[threading.Timer] = []

    # -- the queue -----------------------------------------------------------------------------
    def enqueue(self, run: Run) -> None:
        with self._cond:
            self._pending.append(run)
            self._cond.notify_all()

    def dequeue(self, run_id: str) -> bool:
        """Drop a pending run; True when it was pending."""
        with self._cond:
            before = len(self._pending)
            self._pending = collections.deque(r for r in self._pending if r.id != run_id)
            return before != len(self._pending)

    def active_counts(self) -> dict[str, int]:
        """bot → runs pending or running in this process."""
        with self._cond:
            counts = collections.Counter(self._running)
            counts.update(r.bot for r in self._pending)
            return {bot: n for bot, n in counts.items() if n > 0}

    def idle(self) -> bool:
        with self._cond:
            return not self._pending and sum(self._running.values()) == 0

    def _startable(self) -> list[Run]:
        picked = []
        total = sum(self._running.values())
        for run in list(self._pending):
            if total >= self.settings.max_parallel_runs:
                break
            limit = self.settings.bots.get(run.bot, BotSettings()).max_instances
            if self._running[run.bot] >= limit:
                continue
            self._pending.remove(run)
            self._running[run.bot] += 1
            total += 1
            picked.append(run)
        return picked

    def loop(self) -> None:
        """Start runs as limits allow, until ``stop`` is set (the dispatcher thread)."""
        while not self.stop.is_set():
            with self._cond:
                picked = self._startable()
                if not picked:
                    self._cond.wait(0.5)
                    continue
            for run in picked:
                self._pool.submit(self._supervise, run)

    def wake(self) -> None:
        """Cancel pending retries and wake the loop, so it sees ``stop`` at once."""
        for timer in self._timers:
            timer.cancel()
        with self._cond:
            self._cond.notify_all()

    def shutdown(self, wait: bool) -> None:
        self.wake()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _supervise(self, run: Run) -> None:
        try:
            outcome = run_and_record(self.history, self.executor, run)
            self.after_run(self.history.get_run(run.id) or run, outcome)
        finally:
            with self._cond:
                self._running[run.bot] -= 1
                self._cond.notify_all()

    # -- what follows a run --------------------------------------------------------------------
    def after_run(self, run: Run, outcome: RunOutcome, *, follow_ups: bool = True, wait_notify: bool = False) -> None:
        """Notify; with ``follow_ups``, schedule a retry of a transient failure and start chained bots."""
        notify_run(self.settings, run, wait=wait_notify)
        if follow_ups:
            self._maybe_retry(run, outcome)
            for bot, params in chain_requests(self.settings, run):
                try:
                    self.trigger(bot, params, actor=f"chain:{run.bot}", trigger=Trigger.CHAIN)
                except (BotNotFound, ParamsInvalid) as exc:
                    log.error("chain %s → %s could not start: %s", run.bot, bot, exc)
        for listener in self.listeners:
            try:
                listener(run)
            except Exception:
                log.exception("run listener failed")

    def requeue_interrupted(self, run: Run, bot_cls: Any) -> Run | None:
        """Queue ``run`` (interrupted by a crash) again, if its bot asks for that and is idempotent.

        At most ``max_requeues`` times in a row: a run that brings serve down every time it starts
        would otherwise be started (and crash serve) forever. After that it stays interrupted, with
        a note saying why.
        """
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        if bot_settings.on_interrupted != "requeue" or bot_cls is None or not bot_cls.idempotent:
            return None
        if self._requeues_before(run) >= bot_settings.max_requeues:
            note = (
                f"not requeued: this run was already requeued {bot_settings.max_requeues} time(s) in a row "
                f"after an interruption (max_requeues = {bot_settings.max_requeues})"
            )
            self.history.append_logs(run.id, [LogEntry(utcnow(), "WARNING", "backroom.runner", note)])
            self.history.update_run(run.id, error=f"{run.error or 'interrupted'}; {note}")
            return None
        again = self.history.create_run(
            run.bot,
            trigger=Trigger.REQUEUE,
            params=run.params,
            job_id=run.job_id,
            parent_run_id=run.id,
            attempt=run.attempt + 1,
        )
        self.enqueue(again)
        return again

    def _requeues_before(self, run: Run) -> int:
        """How many requeues in a row led to ``run`` (its requeued ancestors)."""
        count = 0
        current: Run | None = run
        while current is not None and current.trigger == Trigger.REQUEUE and current.parent_run_id:
            count += 1
            current = self.history.get_run(current.parent_run_id)
        return count

    def _maybe_retry(self, run: Run, outcome: RunOutcome) -> None:
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        if not outcome.transient or run.attempt > bot_settings.retries or self.stop.is_set():
            return
        delay = bot_settings.retry_backoff * (2 ** (run.attempt - 1))
        note = f"transient failure; retry {run.attempt} of {bot_settings.retries} in {delay:.0f} s"
        self.history.append_logs(run.id, [LogEntry(utcnow(), "WARNING", "backroom.runner", note)])
        timer = threading.Timer(delay, self._retry, args=(run,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _retry(self, run: Run) -> None:
        if self.stop.is_set():
            return
        again = self.history.create_retry(run)
        self.enqueue(again)

    # -- for tests and the demo ----------------------------------------------------------------
    def wait_idle(self, timeout: float, also: Callable[[], bool] = lambda: True) -> bool:
        """Block until nothing is pending or running and ``also()`` holds (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle() and also():
                return True
            time.sleep(0.05)
        return False

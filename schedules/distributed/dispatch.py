"""The dispatcher of the procrastinate backend: runs go to PostgreSQL, not to threads of this process.

It keeps the local dispatcher's follow-ups (notices, chains, requeue after an interruption) and
changes where a run goes: :meth:`enqueue` defers a procrastinate job; a retry is deferred with its
backoff as the job's ``schedule_in``, so a retry waiting out its backoff survives a restart of every
process (the local backend holds it in a timer). Active counts (for ``max_instances`` at intake)
come from history, which every serve and worker shares.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

import procrastinate

from backroom.schedules.dispatch import Dispatcher, TriggerFn
from backroom.schedules.distributed.queue import defer_run, runs_without_job
from backroom.schedules.execution import ProcessExecutor
from backroom.schedules.history import History, Run, utcnow
from backroom.schedules.outcome import LogEntry, RunOutcome
from backroom.schedules.settings import BotSettings, Settings

__all__ = ["QueueDispatcher"]

log = logging.getLogger(__name__)


class QueueDispatcher(Dispatcher):
    """Defers each run as a procrastinate job; executes nothing itself."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        executor: ProcessExecutor,
        trigger: TriggerFn,
        stop: threading.Event,
        app: procrastinate.App,
    ) -> None:
        super().__init__(settings, history, executor, trigger, stop)
        self.app = app

    def enqueue(self, run: Run) -> None:
        defer_run(self.app, self.settings, run.id, run.bot)

    def dequeue(self, run_id: str) -> bool:
        """A queued run's job stays: the worker that takes it finds the run cancelled and does nothing."""
        return False

    def active_counts(self) -> dict[str, int]:
        """bot → runs queued or running anywhere (history is shared by every serve and worker)."""
        return self.history.active_counts()

    def idle(self) -> bool:
        return not self.history.active_counts()

    def loop(self) -> None:
        """Nothing to start here: workers take the jobs."""
        self.stop.wait()

    def _maybe_retry(self, run: Run, outcome: RunOutcome) -> None:
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        if not outcome.transient or run.attempt > bot_settings.retries:
            return
        delay = bot_settings.retry_backoff * (2 ** (run.attempt - 1))
        again = self.history.create_retry(run)
        defer_run(self.app, self.settings, again.id, again.bot, delay=dt.timedelta(seconds=delay))
        note = (
            f"transient failure; retry {run.attempt} of {bot_settings.retries} in {delay:.0f} s "
            f"(run {again.id[:8]}, waiting in the queue)"
        )
        self.history.append_logs(run.id, [LogEntry(utcnow(), "WARNING", "backroom.runner", note)])

    def wait_idle(self, timeout: float, also: Callable[[], bool] = lambda: True) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle() and also():
                return True
            time.sleep(0.1)
        return False

    def replay_queued(self, older_than_s: float = 0.0) -> int:
        """Defer again every queued run that no job will start (a serve died between recording and
        deferring it, a worker died holding its job); how many. Safe against a race with a worker:
        a run is marked running only while queued, so of two jobs for one run only one starts it."""
        lease = self.settings.owner_lease
        count = 0
        for run_id, bot in runs_without_job(self.app, older_than_s, lease):
            if defer_run(self.app, self.settings, run_id, bot) is not None:
                count += 1
        return count

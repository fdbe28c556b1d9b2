"""``backroom worker``: takes runs from procrastinate and executes each exactly as serve's local backend.

    job (run id) ── run still queued? ── run_and_record (child process: hard timeout, cancel read
                    from history every second, logs streamed into history) ── notices, retries, chains

The worker holds a supervisor lease on its host:pid (:class:`~schedules.ownership.SupervisorLease`),
renewed every sixth of ``owner_lease`` with the queues it takes (what ``backroom workers`` shows):
when it dies (kill -9, its machine gone) the leader finds the lease expired (on this host: the pid
dead), marks its running runs ``interrupted`` and requeues those whose bot is idempotent with
``on_interrupted = "requeue"``. The run's own process ends with it (it reads the worker's pipe).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from backroom.schedules.dispatch import run_and_record
from backroom.schedules.distributed.queue import defer_run, ensure_schema, make_app
from backroom.schedules.distributed.runner import DistributedRunner
from backroom.schedules.history import process_owner
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.status import RunStatus

__all__ = ["Worker", "advertised"]

log = logging.getLogger(__name__)

RETRY_WHEN_FULL = dt.timedelta(seconds=0.5)  # a run refused for lack of room waits this long in the queue


def advertised(queues: Sequence[str] | None) -> str:
    """What a worker stores with its heartbeat: the queues (capabilities) it takes, "*" for all."""
    return ",".join(queues) if queues else "*"


class Worker:
    """One worker process: which queues it takes, how many runs at once."""

    def __init__(
        self,
        settings: Settings,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int | None = None,
        bots: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.queues = list(queues) if queues else None
        self.concurrency = concurrency or settings.execution.worker_concurrency
        # never started: its history, executor and dispatcher (chains, retries, requeues) are reused
        self.runner = DistributedRunner(settings, bots=bots)
        self.runner.exit_when_deposed = False
        self.app = make_app(settings, sync=False, task=self.execute)

    def execute(self, run_id: str) -> None:
        """The procrastinate task: execute run ``run_id`` unless it is no longer queued."""
        history = self.runner.history
        run = history.get_run(run_id)
        if run is None or run.status != RunStatus.QUEUED:
            log.info("run %s is not queued (%s): nothing to do", run_id[:8], run.status if run else "unknown")
            return
        run_dir = self.runner.executor.run_dir(run)
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        claimed = history.mark_running_within(
            run_id, str(run_dir), process_owner(), run.bot, self.settings.max_parallel_runs, bot_settings.max_instances
        )
        if claimed is None:  # the cluster is at max_parallel_runs, or the bot at max_instances
            defer_run(self.runner.app, self.settings, run_id, run.bot, delay=RETRY_WHEN_FULL)
            return
        if not claimed:
            return
        log.info("run %s of %s starts on %s", run_id[:8], run.bot, process_owner())
        outcome = run_and_record(history, self.runner.executor, run, marked=True)
        finished = history.get_run(run_id)
        if finished is None:
            return
        self.runner.dispatcher.after_run(finished, outcome)

    def run(self) -> None:
        """Work until stopped (SIGINT/SIGTERM): running runs are waited for."""
        ensure_schema(self.settings, self.runner.app)
        self.runner.executor.warm()
        lease = self.settings.owner_lease
        self.runner.supervisor.capabilities = advertised(self.queues)
        with self.runner.supervisor.held():
            self.app.run_worker(
                queues=self.queues,
                concurrency=self.concurrency,
                name=process_owner(),
                fetch_job_polling_interval=1.0,
                abort_job_polling_interval=1.0,
                update_heartbeat_interval=max(0.5, lease / 6),
                stalled_worker_timeout=lease,
                delete_jobs="successful",  # history is the record; a refused run's jobs would pile up
            )
        self.runner.app.close()

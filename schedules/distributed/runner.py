"""The serve side of the procrastinate backend: a runner that schedules only while elected leader.

    start ── procrastinate schema (once) ── stand by until elected (advisory lock) ── take the job
             store's owner lock at once (new fencing token) ── replay queued runs ── schedule
    deposed ── scheduling paused, the token no longer matches ── the process stops (SIGTERM to
               itself), so its supervisor restarts it as a standby

Every run it queues goes to a procrastinate job (:class:`QueueDispatcher`); workers execute them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from backroom.schedules.distributed.dispatch import QueueDispatcher
from backroom.schedules.distributed.leader import Leadership
from backroom.schedules.distributed.queue import (
    close_jobs,
    close_jobs_of_dead_workers,
    conninfo,
    ensure_schema,
    make_app,
)
from backroom.schedules.ownership import OwnerLease
from backroom.schedules.runner import Runner
from backroom.schedules.settings import Settings

__all__ = ["DistributedRunner", "make_runner"]

log = logging.getLogger(__name__)


class DistributedRunner(Runner):
    """A runner whose runs are deferred to procrastinate; scheduling only while the elected leader."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.app = make_app(settings, sync=True)
        self.app.open()
        self.dispatcher = QueueDispatcher(settings, self.history, self.executor, self.trigger, self._stop, self.app)
        self.leadership = Leadership(conninfo(settings), settings.execution.leader_heartbeat, self._deposed)
        self.exit_when_deposed = True
        self._campaign: threading.Thread | None = None

    def start(self, *, schedule: bool = True, watch: bool = True) -> None:
        """Install procrastinate's schema, then stand by in the background until elected.

        start returns at once, so a standby's console serves too: runs it triggers or cancels go
        through PostgreSQL, which every instance shares; only the leader schedules.
        """
        ensure_schema(self.settings, self.app)
        self._campaign = threading.Thread(
            target=self._lead, args=(schedule, watch), name="leader-campaign", daemon=True
        )
        self._campaign.start()

    def _lead(self, schedule: bool, watch: bool) -> None:
        log.info("standing by for leadership")
        if not self.leadership.wait(self._stop):
            return
        try:
            super().start(schedule=schedule, watch=watch)
            replayed = self.dispatcher.replay_queued()  # type: ignore[attr-defined]
        except Exception:
            log.exception("could not start scheduling as the leader: stepping down")
            self.leadership.release()
            if self.exit_when_deposed:
                os.kill(os.getpid(), signal.SIGTERM)
            return
        if replayed:
            log.warning("deferred %d queued run(s) that had no waiting job", replayed)

    @property
    def is_leader(self) -> bool:
        """Whether this instance schedules now (the elected leader holding the job store)."""
        return self.leadership.held and self.owns_job_store

    def _make_lease(self, owner: str) -> OwnerLease:
        lease = super()._make_lease(owner)
        lease.steal = True  # elected: the previous holder's session is gone
        return lease

    def _deposed(self, reason: str) -> None:
        if self.lease is not None:
            self.lease.steal = False
            self.lease.lose(f"deposed as leader: {reason}")
        if self.exit_when_deposed:
            os.kill(os.getpid(), signal.SIGTERM)

    def _recover(self, *, startup: bool) -> None:
        """Interrupt runs whose worker is gone; queued runs wait in PostgreSQL and belong to no process.

        The dead worker's job is closed too (``failed``), which frees its bot's ``lock``: otherwise
        no later run of that bot would ever start.
        """
        interrupted = self.history.interrupt_orphans(self.clock(), startup=False, queued=False)
        if interrupted:
            close_jobs(self.app, [run.id for run in interrupted])
        for run in interrupted:
            log.warning("run %s of %s was interrupted: its worker (%s) is gone", run.id[:8], run.bot, run.owner)
            self.dispatcher.requeue_interrupted(run, self.bots.get(run.bot))
        close_jobs_of_dead_workers(self.app, self.settings.owner_lease)  # taken, its run never started
        replayed = self.dispatcher.replay_queued(older_than_s=self.settings.owner_lease)  # type: ignore[attr-defined]
        if replayed:
            log.warning("deferred %d queued run(s) that no job would have started", replayed)

    def upkeep(self) -> None:
        if self.lease is not None and not self.leadership.held:
            self.lease.steal = False
        super().upkeep()

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        if self._campaign is not None:
            self._campaign.join(timeout=10)
        super().shutdown(wait)
        self.leadership.release()
        self.app.close()


def make_runner(settings: Settings, bots: dict[str, Any] | None = None) -> Runner:
    """The runner for ``[execution] backend``: the local one, or the distributed one."""
    if settings.execution.backend == "procrastinate":
        return DistributedRunner(settings, bots=bots)
    return Runner(settings, bots=bots)

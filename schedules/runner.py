"""The runner: APScheduler turns config into fire times; Backroom turns fires into isolated runs.

    config ──sync──► job store                                   (:mod:`schedules.jobs`)
                          │ fire (APScheduler, scheduler thread)
                          ▼
    intake thread ── grace / coalescing / max_instances decided  (:mod:`schedules.intake`, pure)
                          │ claims the fire + queues the run in one transaction (never twice)
                          ▼
    dispatcher ── global ``max_parallel_runs`` and per-bot ``max_instances``  (:mod:`schedules.dispatch`)
                          │
                          ▼
    supervisor threads ── one child process per run              (:mod:`schedules.execution`)
                          │ outcome recorded by the runner only
                          ▼
    notifications, chains (:mod:`schedules.events`), retries with exponential backoff
    event watchers ── files (:mod:`schedules.events`), mail (:mod:`schedules.mailbox`), conditions
                      (:mod:`schedules.conditions`), work-item queues (:mod:`schedules.queues`)
    control loop ── pauses made elsewhere, owner-lock heartbeat, daily pruning (:mod:`schedules.maintenance`)

Only one runner may own a job store: a second one refuses to start while the first's lease runs
(the lock is kept in :mod:`schedules.history.scheduler_state`, held by :mod:`schedules.ownership`).
A runner that loses the lock — taken over after it froze past its lease, or unable to renew it —
stops scheduling at once: every scheduled enqueue checks the lock's fencing token in its own
transaction. The owner interrupts the runs of any process whose lease expired, on any host.
``backroom run`` uses a runner too, without starting it: :meth:`Runner.run_in_foreground` queues,
supervises and records one run in the calling thread, through the same path as the dispatcher.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

from backroom.schedules.conditions import ConditionWatcher
from backroom.schedules.discovery import discover
from backroom.schedules.dispatch import Dispatcher, run_and_record
from backroom.schedules.errors import BotNotFound, ParamsInvalid, RunnerBusy
from backroom.schedules.events import FileWatcher
from backroom.schedules.execution import LogCallback, ProcessExecutor, ProgressCallback
from backroom.schedules.history import History, OwnerLost, Run, process_owner, utcnow
from backroom.schedules.intake import FirePolicy, QueueFire, SkipFire, decide_fires
from backroom.schedules.jobs import JobSpec, JobSync, effective_params, job_specs, scheduled_fire
from backroom.schedules.mailbox import MailWatcher
from backroom.schedules.maintenance import Maintenance
from backroom.schedules.outcome import RunOutcome
from backroom.schedules.ownership import OwnerLease, SupervisorLease, renew_interval
from backroom.schedules.queues import QueueWatcher
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.status import RunStatus, Trigger

__all__ = ["JobSpec", "ParamsInvalid", "Runner", "RunnerBusy", "effective_params", "job_specs", "scheduled_fire"]

log = logging.getLogger(__name__)

Fires = list[tuple[str, list[dt.datetime]]]


class Runner:
    """Owns the scheduler, the dispatcher and the run supervisors of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        bots: dict[str, Any] | None = None,
        history: History | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.bots = bots if bots is not None else discover(settings.bot_modules)
        self.history = history or History(settings.database_url)
        self.executor = ProcessExecutor(settings, self.bots)
        self.clock = clock
        self.specs = job_specs(settings)
        self.jobs = JobSync(settings, self.specs, self.history, clock)
        self._stop = threading.Event()
        self.dispatcher = Dispatcher(settings, self.history, self.executor, self.trigger, self._stop)
        self.maintenance = Maintenance(settings, self.history, clock)
        self._intake: queue.Queue[tuple[str, list[dt.datetime]]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._paused: set[str] = set()
        self._watcher: FileWatcher | None = None
        self.mail_watcher: MailWatcher | None = None
        self.condition_watcher: ConditionWatcher | None = None
        self.queue_watcher: QueueWatcher | None = None
        self.lease: OwnerLease | None = None  # the job store's owner lock, once started
        self.supervisor = SupervisorLease(self.history, settings.owner_lease, clock)
        self._swept: dt.datetime | None = None

    @property
    def scheduler(self) -> Any:
        """The APScheduler instance (None until :meth:`start` with ``schedule=True``)."""
        return self.jobs.scheduler

    @property
    def store(self) -> Any:
        """The job store (None until :meth:`start` with ``schedule=True``); the console reads next fires from it."""
        return self.jobs.store

    @property
    def listeners(self) -> list[Callable[[Run], None]]:
        """Called with each finished run."""
        return self.dispatcher.listeners

    # -- life cycle --------------------------------------------------------------------------
    def start(self, *, schedule: bool = True, watch: bool = True) -> None:
        """Recover from a crash, sync jobs from config, start scheduling and dispatching."""
        owner = f"{process_owner()}#{uuid.uuid4().hex[:8]}"
        lease = self._make_lease(owner)
        previous = lease.acquire()
        self.lease = lease
        self.supervisor.renew(force=True)
        if previous:
            log.warning("took the job store over from %s, whose lease had expired", previous)
        self._paused = self.history.paused_bots()
        self._recover(startup=True)
        # the forkserver (with every bot module preloaded) starts in the background: start-up does not
        # wait for it, and the first run waits only for whatever is left of it
        self._start_thread(self.executor.warm, "warm-forkserver")
        self._start_thread(self.dispatcher.loop, "dispatcher")
        self._start_thread(self._intake_loop, "intake")
        self._start_thread(self._control_loop, "control")
        if schedule:
            self.jobs.start(self._paused, lambda job_id, times: self._intake.put((job_id, times)), lease.check)
        if watch:
            self._watcher = FileWatcher(
                self.settings, self.history, self._submit_file, is_paused=lambda b: b in self._paused
            )
            self._watcher.start()
            self.mail_watcher = MailWatcher(
                self.settings,
                self.history,
                self._submit_event(Trigger.MAIL),
                is_paused=self._event_paused,
                clock=self.clock,
            )
            self.listeners.append(self._mail_run_ended)
            self.mail_watcher.start()
            self.condition_watcher = ConditionWatcher(
                self.settings,
                self.history,
                self._submit_event(Trigger.CONDITION),
                is_paused=self._event_paused,
                clock=self.clock,
            )
            self.condition_watcher.start()
            self.queue_watcher = QueueWatcher(
                self.settings,
                self.history,
                self.bots,
                self._submit_event(Trigger.QUEUE),
                self.dispatcher.active_counts,
                is_paused=self._event_paused,
                clock=self.clock,
            )
            self.queue_watcher.start()
        log.info("runner started: %d scheduled job(s), %d bot(s)", len(self.specs), len(self.bots))

    def _make_lease(self, owner: str) -> OwnerLease:
        """The job store's owner lock for this runner (the distributed runner's may take over at once)."""
        return OwnerLease(self.history, owner, self.settings.owner_lease, self.clock, self._lost_ownership)

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self.jobs.shutdown()
        if self._watcher:
            self._watcher.stop()
        if self.mail_watcher:
            self.mail_watcher.stop()
        if self.condition_watcher:
            self.condition_watcher.stop()
        if self.queue_watcher:
            self.queue_watcher.stop()
        self.dispatcher.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self.dispatcher.shutdown(wait)
        if self.lease is not None:
            try:
                self.lease.release()
            except Exception:
                log.warning("could not release the job store lock", exc_info=True)

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- ownership and crash recovery --------------------------------------------------------
    def _lost_ownership(self, reason: str) -> None:
        """The owner lock is gone: stop firing now and drop the fires not yet queued."""
        self.jobs.pause_scheduling()
        dropped = 0
        while True:
            try:
                self._intake.get_nowait()
                dropped += 1
            except queue.Empty:
                break
        log.error("scheduling paused (%s); %d fire batch(es) left to the new owner", reason, dropped)

    def _regained_ownership(self) -> None:
        log.warning("took the job store's owner lock back: scheduling resumes")
        self._recover(startup=False)
        self.jobs.resume_scheduling(self._paused)

    @property
    def owns_job_store(self) -> bool:
        """Whether this runner holds the job store's owner lock (and may schedule)."""
        return self.lease is not None and self.lease.held

    def _recover(self, *, startup: bool) -> None:
        """Interrupt the runs of processes that are gone (requeueing those configured so)."""
        for run in self.history.interrupt_orphans(self.clock(), startup=startup):
            log.warning("run %s of %s was interrupted: its process (%s) is gone", run.id[:8], run.bot, run.owner)
            self.dispatcher.requeue_interrupted(run, self.bots.get(run.bot))

    # -- scheduling --------------------------------------------------------------------------
    def sync_jobs(self) -> dict[str, int]:
        """Make the job store match config: add, change and remove only what differs."""
        return self.jobs.sync(self._paused)

    def _intake_loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._intake.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < 5000:
                try:
                    batch.append(self._intake.get_nowait())
                except queue.Empty:
                    break
            try:
                self._accept_fires(batch)
            except Exception:
                log.exception("could not queue %d fire(s)", len(batch))

    def _policies(self) -> dict[str, FirePolicy]:
        return {
            job_id: FirePolicy(spec.bot, spec.grace, self.settings.bots.get(spec.bot, BotSettings()).max_instances)
            for job_id, spec in self.specs.items()
        }

    def _accept_fires(self, batch: Fires) -> list[Run]:
        """Record the intake's skips, queue its fires (claimed once); the runs queued.

        Once started, every claim carries the owner lock's fencing token: a runner that lost the
        lock records and queues nothing (the new owner decides those fires).
        """
        fence = None
        if self.lease is not None:
            fence = self.lease.fence
            if fence is None:
                return []
        try:
            return self._claim_fires(batch, fence)
        except OwnerLost as exc:
            if self.lease is not None:
                self.lease.lose(str(exc))
            return []

    def _claim_fires(self, batch: Fires, fence: tuple[str, int] | None) -> list[Run]:
        fires: list[tuple[str, str, dict, dt.datetime]] = []
        decisions = decide_fires(batch, self._policies(), self.dispatcher.active_counts(), self.clock())
        for decision in decisions:
            if isinstance(decision, SkipFire):
                self.history.record_skipped(
                    decision.bot,
                    decision.reason,
                    job_id=decision.job_id,
                    scheduled_for=decision.fire_time,
                    missed=(decision.count, decision.last) if decision.count > 1 else None,
                    fence=fence,
                )
            elif isinstance(decision, QueueFire):
                params = self._params_or_none(self.specs[decision.job_id])
                if params is not None:
                    fires.append((decision.bot, decision.job_id, params, decision.fire_time))
        runs = self.history.create_scheduled_runs(fires, fence)
        for run in runs:
            self.dispatcher.enqueue(run)
        return runs

    def _params_or_none(self, spec: JobSpec) -> dict[str, Any] | None:
        bot_cls = self.bots.get(spec.bot)
        if bot_cls is None:
            self.history.record_skipped(spec.bot, f"unknown bot {spec.bot!r}", job_id=spec.job_id)
            return None
        try:
            return effective_params(bot_cls, spec.params, None, roots=self.settings.roots_for(spec.bot))
        except ParamsInvalid as exc:
            self.history.create_run(
                spec.bot,
                trigger=Trigger.SCHEDULE,
                job_id=spec.job_id,
                status=RunStatus.FAILED,
                error=str(exc),
                params=spec.params,
            )
            return None

    # -- on-demand ---------------------------------------------------------------------------
    def trigger(
        self,
        bot: str,
        params: dict[str, Any] | None = None,
        *,
        actor: str = "admin",
        source: str = "",
        trigger: Trigger = Trigger.API,
        dry_run: bool = False,
        audit_action: str = "trigger",
        enqueue: bool = True,
    ) -> Run:
        """Queue a run now. Raises BotNotFound for an unknown bot, ParamsInvalid for bad parameters.

        A run asked for by a person (``api``, ``manual``) is audited as ``audit_action``.
        ``enqueue=False`` records the run without handing it to the dispatcher (the caller runs it).
        """
        bot_cls = self.bots.get(bot)
        if bot_cls is None:
            raise BotNotFound(bot, list(self.bots))
        defaults = self.settings.bots.get(bot, BotSettings()).params
        values = effective_params(bot_cls, defaults, params, roots=self.settings.roots_for(bot))
        run = self.history.create_run(bot, trigger=trigger, params=values, triggered_by=actor, dry_run=dry_run)
        if trigger in (Trigger.API, Trigger.MANUAL):
            self.history.audit(
                actor, audit_action, bot, source=source, detail={"run_id": run.id, "params": values, "dry_run": dry_run}
            )
        if enqueue:
            self.dispatcher.enqueue(run)
        return run

    def run_in_foreground(
        self,
        bot: str,
        params: dict[str, Any] | None = None,
        *,
        actor: str,
        source: str = "cli",
        dry_run: bool = False,
        on_started: Callable[[Run], None] | None = None,
        on_progress: ProgressCallback | None = None,
        on_log: LogCallback | None = None,
    ) -> tuple[Run, RunOutcome]:
        """Queue one manual run and supervise it in this thread; the finished run and its outcome.

        The same record-and-notify path as a dispatched run (notices are sent before this returns),
        without retries or chains: a person is watching and decides what comes next. The runner need
        not be started, and does not take the job store: ``backroom run`` works beside ``serve``.
        """
        run = self.trigger(
            bot,
            params,
            actor=actor,
            source=source,
            trigger=Trigger.MANUAL,
            dry_run=dry_run,
            audit_action="run",
            enqueue=False,
        )
        if on_started is not None:
            on_started(run)
        with self.supervisor.held():  # a serve elsewhere sees this process alive while it supervises
            outcome = run_and_record(self.history, self.executor, run, on_progress=on_progress, on_log=on_log)
        finished = self.history.get_run(run.id) or run
        self.dispatcher.after_run(finished, outcome, follow_ups=False, wait_notify=True)
        return finished, outcome

    def cancel(self, run_id: str, *, actor: str = "admin", source: str = "") -> Run | None:
        run = self.history.request_cancel(run_id)
        if run is None:
            return None
        removed = self.dispatcher.dequeue(run.id)
        self.executor.cancel(run.id)
        self.history.audit(
            actor, "cancel", run.bot, source=source, detail={"run_id": run.id, "was": run.status, "dequeued": removed}
        )
        return self.history.get_run(run.id)

    def pause(self, bot: str, *, actor: str = "admin", source: str = "") -> None:
        self._set_paused(bot, True, actor, source)

    def resume(self, bot: str, *, actor: str = "admin", source: str = "") -> None:
        self._set_paused(bot, False, actor, source)

    def _set_paused(self, bot: str, paused: bool, actor: str, source: str) -> None:
        if bot not in self.bots:
            raise BotNotFound(bot, list(self.bots))
        self.history.set_paused(bot, paused, actor)
        self.history.audit(actor, "pause" if paused else "resume", bot, source=source)
        self._apply_pause(bot, paused)

    def is_paused(self, bot: str) -> bool:
        return bot in self._paused

    def _apply_pause(self, bot: str, paused: bool) -> None:
        if paused:
            self._paused.add(bot)
        else:
            self._paused.discard(bot)
        self.jobs.apply_pause(bot, paused)

    def next_fire_times(self) -> dict[str, dt.datetime | None]:
        """job id → next fire time (None when paused or finished)."""
        return self.jobs.next_fire_times()

    def next_fire_by_bot(self, fires: dict[str, dt.datetime | None] | None = None) -> dict[str, dt.datetime | None]:
        """bot → its earliest next fire over all its jobs (``fires``: job id → time, default the scheduler's)."""
        return self.jobs.next_fire_by_bot(fires)

    def _submit_file(self, bot: str, params: dict[str, Any], label: str) -> Run | None:
        try:
            return self.trigger(bot, params, actor=label, trigger=Trigger.FILE)
        except ParamsInvalid as exc:
            log.error("file %s could not start %s: %s", label, bot, exc)
            return self.history.create_run(
                bot, trigger=Trigger.FILE, params=params, status=RunStatus.FAILED, error=str(exc)
            )

    def _submit_event(self, trigger: Trigger) -> Callable[[str, dict[str, Any], str], Run | None]:
        """A submit function for an event watcher: bad parameters become a failed run, never silence."""

        def submit(bot: str, params: dict[str, Any], label: str) -> Run | None:
            try:
                return self.trigger(bot, params, actor=label, trigger=trigger)
            except ParamsInvalid as exc:
                log.error("%s could not start %s: %s", label, bot, exc)
                return self.history.create_run(
                    bot, trigger=trigger, params=params, status=RunStatus.FAILED, error=str(exc)
                )

        return submit

    def _event_paused(self, bot: str) -> bool:
        """Mail, conditions and queues start nothing for a paused bot, nor from a runner that lost the job store."""
        return bot in self._paused or not self.owns_job_store

    def _mail_run_ended(self, run: Run) -> None:
        if run.trigger == Trigger.MAIL and self.mail_watcher is not None:
            self.mail_watcher.wake()

    # -- upkeep ------------------------------------------------------------------------------
    def _control_loop(self) -> None:
        """Pick up pauses made by other processes (the CLI), keep the leases fresh, sweep orphans, prune."""
        tick = min(1.0, renew_interval(self.settings.owner_lease))
        while not self._stop.wait(tick):
            try:
                self.upkeep()
            except Exception:
                log.exception("runner control loop")

    def upkeep(self) -> None:
        """One pass of the control loop (tests call it on a moved clock)."""
        paused = self.history.paused_bots()
        for bot in paused - self._paused:
            self._apply_pause(bot, True)
        for bot in self._paused - paused:
            self._apply_pause(bot, False)
        self.supervisor.renew()
        if self.lease is None:
            return
        if self.lease.tick():
            self._regained_ownership()
        if not self.lease.held:
            return
        now = self.clock()
        if self._swept is None or (now - self._swept).total_seconds() >= self.settings.owner_lease:
            self._swept = now
            self._recover(startup=False)
            self.history.prune_process_leases(now - dt.timedelta(days=1))
        self.maintenance.run_if_due()

    # -- for tests and the demo --------------------------------------------------------------
    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is pending or running (or ``timeout``); True when idle."""
        return self.dispatcher.wait_idle(timeout, self._intake.empty)

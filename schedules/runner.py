"""The runner: APScheduler turns config into fire times; Backroom turns fires into isolated runs.

    config ──sync──► job store (SQLAlchemyJobStore; only changed jobs are written, in one transaction)
                          │ fire (APScheduler, scheduler thread)
                          ▼
    intake thread ── grace / coalescing / max_instances decided here, every skipped fire recorded
                          │ claims the fire + queues the run in one transaction (never twice)
                          ▼
    dispatcher ── global ``max_parallel_runs`` and per-bot ``max_instances``
                          │
                          ▼
    supervisor threads ── one child process per run (:mod:`schedules.execution`)
                          │ finished
                          ▼
    notifications, chains (:mod:`schedules.events`), retries with exponential backoff

APScheduler's own misfire handling is switched off (grace unlimited, no coalescing) because it drops
fires silently; the intake applies each bot's ``misfire_grace`` and coalesces, recording what it
skips. The job function itself does nothing: runs never execute in the scheduler's threads.

Only one runner may own a job store: a second one refuses to start while the first is alive.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, select

from backroom.schedules.discovery import discover
from backroom.schedules.events import FileWatcher, chain_requests
from backroom.schedules.execution import ProcessExecutor, RunOutcome
from backroom.schedules.history import History, Run, make_engine, process_owner, utcnow
from backroom.schedules.jobstore import BatchJobStore
from backroom.schedules.notifications import notify_run
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.triggers import parse_schedule

__all__ = ["JobSpec", "ParamsInvalid", "Runner", "RunnerBusy", "effective_params", "job_specs", "scheduled_fire"]

log = logging.getLogger(__name__)

JOB_TABLE = "backroom_apscheduler_jobs"
LOCK_STALE_S = 30.0


def scheduled_fire() -> None:
    """The function APScheduler 'runs' at each fire: nothing. The runner acts on the submit event."""


class ParamsInvalid(ValueError):
    """Parameters for a run failed the bot's Params model; ``errors`` say which field and why."""

    def __init__(self, bot: str, errors: list[dict[str, Any]]) -> None:
        self.bot = bot
        self.errors = errors
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(f"invalid parameters for {bot}: {text}")


class RunnerBusy(RuntimeError):
    """Another live runner owns the job store."""


def effective_params(bot_cls: Any, defaults: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """Config defaults overlaid with ``given``, validated by the bot's Params model, as JSON values."""
    merged = {**defaults, **(given or {})}
    try:
        model = bot_cls.Params.model_validate(merged)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(params)", "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise ParamsInvalid(bot_cls.name, errors) from None
    return model.model_dump(mode="json")


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    bot: str
    schedule: str
    calendar: str | None
    params: dict[str, Any]
    grace: float
    digest: str


def job_specs(settings: Settings) -> dict[str, JobSpec]:
    """Every scheduled job the config asks for, by job id (``bot`` or ``bot:job``)."""
    specs: dict[str, JobSpec] = {}
    for name, bot in settings.bots.items():
        if not bot.enabled:
            continue
        entries = []
        if bot.schedule and bot.schedule.strip().lower() != "manual":
            entries.append((name, bot.schedule, bot.calendar, bot.params))
        for job in bot.jobs:
            entries.append(
                (f"{name}:{job.id}", job.schedule, job.calendar or bot.calendar, {**bot.params, **job.params})
            )
        for job_id, schedule, calendar, params in entries:
            digest = hashlib.sha256(
                json.dumps([schedule, calendar, settings.timezone, params], sort_keys=True, default=str).encode()
            ).hexdigest()
            specs[job_id] = JobSpec(job_id, name, schedule, calendar, params, bot.misfire_grace, digest)
    return specs


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
        self.executor = ProcessExecutor(settings, self.history, self.bots)
        self.clock = clock
        self.specs = job_specs(settings)
        self.scheduler: BackgroundScheduler | None = None
        self.store: BatchJobStore | None = None
        self._intake: queue.Queue = queue.Queue()
        self._pending: collections.deque[Run] = collections.deque()
        self._running: collections.Counter[str] = collections.Counter()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=settings.max_parallel_runs, thread_name_prefix="run")
        self._paused: set[str] = set()
        self._watcher: FileWatcher | None = None
        self._timers: list[threading.Timer] = []
        self.listeners: list[Callable[[Run], None]] = []  # called with each finished run

    # -- life cycle --------------------------------------------------------------------------
    def start(self, *, schedule: bool = True, watch: bool = True) -> None:
        """Recover from a crash, sync jobs from config, start scheduling and dispatching."""
        owner = f"{process_owner()}#{uuid.uuid4().hex[:8]}"
        self._acquire_lock(owner)
        self._paused = self.history.paused_bots()
        self._recover()
        # the forkserver (with every bot module preloaded) starts in the background: start-up does not
        # wait for it, and the first run waits only for whatever is left of it
        self._start_thread(self.executor.warm, "warm-forkserver")
        self._start_thread(self._dispatch_loop, "dispatcher")
        self._start_thread(self._intake_loop, "intake")
        self._start_thread(self._control_loop, "control")
        if schedule:
            self._start_scheduler()
        if watch:
            self._watcher = FileWatcher(
                self.settings, self.history, self._submit_file, is_paused=lambda b: b in self._paused
            )
            self._watcher.start()
        log.info("runner started: %d scheduled job(s), %d bot(s)", len(self.specs), len(self.bots))

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._watcher:
            self._watcher.stop()
        for timer in self._timers:
            timer.cancel()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self._release_lock()

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- ownership of the job store ----------------------------------------------------------
    def _lock_table(self) -> Table:
        meta = MetaData()
        return Table(
            "backroom_scheduler_owner",
            meta,
            Column("name", String(20), primary_key=True),
            Column("owner", String(200)),
            Column("heartbeat", DateTime(timezone=True)),
        )

    def _acquire_lock(self, owner: str) -> None:
        table = self._lock_table()  # created by History's migrations (backroom.schedules.migrations)
        now = utcnow()
        with self.history.engine.begin() as conn:
            row = conn.execute(select(table.c.owner, table.c.heartbeat).where(table.c.name == "main")).first()
            if row is not None and row.owner != owner:
                beat = row.heartbeat if row.heartbeat.tzinfo else row.heartbeat.replace(tzinfo=dt.UTC)
                from backroom.schedules.history import _owner_alive

                if (now - beat).total_seconds() < LOCK_STALE_S and _owner_alive(row.owner.split("#")[0]):
                    raise RunnerBusy(f"another runner ({row.owner}) owns this job store; only one scheduler may own it")
            conn.execute(table.delete().where(table.c.name == "main"))
            conn.execute(table.insert().values(name="main", owner=owner, heartbeat=now))
        self._owner = owner

    def _heartbeat(self) -> None:
        table = self._lock_table()
        with self.history.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.name == "main", table.c.owner == self._owner).values(heartbeat=utcnow())
            )

    def _release_lock(self) -> None:
        table = self._lock_table()
        try:
            with self.history.engine.begin() as conn:
                conn.execute(table.delete().where(table.c.name == "main", table.c.owner == getattr(self, "_owner", "")))
        except Exception:
            pass

    # -- crash recovery ----------------------------------------------------------------------
    def _recover(self) -> None:
        for run in self.history.interrupt_orphans():
            log.warning("run %s of %s was interrupted by a crash", run.id[:8], run.bot)
            bot_settings = self.settings.bots.get(run.bot, BotSettings())
            bot_cls = self.bots.get(run.bot)
            if bot_settings.on_interrupted == "requeue" and bot_cls is not None and bot_cls.idempotent:
                again = self.history.create_run(
                    run.bot,
                    trigger="requeue",
                    params=run.params,
                    job_id=run.job_id,
                    parent_run_id=run.id,
                    attempt=run.attempt + 1,
                )
                self._enqueue(again)

    # -- scheduling --------------------------------------------------------------------------
    def _start_scheduler(self) -> None:
        engine = make_engine(self.settings.database_url)
        if engine.dialect.name == "postgresql":
            # APScheduler commits once per fired job (update or delete) before it announces any of
            # them; waiting for a WAL flush each time made a burst of 1,000 fires ~6 s late. The job
            # store may lose its last few hundred milliseconds of changes if PostgreSQL itself
            # crashes — a fire replayed then is caught by the fire claim (a normal, durable commit).
            from sqlalchemy import event

            @event.listens_for(engine, "connect")
            def _async_commit(dbapi_conn: Any, _record: Any) -> None:
                with dbapi_conn.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")
                dbapi_conn.commit()

        self.store = BatchJobStore(engine=engine, tablename=JOB_TABLE)
        self.store.jobs_t.create(engine, checkfirst=True)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": self.store},
            executors={"default": APThreadPool(4)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 100_000},
            timezone=self.settings.zone,
        )
        self.sync_jobs()
        self.scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.scheduler.start()

    def sync_jobs(self) -> dict[str, int]:
        """Make the job store match config: add, change and remove only what differs."""
        assert self.scheduler is not None and self.store is not None
        now = self.clock()
        states = self.store.job_states()
        digests = self.history.job_digests()
        write: list[Job] = []
        changed: dict[str, tuple[str, str]] = {}
        for job_id, spec in self.specs.items():
            paused = spec.bot in self._paused
            in_store = job_id in states
            same = in_store and digests.get(job_id) == spec.digest
            pause_matches = in_store and ((states[job_id] is None) == paused)
            if same and pause_matches:
                continue
            trigger = parse_schedule(spec.schedule, self.settings.zone, spec.calendar)
            if same and not paused and states[job_id] is None:
                next_run = trigger.get_next_fire_time(None, now)  # resumed while the runner was down
            elif same and paused:
                next_run = None
            else:
                next_run = None if paused else trigger.get_next_fire_time(None, now)
            write.append(self._make_job(spec, trigger, next_run))
            changed[job_id] = (spec.bot, spec.digest)
        removed = [job_id for job_id in states if job_id not in self.specs]
        if write or removed:
            self.store.replace_jobs(write, removed)
            self.history.save_job_digests(changed, removed)
        return {"written": len(write), "removed": len(removed), "total": len(self.specs)}

    def _make_job(self, spec: JobSpec, trigger: Any, next_run: dt.datetime | None) -> Job:
        return Job(
            self.scheduler,
            id=spec.job_id,
            func=scheduled_fire,
            args=(),
            kwargs={},
            trigger=trigger,
            executor="default",
            name=spec.bot,
            misfire_grace_time=None,
            coalesce=False,
            max_instances=100_000,
            next_run_time=next_run,
        )

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        self._intake.put((event.job_id, list(event.scheduled_run_times)))

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

    def _accept_fires(self, batch: list[tuple[str, list[dt.datetime]]]) -> list[Run]:
        now = self.clock()
        fires: list[tuple[str, str, dict, dt.datetime]] = []
        claimed: collections.Counter[str] = collections.Counter()
        for job_id, times in batch:
            spec = self.specs.get(job_id)
            if spec is None or not times:
                continue
            times = sorted(t.astimezone(dt.UTC) for t in times)
            latest = times[-1]
            for earlier in times[:-1][-100:]:
                self.history.record_skipped(
                    spec.bot,
                    f"coalesced: the fire at {latest.isoformat()} runs instead",
                    job_id=job_id,
                    scheduled_for=earlier,
                )
            late = (now - latest).total_seconds()
            if late > spec.grace:
                self.history.record_skipped(
                    spec.bot,
                    f"missed by {late:.0f} s, beyond misfire_grace of {spec.grace:.0f} s",
                    job_id=job_id,
                    scheduled_for=latest,
                )
                continue
            limit = self.settings.bots.get(spec.bot, BotSettings()).max_instances
            if self._active_count(spec.bot) + claimed[spec.bot] >= limit:
                self.history.record_skipped(
                    spec.bot, f"previous run still active (max_instances={limit})", job_id=job_id, scheduled_for=latest
                )
                continue
            claimed[spec.bot] += 1
            params = self._params_or_none(spec)
            if params is None:
                continue
            fires.append((spec.bot, job_id, params, latest))
        runs = self.history.create_scheduled_runs(fires)
        for run in runs:
            self._enqueue(run)
        return runs

    def _params_or_none(self, spec: JobSpec) -> dict[str, Any] | None:
        bot_cls = self.bots.get(spec.bot)
        if bot_cls is None:
            self.history.record_skipped(spec.bot, f"unknown bot {spec.bot!r}", job_id=spec.job_id)
            return None
        try:
            return effective_params(bot_cls, spec.params, None)
        except ParamsInvalid as exc:
            self.history.create_run(
                spec.bot, trigger="schedule", job_id=spec.job_id, status="failed", error=str(exc), params=spec.params
            )
            return None

    def _active_count(self, bot: str) -> int:
        with self._cond:
            return self._running[bot] + sum(1 for r in self._pending if r.bot == bot)

    # -- on-demand ---------------------------------------------------------------------------
    def trigger(
        self,
        bot: str,
        params: dict[str, Any] | None = None,
        *,
        actor: str = "admin",
        source: str = "",
        trigger: str = "api",
        dry_run: bool = False,
    ) -> Run:
        """Queue a run now. Raises KeyError for an unknown bot, ParamsInvalid for bad parameters."""
        bot_cls = self.bots.get(bot)
        if bot_cls is None:
            raise KeyError(bot)
        defaults = self.settings.bots.get(bot, BotSettings()).params
        values = effective_params(bot_cls, defaults, params)
        run = self.history.create_run(bot, trigger=trigger, params=values, triggered_by=actor, dry_run=dry_run)
        if trigger in ("api", "manual"):
            self.history.audit(
                actor, "trigger", bot, source=source, detail={"run_id": run.id, "params": values, "dry_run": dry_run}
            )
        self._enqueue(run)
        return run

    def cancel(self, run_id: str, *, actor: str = "admin", source: str = "") -> Run | None:
        run = self.history.request_cancel(run_id)
        if run is None:
            return None
        with self._cond:
            before = len(self._pending)
            self._pending = collections.deque(r for r in self._pending if r.id != run.id)
            removed = before != len(self._pending)
        self.executor.cancel(run.id)
        self.history.audit(
            actor, "cancel", run.bot, source=source, detail={"run_id": run.id, "was": run.status, "dequeued": removed}
        )
        return self.history.get_run(run.id)

    def pause(self, bot: str, *, actor: str = "admin", source: str = "") -> None:
        if bot not in self.bots:
            raise KeyError(bot)
        self.history.set_paused(bot, True, actor)
        self.history.audit(actor, "pause", bot, source=source)
        self._apply_pause(bot, True)

    def resume(self, bot: str, *, actor: str = "admin", source: str = "") -> None:
        if bot not in self.bots:
            raise KeyError(bot)
        self.history.set_paused(bot, False, actor)
        self.history.audit(actor, "resume", bot, source=source)
        self._apply_pause(bot, False)

    def is_paused(self, bot: str) -> bool:
        return bot in self._paused

    def _apply_pause(self, bot: str, paused: bool) -> None:
        if paused:
            self._paused.add(bot)
        else:
            self._paused.discard(bot)
        if self.scheduler is None or not self.scheduler.running:
            return
        for spec in self.specs.values():
            if spec.bot != bot:
                continue
            job = self.scheduler.get_job(spec.job_id)
            if job is None:
                continue
            if paused and job.next_run_time is not None:
                self.scheduler.pause_job(spec.job_id)
            elif not paused and job.next_run_time is None:
                self.scheduler.resume_job(spec.job_id)

    def next_fire_times(self) -> dict[str, dt.datetime | None]:
        """job id → next fire time (None when paused or finished)."""
        if self.scheduler is None:
            return {}
        result: dict[str, dt.datetime | None] = {}
        for job in self.scheduler.get_jobs():
            result[job.id] = job.next_run_time
        for job_id in self.specs:
            result.setdefault(job_id, None)
        return result

    def next_fire_by_bot(self, fires: dict[str, dt.datetime | None] | None = None) -> dict[str, dt.datetime | None]:
        """bot → its earliest next fire over all its jobs (``fires``: job id → time, default the scheduler's)."""
        by_bot: dict[str, dt.datetime | None] = {}
        for job_id, when in (self.next_fire_times() if fires is None else fires).items():
            spec = self.specs.get(job_id)
            if spec is None:
                continue
            current = by_bot.get(spec.bot)
            if current is None or (when is not None and when < current):
                by_bot[spec.bot] = when
        return by_bot

    def _submit_file(self, bot: str, params: dict[str, Any], label: str) -> Run | None:
        try:
            return self.trigger(bot, params, actor=label, trigger="file")
        except ParamsInvalid as exc:
            log.error("file %s could not start %s: %s", label, bot, exc)
            return self.history.create_run(bot, trigger="file", params=params, status="failed", error=str(exc))

    # -- dispatching -------------------------------------------------------------------------
    def _enqueue(self, run: Run) -> None:
        with self._cond:
            self._pending.append(run)
            self._cond.notify_all()

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

    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                picked = self._startable()
                if not picked:
                    self._cond.wait(0.5)
                    continue
            for run in picked:
                self._pool.submit(self._supervise, run)

    def _supervise(self, run: Run) -> None:
        try:
            try:
                outcome = self.executor.execute(run)
            except Exception as exc:
                log.exception("supervising run %s failed", run.id[:8])
                outcome = RunOutcome("failed", error=f"runner error: {exc}")
                self.history.finish_run(run.id, "failed", error=outcome.error)
            finished = self.history.get_run(run.id) or run
            self._after_run(finished, outcome)
        finally:
            with self._cond:
                self._running[run.bot] -= 1
                self._cond.notify_all()

    def _after_run(self, run: Run, outcome: RunOutcome) -> None:
        notify_run(self.settings, run)
        bot_settings = self.settings.bots.get(run.bot, BotSettings())
        if outcome.transient and run.attempt <= bot_settings.retries and not self._stop.is_set():
            delay = bot_settings.retry_backoff * (2 ** (run.attempt - 1))
            self.history.append_logs(
                run.id,
                [
                    (
                        utcnow(),
                        "WARNING",
                        "backroom.runner",
                        f"transient failure; retry {run.attempt} of {bot_settings.retries} in {delay:.0f} s",
                    )
                ],
            )
            timer = threading.Timer(delay, self._retry, args=(run,))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        for bot, params in chain_requests(self.settings, run):
            try:
                self.trigger(bot, params, actor=f"chain:{run.bot}", trigger="chain")
            except (KeyError, ParamsInvalid) as exc:
                log.error("chain %s → %s could not start: %s", run.bot, bot, exc)
        for listener in self.listeners:
            try:
                listener(run)
            except Exception:
                log.exception("run listener failed")

    def _retry(self, run: Run) -> None:
        if self._stop.is_set():
            return
        again = self.history.create_run(
            run.bot,
            trigger="retry",
            params=run.params,
            job_id=run.job_id,
            attempt=run.attempt + 1,
            parent_run_id=run.id,
            triggered_by=run.triggered_by,
            dry_run=run.dry_run,
        )
        self._enqueue(again)

    def _control_loop(self) -> None:
        """Pick up pauses and resumes made by other processes (the CLI), and keep the store lock fresh."""
        beat = 0.0
        while not self._stop.wait(1.0):
            try:
                paused = self.history.paused_bots()
                for bot in paused - self._paused:
                    self._apply_pause(bot, True)
                for bot in self._paused - paused:
                    self._apply_pause(bot, False)
                beat += 1
                if beat >= 5:
                    beat = 0
                    self._heartbeat()
            except Exception:
                log.exception("runner control loop")

    # -- for tests and the demo --------------------------------------------------------------
    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is pending or running (or ``timeout``); True when idle."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._pending and sum(self._running.values()) == 0 and self._intake.empty():
                    return True
            time.sleep(0.05)
        return False

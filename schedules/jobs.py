"""Job sync: config's schedules as APScheduler jobs, written only when they changed.

    config ──job_specs──► JobSpec per job ──JobSync.sync──► job store (one transaction, changed jobs only)

APScheduler's own misfire handling is switched off (grace unlimited, no coalescing) because it drops
fires silently; :mod:`schedules.intake` applies each bot's ``misfire_grace`` and coalesces. The job
function itself does nothing: runs never execute in the scheduler's threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from backroom.bots.sdk.paths import Roots
from backroom.schedules.errors import ParamsInvalid
from backroom.schedules.history import SchedulerState, make_engine
from backroom.schedules.jobstore import BatchJobStore
from backroom.schedules.settings import Settings
from backroom.schedules.triggers import parse_schedule

log = logging.getLogger(__name__)

UNRECORDED_MAX = 10_000  # fires recovered per job at a takeover (intake coalesces them anyway)

__all__ = ["JOB_TABLE", "JobSpec", "JobSync", "effective_params", "job_specs", "scheduled_fire"]

JOB_TABLE = "backroom_apscheduler_jobs"


def scheduled_fire() -> None:
    """The function APScheduler 'runs' at each fire: nothing. The runner acts on the submit event."""


def effective_params(
    bot_cls: Any, defaults: dict[str, Any], given: dict[str, Any] | None, *, roots: Roots
) -> dict[str, Any]:
    """Config defaults overlaid with ``given``, validated by the bot's Params model, as JSON values.

    The bot's ``roots`` go into the validation context, so a file parameter (``InboxPath``) is
    resolved under them — or refused — before any run is recorded; every trigger comes through here.
    """
    merged = {**defaults, **(given or {})}
    try:
        model = bot_cls.Params.model_validate(merged, context={"roots": roots})
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


class JobSync:
    """The APScheduler of one runner: its job store, its jobs, their pause state and next fires."""

    def __init__(
        self,
        settings: Settings,
        specs: dict[str, JobSpec],
        state: SchedulerState,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.specs = specs
        self.state = state
        self.clock = clock
        self.scheduler: BackgroundScheduler | None = None
        self.store: BatchJobStore | None = None

    def start(
        self,
        paused: set[str],
        on_fires: Callable[[str, list[dt.datetime]], None],
        fence: Callable[[Connection], bool] | None = None,
    ) -> None:
        """Open the job store, sync it with config, and call ``on_fires`` with every fire from now on.

        ``fence`` guards the job store's writes and reads of due jobs (see :mod:`schedules.jobstore`).
        """
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

        self.store = BatchJobStore(engine=engine, tablename=JOB_TABLE, fence=fence)
        self.store.jobs_t.create(engine, checkfirst=True)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": self.store},
            executors={"default": APThreadPool(4)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 100_000},
            timezone=self.settings.zone,
        )
        unrecorded = self.unrecorded_fires(self.state.last_fire_times())
        self.sync(paused)

        def submitted(event: JobSubmissionEvent) -> None:
            on_fires(event.job_id, list(event.scheduled_run_times))

        self.scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)
        for job_id, times in unrecorded.items():
            on_fires(job_id, times)
        self.scheduler.start()

    def unrecorded_fires(self, last_fires: dict[str, dt.datetime]) -> dict[str, list[dt.datetime]]:
        """Fires between each job's last one in history and its next run time in the store.

        The store's next run time is committed before the fires are announced and recorded, so a
        runner killed in between (kill -9 of a leader) leaves fires that no one would record: the
        next owner hands them to intake like any late fire (recorded, run within the grace, or
        skipped as missed). Only jobs whose definition is unchanged: their times are the ones the
        stored trigger produced.
        """
        assert self.store is not None
        states = self.store.job_states()
        digests = self.state.job_digests()
        found: dict[str, list[dt.datetime]] = {}
        for job_id, spec in self.specs.items():
            next_run, last = states.get(job_id), last_fires.get(job_id)
            if next_run is None or last is None or digests.get(job_id) != spec.digest:
                continue
            trigger = parse_schedule(spec.schedule, self.settings.zone, spec.calendar)
            end = dt.datetime.fromtimestamp(next_run, dt.UTC)
            times: list[dt.datetime] = []
            fire = trigger.get_next_fire_time(last, last)
            while fire is not None and fire < end and len(times) < UNRECORDED_MAX:
                times.append(fire)
                fire = trigger.get_next_fire_time(fire, fire)
            if times:
                found[job_id] = times
                log.warning(
                    "job %s: %d fire(s) from %s were never recorded: handed to intake", job_id, len(times), times[0]
                )
        return found

    def shutdown(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def pause_scheduling(self) -> None:
        """Stop firing (the owner lock was lost); jobs stay as they are in the store."""
        if self.scheduler is not None and self.scheduler.state == STATE_RUNNING:
            self.scheduler.pause()

    def resume_scheduling(self, paused: set[str]) -> None:
        """Fire again (the owner lock was taken back): re-read the store, resync it, wake up."""
        if self.scheduler is None or self.scheduler.state != STATE_PAUSED:
            return
        self.sync(paused)
        self.scheduler.resume()

    @property
    def scheduling(self) -> bool:
        """Whether fires are being produced (started and not paused)."""
        return self.scheduler is not None and self.scheduler.state == STATE_RUNNING

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def sync(self, paused: set[str]) -> dict[str, int]:
        """Make the job store match config: add, change and remove only what differs."""
        assert self.scheduler is not None and self.store is not None
        now = self.clock()
        states = self.store.job_states()
        digests = self.state.job_digests()
        write: list[Job] = []
        changed: dict[str, tuple[str, str]] = {}
        for job_id, spec in self.specs.items():
            is_paused = spec.bot in paused
            in_store = job_id in states
            same = in_store and digests.get(job_id) == spec.digest
            pause_matches = in_store and ((states[job_id] is None) == is_paused)
            if same and pause_matches:
                continue
            trigger = parse_schedule(spec.schedule, self.settings.zone, spec.calendar)
            if same and not is_paused and states[job_id] is None:
                next_run = trigger.get_next_fire_time(None, now)  # resumed while the runner was down
            elif same and is_paused:
                next_run = None
            else:
                next_run = None if is_paused else trigger.get_next_fire_time(None, now)
            write.append(self._make_job(spec, trigger, next_run))
            changed[job_id] = (spec.bot, spec.digest)
        removed = [job_id for job_id in states if job_id not in self.specs]
        if write or removed:
            self.store.replace_jobs(write, removed)
            self.state.save_job_digests(changed, removed)
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

    def apply_pause(self, bot: str, paused: bool) -> None:
        """Pause or resume the jobs of ``bot`` in the running scheduler (nothing when it is not running)."""
        if not self.running:
            return
        assert self.scheduler is not None
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
        result: dict[str, dt.datetime | None] = {job.id: job.next_run_time for job in self.scheduler.get_jobs()}
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

"""The store of scheduler state: fire claims, seen files, job digests, pause state, the owner lock.

None of this is a run's record; it is what lets a restarted runner carry on where it stopped: no
fire time runs twice, no file is taken twice, only changed jobs are rewritten, paused bots stay
paused, and only one runner owns the job store at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from backroom.schedules.errors import RunnerBusy
from backroom.schedules.history.engine import Store, owner_alive, utcnow
from backroom.schedules.history.models import BotState, Fire, JobDefinition, Run, SeenFile, scheduler_owner
from backroom.schedules.history.runs import new_run
from backroom.schedules.status import RunStatus, Trigger

__all__ = ["LOCK_STALE_S", "SchedulerState"]

LOCK_STALE_S = 30.0  # a lock whose heartbeat is older than this is taken over


class SchedulerState(Store):
    """Scheduler bookkeeping on the same database (and transactions) as the runs."""

    # -- fires ----------------------------------------------------------------------------------
    def create_scheduled_runs(self, fires: Sequence[tuple[str, str, dict, dt.datetime]]) -> list[Run]:
        """Claim fires and queue their runs in one transaction; a fire already claimed is left out.

        ``fires`` holds (bot, job_id, params, fire_time). Claiming and queueing together is what
        makes "no job runs twice for one fire time" hold across crashes and restarts.
        """
        if not fires:
            return []
        keys = [(job_id, fire_time) for _, job_id, _, fire_time in fires]
        with self.session() as s, s.begin():
            taken = set()
            job_ids = {k[0] for k in keys}
            times = {k[1] for k in keys}
            for job_id, fire_time in s.execute(
                select(Fire.job_id, Fire.fire_time).where(Fire.job_id.in_(job_ids), Fire.fire_time.in_(times))
            ):
                taken.add((job_id, fire_time))
            runs = []
            for bot, job_id, params, fire_time in fires:
                if (job_id, fire_time) in taken:
                    continue
                taken.add((job_id, fire_time))
                runs.append(
                    new_run(
                        bot,
                        Trigger.SCHEDULE,
                        params=params,
                        job_id=job_id,
                        triggered_by="scheduler",
                        scheduled_for=fire_time,
                    )
                )
            if runs:  # Core inserts: a burst of 1,000 fires is two statements, not 2,000 ORM objects
                s.execute(Run.__table__.insert(), [r.as_dict() for r in runs])
                s.execute(
                    Fire.__table__.insert(),
                    [{"job_id": r.job_id, "fire_time": r.scheduled_for, "run_id": r.id} for r in runs],
                )
        return runs

    def record_skipped(
        self,
        bot: str,
        reason: str,
        *,
        job_id: str | None = None,
        scheduled_for: dt.datetime | None = None,
        trigger: str = Trigger.SCHEDULE,
        params: dict | None = None,
        missed: tuple[int, dt.datetime | None] | None = None,
    ) -> Run | None:
        """A fire that will not run, kept visible. Returns None if that fire was already recorded.

        ``missed`` = (count, last fire time): the record stands for ``count`` fires from
        ``scheduled_for`` to that last one (kept in ``counts`` and ``outputs`` as well as the reason).
        """
        try:
            with self.session() as s, s.begin():
                run = new_run(
                    bot,
                    trigger,
                    params=params,
                    job_id=job_id,
                    triggered_by="scheduler",
                    scheduled_for=scheduled_for,
                    status=RunStatus.SKIPPED,
                    error=reason,
                )
                if missed is not None:
                    count, last = missed
                    run.counts = {"fires": count}
                    run.outputs = {
                        "first_fire": scheduled_for.isoformat() if scheduled_for else None,
                        "last_fire": last.isoformat() if last else None,
                    }
                s.add(run)
                if job_id and scheduled_for:
                    s.add(Fire(job_id=job_id, fire_time=scheduled_for, run_id=run.id))
            return run
        except IntegrityError:
            return None

    # -- pause state ----------------------------------------------------------------------------
    def set_paused(self, bot: str, paused: bool, actor: str) -> None:
        with self.session() as s, s.begin():
            state = s.get(BotState, bot) or BotState(bot=bot)
            state.paused, state.changed_by, state.changed_at = paused, actor, utcnow()
            s.add(state)

    def paused_bots(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(BotState.bot).where(BotState.paused.is_(True))))

    # -- file arrival ---------------------------------------------------------------------------
    def claim_file(self, bot: str, path: str, fingerprint: str) -> bool:
        """True the first time (bot, path, fingerprint) is seen; never again, across restarts."""
        try:
            with self.session() as s, s.begin():
                s.add(SeenFile(bot=bot, path=path, fingerprint=fingerprint, seen_at=utcnow()))
            return True
        except IntegrityError:
            return False

    def attach_file_run(self, bot: str, path: str, fingerprint: str, run_id: str) -> None:
        with self.session() as s, s.begin():
            s.execute(
                update(SeenFile)
                .where(SeenFile.bot == bot, SeenFile.path == path, SeenFile.fingerprint == fingerprint)
                .values(run_id=run_id)
            )

    # -- job definitions ------------------------------------------------------------------------
    def job_digests(self) -> dict[str, str]:
        with self.session() as s:
            return dict(s.execute(select(JobDefinition.job_id, JobDefinition.digest)).all())

    def save_job_digests(self, upserts: dict[str, tuple[str, str]], removed: Iterable[str]) -> None:
        with self.session() as s, s.begin():
            gone = list(removed) + list(upserts)
            for chunk_start in range(0, len(gone), 500):
                s.execute(delete(JobDefinition).where(JobDefinition.job_id.in_(gone[chunk_start : chunk_start + 500])))
            if upserts:
                s.execute(
                    JobDefinition.__table__.insert(),
                    [{"job_id": j, "bot": b, "digest": d} for j, (b, d) in upserts.items()],
                )

    # -- ownership of the job store -------------------------------------------------------------
    def acquire_owner_lock(self, owner: str) -> None:
        """Take the job store for ``owner`` (host:pid#tag); RunnerBusy while another live one holds it."""
        table = scheduler_owner
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(table.c.owner, table.c.heartbeat).where(table.c.name == "main")).first()
            if row is not None and row.owner != owner:
                beat = row.heartbeat if row.heartbeat.tzinfo else row.heartbeat.replace(tzinfo=dt.UTC)
                if (now - beat).total_seconds() < LOCK_STALE_S and owner_alive(row.owner.split("#")[0]):
                    raise RunnerBusy(f"another runner ({row.owner}) owns this job store; only one scheduler may own it")
            conn.execute(table.delete().where(table.c.name == "main"))
            conn.execute(table.insert().values(name="main", owner=owner, heartbeat=now))

    def beat_owner_lock(self, owner: str) -> None:
        """Keep ``owner``'s lock fresh (a lock not beaten for LOCK_STALE_S is taken over)."""
        table = scheduler_owner
        with self.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.name == "main", table.c.owner == owner).values(heartbeat=utcnow())
            )

    def release_owner_lock(self, owner: str) -> None:
        table = scheduler_owner
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.name == "main", table.c.owner == owner))

"""The store of scheduler state: fire claims, seen files, job digests, pause state, the owner lock.

None of this is a run's record; it is what lets a restarted runner carry on where it stopped: no
fire time runs twice, no file is taken twice, only changed jobs are rewritten, paused bots stay
paused, and only one runner owns the job store at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backroom.schedules.errors import RunnerBusy
from backroom.schedules.history.engine import Store, owner_alive, utcnow
from backroom.schedules.history.models import (
    BotState,
    Fire,
    JobDefinition,
    ProcessLease,
    Run,
    SeenFile,
    scheduler_owner,
)
from backroom.schedules.history.runs import new_run
from backroom.schedules.status import RunStatus, Trigger

__all__ = ["LOCK_STALE_S", "Fence", "OwnerLost", "SchedulerState"]

LOCK_STALE_S = 30.0  # the default lease of the owner lock: not renewed for this long, it may be taken over

Fence = tuple[str, int]  # (owner, fencing token) a scheduled enqueue must still hold


class OwnerLost(RuntimeError):
    """The job store's owner lock is no longer this runner's: it must not schedule anything."""


class SchedulerState(Store):
    """Scheduler bookkeeping on the same database (and transactions) as the runs."""

    # -- fires ----------------------------------------------------------------------------------
    def create_scheduled_runs(
        self, fires: Sequence[tuple[str, str, dict, dt.datetime]], fence: Fence | None = None
    ) -> list[Run]:
        """Claim fires and queue their runs in one transaction; a fire already claimed is left out.

        ``fires`` holds (bot, job_id, params, fire_time). Claiming and queueing together is what
        makes "no job runs twice for one fire time" hold across crashes and restarts. With
        ``fence`` (owner, token), the same transaction first checks that the owner lock is still
        that owner's with that token, and raises OwnerLost (claiming nothing) when it is not: a
        runner frozen past its lease and taken over cannot queue a fire beside the new owner.
        """
        if not fires:
            return []
        keys = [(job_id, fire_time) for _, job_id, _, fire_time in fires]
        with self.session() as s, s.begin():
            self._check_fence(s, fence)
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
        fence: Fence | None = None,
    ) -> Run | None:
        """A fire that will not run, kept visible. Returns None if that fire was already recorded.

        ``missed`` = (count, last fire time): the record stands for ``count`` fires from
        ``scheduled_for`` to that last one (kept in ``counts`` and ``outputs`` as well as the reason).
        ``fence``: as for :meth:`create_scheduled_runs` (a skip claims its fire time too).
        """
        try:
            with self.session() as s, s.begin():
                self._check_fence(s, fence)
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

    def _check_fence(self, s: Session, fence: Fence | None) -> None:
        if fence is not None and not self.owner_holds(s.connection(), *fence):
            raise OwnerLost(f"the job store's owner lock is no longer {fence[0]}'s (token {fence[1]})")

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
    def last_fire_times(self) -> dict[str, dt.datetime]:
        """job id → the latest fire time claimed (every fire recorded, run or skip, claims its time)."""
        with self.session() as s:
            rows = s.execute(select(Fire.job_id, func.max(Fire.fire_time)).group_by(Fire.job_id)).all()
        return {job_id: last for job_id, last in rows if last is not None}

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
    def acquire_owner_lock(
        self, owner: str, lease_s: float = LOCK_STALE_S, now: dt.datetime | None = None, *, force: bool = False
    ) -> int:
        """Take the job store for ``owner`` (host:pid#tag); its new fencing token.

        RunnerBusy while another holder's lease has not expired (by ``now``) and, on this host, its
        process is alive — unless ``force``: an elected leader (which holds the leader's advisory
        lock, so the previous holder's session is gone) takes it at once. Taking over is a
        compare-and-swap on the token seen, so of two runners racing for an expired lock exactly
        one wins, and the token only ever grows.
        """
        table = scheduler_owner
        now = now or utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(_LOCK_ROW).first()
            seen = (row.token or 0) if row is not None else 0
            held_by_another = row is not None and row.owner and row.owner != owner
            if not force and held_by_another and now < _lease_end(row) and owner_alive(row.owner.split("#")[0]):
                raise RunnerBusy(f"another runner ({row.owner}) owns this job store; only one scheduler may own it")
            values = {"owner": owner, "heartbeat": now, "token": seen + 1, "expires_at": _after(now, lease_s)}
            if row is None:
                try:
                    conn.execute(table.insert().values(name="main", **values))
                except IntegrityError:
                    raise RunnerBusy("another runner took the job store at the same moment") from None
            else:
                won = conn.execute(
                    table.update()
                    .where(table.c.name == "main", func.coalesce(table.c.token, 0) == seen)
                    .values(**values)
                )
                if won.rowcount != 1:
                    raise RunnerBusy("another runner took the job store at the same moment")
        return seen + 1

    def previous_owner(self) -> tuple[str | None, dt.datetime | None]:
        """The lock's holder as recorded (host:pid#tag, '' once released) and when its lease ends."""
        with self.engine.connect() as conn:
            row = conn.execute(_LOCK_ROW).first()
        return (None, None) if row is None else (row.owner, _lease_end(row))

    def renew_owner_lock(self, owner: str, token: int, lease_s: float, now: dt.datetime | None = None) -> bool:
        """Extend ``owner``'s lease; False when the lock is no longer its (taken over or released)."""
        table = scheduler_owner
        now = now or utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.name == "main", table.c.owner == owner, table.c.token == token)
                .values(heartbeat=now, expires_at=_after(now, lease_s))
            )
            return result.rowcount == 1

    def owner_holds(self, conn: Connection, owner: str, token: int) -> bool:
        """Whether ``owner`` still holds the lock with ``token``, checked in the caller's transaction.

        An UPDATE rather than a SELECT: it takes the row's write lock (PostgreSQL, MariaDB) or the
        database's (SQLite), so a takeover cannot commit between this check and the caller's commit.
        """
        table = scheduler_owner
        result = conn.execute(
            table.update()
            .where(table.c.name == "main", table.c.owner == owner, table.c.token == token)
            .values(token=table.c.token)
        )
        return result.rowcount == 1

    def release_owner_lock(self, owner: str, token: int | None = None) -> None:
        """Give the lock up (the row stays, owner empty, so the token keeps counting)."""
        table = scheduler_owner
        where = [table.c.name == "main", table.c.owner == owner]
        if token is not None:
            where.append(table.c.token == token)
        with self.engine.begin() as conn:
            conn.execute(table.update().where(*where).values(owner="", expires_at=utcnow()))

    # -- leases of processes that supervise runs ---------------------------------------------------
    def renew_process_lease(
        self, owner: str, lease_s: float, now: dt.datetime | None = None, capabilities: str | None = None
    ) -> None:
        """Record that ``owner`` (host:pid) is alive for ``lease_s`` more seconds, and what it takes."""
        expires = _after(now or utcnow(), lease_s)
        with self.session() as s, s.begin():
            lease = s.get(ProcessLease, owner)
            if lease is None:
                s.add(ProcessLease(owner=owner, expires_at=expires, capabilities=capabilities))
            else:
                lease.expires_at = expires
                lease.capabilities = capabilities

    def drop_process_lease(self, owner: str) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(ProcessLease).where(ProcessLease.owner == owner))

    def process_leases(self) -> dict[str, dt.datetime]:
        """owner (host:pid) → when its lease ends."""
        with self.session() as s:
            return dict(s.execute(select(ProcessLease.owner, ProcessLease.expires_at)).all())

    def process_capabilities(self) -> dict[str, str | None]:
        """owner (host:pid) → the queues it advertised (comma-separated, "*" for all; None: serve, run)."""
        with self.session() as s:
            return dict(s.execute(select(ProcessLease.owner, ProcessLease.capabilities)).all())

    def prune_process_leases(self, before: dt.datetime) -> int:
        """Forget leases that ended before ``before`` (their runs were interrupted long since)."""
        with self.session() as s, s.begin():
            return s.execute(delete(ProcessLease).where(ProcessLease.expires_at < before)).rowcount


_LOCK_ROW = select(
    scheduler_owner.c.owner, scheduler_owner.c.heartbeat, scheduler_owner.c.token, scheduler_owner.c.expires_at
).where(scheduler_owner.c.name == "main")


def _after(now: dt.datetime, seconds: float) -> dt.datetime:
    return now + dt.timedelta(seconds=seconds)


def _lease_end(row: Any) -> dt.datetime:
    """When the lock's lease ends: ``expires_at``, or heartbeat + LOCK_STALE_S on an older release's row."""
    if row.expires_at is not None:
        end = row.expires_at
    elif row.heartbeat is not None:
        end = row.heartbeat + dt.timedelta(seconds=LOCK_STALE_S)
    else:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return end if end.tzinfo else end.replace(tzinfo=dt.UTC)

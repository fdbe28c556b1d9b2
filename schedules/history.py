"""Run history and audit log: every run recorded, every admin action traceable.

SQLAlchemy 2.0 models on Backroom's database (SQLite file by default, PostgreSQL in production).
One :class:`History` object per process; it is safe to share between threads.

Statuses::

    queued ─► running ─► succeeded | failed | timed_out | cancelled
                   └───► interrupted   (the process that ran it died; set on the next start)
    skipped            (a fire that was not run: missed beyond its grace, coalesced, or over
                        max_instances — visible in history, never silent)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from backroom.bots.sdk.db import UTCDateTime, make_engine, upgrade
from backroom.schedules.migrations import SCHEMA

__all__ = [
    "ACTIVE",
    "FINISHED",
    "STATUSES",
    "Artifact",
    "AuditEntry",
    "BotState",
    "History",
    "LogLine",
    "Run",
    "RunPage",
    "make_engine",
]

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "interrupted", "skipped")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "timed_out", "cancelled", "interrupted", "skipped")
TRIGGERS = ("schedule", "manual", "api", "file", "chain", "retry", "requeue")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "backroom_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bot: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[str | None] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(20))
    triggered_by: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    parent_run_id: Mapped[str | None] = mapped_column(String(32))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    transient: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process supervising it
    run_dir: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_backroom_runs_queued", "queued_at", "id"),
        Index("ix_backroom_runs_bot_queued", "bot", "queued_at"),
        Index("ix_backroom_runs_status", "status"),
    )

    def as_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}


class LogLine(Base):
    __tablename__ = "backroom_run_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("backroom_runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(10))
    logger: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)


class Artifact(Base):
    __tablename__ = "backroom_artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("backroom_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    __tablename__ = "backroom_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class BotState(Base):
    __tablename__ = "backroom_bot_state"

    bot: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Fire(Base):
    """One accepted fire of a scheduled job: the guard that no fire time runs twice."""

    __tablename__ = "backroom_fires"

    job_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    fire_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(32))


class SeenFile(Base):
    """A file that arrived in a watched folder and was handed to a run (each file once)."""

    __tablename__ = "backroom_seen_files"

    bot: Mapped[str] = mapped_column(String(100), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(32))


class JobDefinition(Base):
    """A hash of each scheduled job as configured, so a start only touches jobs that changed."""

    __tablename__ = "backroom_job_definitions"

    job_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    bot: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))


_NEWEST_PER_BOT = (
    "SELECT (SELECT r.id FROM backroom_runs r WHERE r.bot = b.bot AND r.status <> 'skipped' "
    "ORDER BY r.queued_at DESC LIMIT 1) FROM {names} AS b"
)
_NAMES_AS_ROWS = {
    "postgresql": "(SELECT unnest(CAST(:names AS text[])) AS bot)",
    "sqlite": "(SELECT value AS bot FROM json_each(:names))",
}


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool:
    """Whether the process named by ``owner`` (host:pid) is still running on this host."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another host's runs are that host's business
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunPage:
    runs: list[Run]
    next_cursor: str | None
    total: int | None = None


class History:
    """Reads and writes the history tables. Methods are short transactions."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        upgrade(self.engine, SCHEMA)  # the tables, created or migrated (see backroom.schedules.migrations)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._session()

    # -- runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        bot: str,
        *,
        trigger: str,
        params: dict[str, Any] | None = None,
        job_id: str | None = None,
        triggered_by: str | None = None,
        scheduled_for: dt.datetime | None = None,
        attempt: int = 1,
        parent_run_id: str | None = None,
        dry_run: bool = False,
        status: str = "queued",
        error: str | None = None,
        owner: str | None = None,
    ) -> Run:
        run = self._new_run(
            bot,
            trigger,
            params,
            job_id,
            triggered_by,
            scheduled_for,
            attempt,
            parent_run_id,
            dry_run,
            status,
            error,
            owner,
        )
        with self.session() as s, s.begin():
            s.add(run)
        return run

    def _new_run(
        self,
        bot: str,
        trigger: str,
        params: dict | None,
        job_id: str | None,
        triggered_by: str | None,
        scheduled_for: dt.datetime | None,
        attempt: int,
        parent_run_id: str | None,
        dry_run: bool,
        status: str,
        error: str | None,
        owner: str | None,
    ) -> Run:
        now = utcnow()
        finished = status in FINISHED
        return Run(
            id=uuid.uuid4().hex,
            bot=bot,
            job_id=job_id,
            trigger=trigger,
            triggered_by=triggered_by,
            params=params or {},
            status=status,
            attempt=attempt,
            parent_run_id=parent_run_id,
            dry_run=dry_run,
            scheduled_for=scheduled_for,
            queued_at=now,
            finished_at=now if finished else None,
            error=error,
            counts={},
            outputs={},
            transient=False,
            cancel_requested=False,
            owner=owner or process_owner(),
        )

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
                    self._new_run(
                        bot, "schedule", params, job_id, "scheduler", fire_time, 1, None, False, "queued", None, None
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
        trigger: str = "schedule",
        params: dict | None = None,
    ) -> Run | None:
        """A fire that will not run, kept visible. Returns None if that fire was already recorded."""
        try:
            with self.session() as s, s.begin():
                run = self._new_run(
                    bot, trigger, params, job_id, "scheduler", scheduled_for, 1, None, False, "skipped", reason, None
                )
                s.add(run)
                if job_id and scheduled_for:
                    s.add(Fire(job_id=job_id, fire_time=scheduled_for, run_id=run.id))
            return run
        except IntegrityError:
            return None

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None and 6 <= len(run_id) < 32:
                run = s.scalars(select(Run).where(Run.id.startswith(run_id)).limit(2)).first()
            return run

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            s.execute(update(Run).where(Run.id == run_id).values(**values))

    def mark_running(self, run_id: str, run_dir: str, owner: str | None = None) -> bool:
        """queued → running; False if the run is no longer queued (cancelled meanwhile)."""
        with self.session() as s, s.begin():
            result = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(status="running", started_at=utcnow(), run_dir=run_dir, owner=owner or process_owner())
            )
            return result.rowcount == 1

    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        logs: Sequence[tuple[dt.datetime, str, str, str]] = (),
        artifacts: Sequence[tuple[str, int]] = (),
        **values: Any,
    ) -> None:
        """Record the outcome, the last log lines and the artifacts together (one transaction)."""
        now = utcnow()
        with self.session() as s, s.begin():
            run = s.get(Run, run_id)
            if run is None:
                return
            if logs:
                s.add_all(
                    LogLine(run_id=run_id, at=at, level=level, logger=name, message=msg)
                    for at, level, name, msg in logs
                )
            if artifacts:
                s.execute(delete(Artifact).where(Artifact.run_id == run_id))
                s.add_all(Artifact(run_id=run_id, name=name, size=size) for name, size in artifacts)
            run.status = status
            run.finished_at = now
            if run.started_at:
                run.duration_s = (now - run.started_at).total_seconds()
            for key, value in values.items():
                setattr(run, key, value)

    def request_cancel(self, run_id: str) -> Run | None:
        """Ask for a run to stop. A queued run is cancelled at once; a running one by its supervisor."""
        with self.session() as s, s.begin():
            run = s.get(Run, run_id)
            if run is None:
                return None
            if run.status == "queued":
                run.status = "cancelled"
                run.finished_at = utcnow()
                run.error = "cancelled before it started"
            elif run.status == "running":
                run.cancel_requested = True
            return run

    def cancel_requested(self, run_id: str) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def list_runs(
        self,
        *,
        bot: str | None = None,
        status: str | Sequence[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """Newest first, keyset-paginated: ``cursor`` is the last page's ``next_cursor``."""
        query = select(Run)
        if bot:
            query = query.where(Run.bot == bot)
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            query = query.where(Run.status.in_(statuses))
        if since:
            query = query.where(Run.queued_at >= since)
        if until:
            query = query.where(Run.queued_at < until)
        if cursor:
            stamp, _, last_id = cursor.partition("|")
            at = dt.datetime.fromisoformat(stamp)
            query = query.where(or_(Run.queued_at < at, and_(Run.queued_at == at, Run.id < last_id)))
        query = query.order_by(Run.queued_at.desc(), Run.id.desc()).limit(limit + 1)
        with self.session() as s:
            rows = list(s.scalars(query))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = f"{last.queued_at.isoformat()}|{last.id}"
        return RunPage(rows, next_cursor)

    def active_runs(self) -> list[Run]:
        with self.session() as s:
            return list(s.scalars(select(Run).where(Run.status.in_(ACTIVE)).order_by(Run.queued_at)))

    def last_runs(self, bots: Iterable[str]) -> dict[str, Run]:
        """The newest non-skipped run of each bot, by one index seek per bot.

        A GROUP BY over every run grows with history (about 350 ms for 200 bots and 100,000 runs);
        walking the (bot, queued_at) index backwards once per bot does not. On PostgreSQL and SQLite
        the names go in as one parameter (an array, a JSON list) to a correlated subquery; elsewhere
        each bot is one small query.
        """
        names = list(dict.fromkeys(bots))
        if not names:
            return {}
        dialect = self.engine.dialect.name
        with self.session() as s:
            if dialect in _NAMES_AS_ROWS:
                param: object = names if dialect == "postgresql" else json.dumps(names)
                query = text(_NEWEST_PER_BOT.format(names=_NAMES_AS_ROWS[dialect]))
                ids = [i for i in s.scalars(query, {"names": param}) if i]
            else:
                ids = [
                    i
                    for name in names
                    if (
                        i := s.scalar(
                            select(Run.id)
                            .where(Run.bot == name, Run.status != "skipped")
                            .order_by(Run.queued_at.desc())
                            .limit(1)
                        )
                    )
                ]
            found: dict[str, Run] = {}
            for begin in range(0, len(ids), 500):
                for run in s.scalars(select(Run).where(Run.id.in_(ids[begin : begin + 500]))):
                    found[run.bot] = run
            return found

    def success_rates(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        """bot → (succeeded, finished) since ``since``, skipped runs left out."""
        with self.session() as s:
            rows = s.execute(
                select(Run.bot, Run.status, func.count())
                .where(Run.queued_at >= since, Run.status.in_(FINISHED), Run.status != "skipped")
                .group_by(Run.bot, Run.status)
            ).all()
        rates: dict[str, tuple[int, int]] = {}
        for bot, status, count in rows:
            ok, total = rates.get(bot, (0, 0))
            rates[bot] = (ok + (count if status == "succeeded" else 0), total + count)
        return rates

    def interrupt_orphans(self) -> list[Run]:
        """Runs left running/queued by a process that is gone become ``interrupted``."""
        changed = []
        with self.session() as s, s.begin():
            for run in s.scalars(select(Run).where(Run.status.in_(ACTIVE))):
                if _owner_alive(run.owner) and run.owner != process_owner():
                    continue
                if run.status == "queued" and run.owner == process_owner():
                    continue
                run.status = "interrupted"
                run.finished_at = utcnow()
                run.error = f"the process supervising this run ({run.owner}) stopped before it finished"
                changed.append(run)
        return changed

    # -- logs and artifacts ---------------------------------------------------------------------
    def append_logs(self, run_id: str, lines: Sequence[tuple[dt.datetime, str, str, str]]) -> None:
        if not lines:
            return
        with self.session() as s, s.begin():
            s.add_all(
                LogLine(run_id=run_id, at=at, level=level, logger=name, message=msg) for at, level, name, msg in lines
            )

    def logs(self, run_id: str, after_id: int = 0, limit: int = 5000) -> list[LogLine]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(LogLine)
                    .where(LogLine.run_id == run_id, LogLine.id > after_id)
                    .order_by(LogLine.id)
                    .limit(limit)
                )
            )

    def set_artifacts(self, run_id: str, items: Sequence[tuple[str, int]]) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(Artifact).where(Artifact.run_id == run_id))
            s.add_all(Artifact(run_id=run_id, name=name, size=size) for name, size in items)

    def artifacts(self, run_id: str) -> list[Artifact]:
        with self.session() as s:
            return list(s.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.name)))

    # -- audit and bot state --------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        source: str = "",
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.session() as s, s.begin():
            s.add(
                AuditEntry(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    target=target,
                    source=source,
                    outcome=outcome,
                    detail=detail or {},
                )
            )

    def audit_log(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        with self.session() as s:
            return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))

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

    # -- retention ------------------------------------------------------------------------------
    def prune(self, before: dt.datetime) -> list[Run]:
        """Delete finished runs queued before ``before`` (with logs and artifacts rows); return them."""
        with self.session() as s, s.begin():
            old = list(s.scalars(select(Run).where(Run.queued_at < before, Run.status.in_(FINISHED))))
            ids = [r.id for r in old]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                s.execute(delete(LogLine).where(LogLine.run_id.in_(chunk)))
                s.execute(delete(Artifact).where(Artifact.run_id.in_(chunk)))
                s.execute(delete(Run).where(Run.id.in_(chunk)))
            s.execute(delete(AuditEntry).where(AuditEntry.at < before))
        return old

"""The tables of Backroom's own database, all on one :class:`Base` (its ``metadata`` is the schema).

Run records (runs, their log lines and artifacts), scheduler bookkeeping (fire claims, seen files,
job digests, bot pause state, the job-store owner lock, the leases of processes supervising runs)
and the audit log. The stores that read and write them are :mod:`.runs`, :mod:`.scheduler_state`
and :mod:`.audit`. The tables are created and changed by :mod:`backroom.schedules.migrations`; a
test holds that they equal these models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backroom.bots.sdk.db import UTCDateTime

__all__ = [
    "Artifact",
    "AuditEntry",
    "Base",
    "BotState",
    "ConditionState",
    "Fire",
    "JobDefinition",
    "LogLine",
    "MailClaim",
    "ProcessLease",
    "Run",
    "SeenFile",
    "UTCDateTime",
    "WorkItem",
    "scheduler_owner",
]


class Base(DeclarativeBase):
    """The one metadata object every Backroom table belongs to."""


class Run(Base):
    """One run of a bot, from queued to its end; ``status`` holds a :class:`~schedules.status.RunStatus`."""

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


class MailClaim(Base):
    """A message a mailbox trigger took for a bot: each message starts its bot once, across restarts.

    ``message_key`` is the SHA-256 of the Message-ID (of folder, UIDVALIDITY and UID when a message has
    none), so a copy of the same message arriving again is the same claim. ``state``: ``running`` (its
    run is ``run_id``), ``done`` (the run succeeded and the message was moved or flagged), ``failed``
    (tried again after the bot's ``retry_after``), ``ignored`` (no attachment matched the filters).
    """

    __tablename__ = "backroom_mail_claims"

    bot: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ConditionState(Base):
    """The last evaluation of a bot's condition trigger and its last start (what the console shows)."""

    __tablename__ = "backroom_conditions"

    bot: Mapped[str] = mapped_column(String(100), primary_key=True)
    evaluated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    holds: Mapped[bool] = mapped_column(Boolean, default=False)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_key: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the key values at the last start
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(32))


class WorkItem(Base):
    """One item of a work-item queue: put by a producer run, taken by a consumer run, ended once.

    ``ref`` is the producer's reference key: (queue, ref) is unique, so an item is never queued
    twice. ``state``: ``pending`` (waiting until ``available_at``), ``working`` (taken by
    ``consumer_run`` under the claim ``claim`` until ``lease_until``), ``done``, ``business_failed``
    (the data is wrong: reported, never retried), ``failed`` (application failures used up its
    attempts), ``dropped`` (by a person in the console). Bots reach it through
    :mod:`backroom.bots.sdk.workitems`, which names the same columns.
    """

    __tablename__ = "backroom_work_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(100))
    ref: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    producer_run: Mapped[str | None] = mapped_column(String(32))
    consumer_run: Mapped[str | None] = mapped_column(String(32))
    claim: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[Any] = mapped_column(JSON, nullable=True)
    sla_alerted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("queue", "ref", name="uq_backroom_work_items_ref"),
        Index("ix_backroom_work_items_take", "queue", "state", "available_at"),
        Index("ix_backroom_work_items_claim", "claim"),
    )


class JobDefinition(Base):
    """A hash of each scheduled job as configured, so a start only touches jobs that changed."""

    __tablename__ = "backroom_job_definitions"

    job_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    bot: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))


class ProcessLease(Base):
    """A process that supervises runs (``serve``, ``backroom run``), alive while ``expires_at`` is ahead.

    ``owner`` is the ``host:pid`` its runs carry in ``Run.owner``. A run whose owner's lease has
    expired is interrupted by the runner that owns the job store, whatever host it was on. A
    ``backroom worker`` advertises what it can take in ``capabilities`` with every renewal.
    """

    __tablename__ = "backroom_process_leases"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # the queues a worker takes, comma-separated ("*": all); NULL for serve and ``backroom run``
    capabilities: Mapped[str | None] = mapped_column(String(500))


# The owner lock of the job store (one row, name = "main"). A Core table with the same columns it
# had when runner.py declared it on a MetaData of its own; now on Base with the other tables.
# ``token`` is the fencing token: bumped on every acquisition, never reset (a released lock keeps
# its row, owner empty), checked in the transaction of every scheduled enqueue. ``expires_at`` is
# when the holder's lease ends unless renewed (NULL on rows of older releases: heartbeat + 30 s).
scheduler_owner = Table(
    "backroom_scheduler_owner",
    Base.metadata,
    Column("name", String(20), primary_key=True),
    Column("owner", String(200)),
    Column("heartbeat", DateTime(timezone=True)),
    Column("token", Integer),
    Column("expires_at", UTCDateTime),
)

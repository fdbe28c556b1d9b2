"""The autoclose state machine's tables in Backroom's own database.

One row per ticket in ``tickets_autoclose`` carries its state::

    taken ─► requesting ─► callback_requested ─► satisfied ─► closing ─► closed ─► archived
                 ▲                │            ├► unsatisfied ─► reopened
                 └── retry_wait ◄─┘ (no answer)└► handed_off / skipped_changed / skipped_dnc

Each row is written (and committed) *before* the remote action it announces, with the action's
idempotency key, and again after it; a run killed at any point leaves a row that says exactly what
may or may not have happened, and the next run resumes from there. Outcome events, from webhooks
or polling, land in ``tickets_outcome_events`` keyed by the dialer's event id, so a duplicate is
ignored by the primary key. ``tickets_archive_index`` records every archived file with its SHA-256.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from backroom.bots.sdk.db import Schema, configure_sqlite, upgrade

__all__ = ["SCHEMA", "TERMINAL", "StateStore", "archive_index", "autoclose_table", "events_table"]

metadata = MetaData()

#: this bot's tables' migrations, in ``migrations/`` (see :mod:`backroom.bots.sdk.db`)
SCHEMA = Schema("tickets", Path(__file__).resolve().with_name("migrations"))

autoclose_table = Table(
    "tickets_autoclose",
    metadata,
    Column("ticket_id", Integer, primary_key=True),
    Column("state", String(30), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("attempt_key", String(100)),
    Column("task_id", String(100)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("outcome", String(30)),
    Column("note", Text),
    Column("etag", String(100)),
    Column("seen", String(40)),
    Column("phone", String(40)),
    Column("subject", Text),
    Column("reason", Text),
    Column("attempts_log", JSON),
    Column("archive_path", Text),
    Column("sha256", String(64)),
    Column("run_id", String(50)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

events_table = Table(
    "tickets_outcome_events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("task_id", String(100)),
    Column("idempotency_key", String(100), index=True),
    Column("ticket_ref", String(50)),
    Column("outcome", String(30), nullable=False),
    Column("note", Text),
    Column("occurred_at", String(40)),
    Column("source", String(10), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

archive_index = Table(
    "tickets_archive_index",
    metadata,
    Column("ticket_id", Integer, primary_key=True),
    Column("json_path", Text, nullable=False),
    Column("html_path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("html_sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False),
)

#: states a ticket does not leave by itself
TERMINAL = {"archived", "reopened", "handed_off", "skipped_changed", "skipped_dnc"}


class StateStore:
    """Reads and writes the three tables; every write commits at once (kill -9 safe)."""

    def __init__(self, engine: Engine) -> None:
        # the webhook thread writes beside the run: WAL and a busy timeout, also on an engine made elsewhere
        self.engine = configure_sqlite(engine)
        upgrade(engine, SCHEMA)

    # -- rows -----------------------------------------------------------------------------
    def rows(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return {r.ticket_id: dict(r._mapping) for r in conn.execute(select(autoclose_table))}

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(autoclose_table).where(autoclose_table.c.ticket_id == ticket_id)).first()
        return None if row is None else dict(row._mapping)

    def put(self, ticket_id: int, **values: Any) -> None:
        """Insert or update one ticket's row."""
        values["updated_at"] = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(autoclose_table).where(autoclose_table.c.ticket_id == ticket_id).values(**values)
            ).rowcount
            if not done:
                values.setdefault("attempt", 0)
                conn.execute(insert(autoclose_table).values(ticket_id=ticket_id, **values))

    # -- events ---------------------------------------------------------------------------
    def add_event(self, event_data: dict[str, Any], source: str) -> bool:
        """Record an outcome event; False when it was already there (a duplicate delivery)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(events_table).values(
                        event_id=str(event_data["event_id"]),
                        task_id=event_data.get("task_id"),
                        idempotency_key=event_data.get("idempotency_key"),
                        ticket_ref=str(event_data.get("ticket_ref", "")),
                        outcome=event_data["outcome"],
                        note=event_data.get("note") or "",
                        occurred_at=event_data.get("occurred_at"),
                        source=source,
                        received_at=dt.datetime.now(dt.UTC),
                    )
                )
        except IntegrityError:
            return False
        return True

    def event_for(self, key: str) -> dict[str, Any] | None:
        """The first outcome *received* for an attempt key: a later delivery (a duplicate, a replay,
        a late forgery) can never change what was decided."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(events_table)
                .where(events_table.c.idempotency_key == key)
                .order_by(events_table.c.received_at, events_table.c.event_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def events_by_key(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(events_table).order_by(events_table.c.received_at, events_table.c.event_id)):
                out.setdefault(row.idempotency_key, dict(row._mapping))
        return out

    # -- archive index --------------------------------------------------------------------
    def index_archive(
        self, ticket_id: int, *, json_path: str, html_path: str, sha256: str, html_sha256: str, size: int
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(archive_index.delete().where(archive_index.c.ticket_id == ticket_id))
            conn.execute(
                insert(archive_index).values(
                    ticket_id=ticket_id,
                    json_path=json_path,
                    html_path=html_path,
                    sha256=sha256,
                    html_sha256=html_sha256,
                    size=size,
                    archived_at=dt.datetime.now(dt.UTC),
                )
            )

    def archive_entry(self, ticket_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(archive_index).where(archive_index.c.ticket_id == ticket_id)).first()
        return None if row is None else dict(row._mapping)

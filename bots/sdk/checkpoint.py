"""Durable key/value state per bot, for idempotent and resumable work.

A bot records what it has done (``ticket:42:callback:1 -> {"task": "T9"}``) before and after each
side effect on another system; a re-run reads it back and skips what is done. Values are JSON.
The store lives in Backroom's own database (SQLite by default, PostgreSQL in production).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, delete, select
from sqlalchemy.engine import Engine

from backroom.bots.sdk.db import Schema, make_engine, upgrade

__all__ = ["SCHEMA", "Checkpoint", "checkpoint_table", "metadata"]

#: the checkpoint table's migrations (see :mod:`backroom.bots.sdk.db`)
SCHEMA = Schema("checkpoints", Path(__file__).resolve().with_name("migrations"))

metadata = MetaData()

checkpoint_table = Table(
    "backroom_checkpoints",
    metadata,
    Column("bot", String(100), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("value", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

_MISSING = object()


class Checkpoint:
    """Key/value state of one bot. Each write commits at once, so it survives a kill -9."""

    def __init__(self, engine: Engine | str, bot: str) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.bot = bot
        upgrade(self.engine, SCHEMA)

    def get(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(checkpoint_table.c.value).where(
                    checkpoint_table.c.bot == self.bot, checkpoint_table.c.key == key
                )
            ).first()
        return default if row is None else row[0]

    def __contains__(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def set(self, key: str, value: Any) -> None:
        self.set_many({key: value})

    def set_many(self, items: dict[str, Any]) -> None:
        """Write several keys in one transaction: all of them land, or none."""
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            for key, value in items.items():
                conn.execute(
                    delete(checkpoint_table).where(checkpoint_table.c.bot == self.bot, checkpoint_table.c.key == key)
                )
                conn.execute(checkpoint_table.insert().values(bot=self.bot, key=key, value=value, updated_at=now))

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(checkpoint_table).where(checkpoint_table.c.bot == self.bot, checkpoint_table.c.key == key)
            )

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoint_table.c.key, checkpoint_table.c.value)
                .where(checkpoint_table.c.bot == self.bot, checkpoint_table.c.key.startswith(prefix))
                .order_by(checkpoint_table.c.key)
            ).all()
        yield from ((k, v) for k, v in rows)

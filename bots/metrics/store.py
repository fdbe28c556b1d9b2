"""The time-series store: every pulled value, in Backroom's own database, in UTC.

One row per (source, metric, dimensions, interval start). Pulling an interval again *replaces* what
that source said about it — every metric of that interval from that source is deleted and the new
values inserted in one transaction — so duplicate pulls, re-pulls after a correction and a pull
that returns the same row twice all leave exactly one value.

Times are stored as naive UTC (the one representation SQLite, PostgreSQL and MySQL all keep
faithfully: :class:`~backroom.bots.sdk.db.UTCDateTime` with ``timezone=False``) and handed back
aware, in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from backroom.bots.sdk.db import Schema, UTCDateTime, upgrade
from backroom.bots.systems.metric_sources.base import Sample, dims_key

__all__ = ["SCHEMA", "Sample", "Store", "UTCDateTime", "alerts_table", "dims_key", "metadata", "samples_table"]


metadata = MetaData()

#: this bot's tables' migrations, in ``migrations/`` (see :mod:`backroom.bots.sdk.db`)
SCHEMA = Schema("metrics", Path(__file__).resolve().with_name("migrations"))

samples_table = Table(
    "metrics_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("dims", String(500), nullable=False),  # canonical JSON, sorted keys
    Column("interval_start", UTCDateTime(timezone=False), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("pulled_at", UTCDateTime(timezone=False), nullable=False),
    UniqueConstraint("source", "metric", "dims", "interval_start", name="uq_metrics_samples_key"),
    Index("ix_metrics_samples_time", "interval_start", "source"),
)

alerts_table = Table(
    "metrics_alerts",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("status", String(10), nullable=False),  # open | closed
    Column("announced", Boolean, nullable=False, default=False),
    Column("recovery_announced", Boolean, nullable=False, default=False),
    Column("opened_at", UTCDateTime(timezone=False), nullable=False),
    Column("last_seen_at", UTCDateTime(timezone=False), nullable=False),
    Column("closed_at", UTCDateTime(timezone=False), nullable=True),
    Column("detail", JSON, nullable=False),
)


class Store:
    """Reads and writes ``metrics_samples``; creates its tables on first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, SCHEMA)

    def replace(self, source: str, samples: Sequence[Sample], pulled_at: dt.datetime) -> int:
        """Store a pull: each interval this pull covers is replaced wholesale. Returns rows stored."""
        latest: dict[tuple[str, str, dt.datetime], Sample] = {}
        for s in samples:  # a pull that repeats a row keeps the last one
            if s.start.tzinfo is None:
                raise ValueError(f"naive interval start {s.start!r} from source {source!r}; times must be aware")
            latest[(s.metric, s.dims, s.start.astimezone(dt.UTC))] = s
        starts = sorted({key[2] for key in latest})
        rows = [
            {
                "source": source,
                "metric": s.metric,
                "dims": s.dims,
                "interval_start": key[2],
                "interval_seconds": s.seconds,
                "value": float(s.value),
                "pulled_at": pulled_at,
            }
            for key, s in latest.items()
        ]
        t = samples_table
        with self.engine.begin() as conn:
            for i in range(0, len(starts), 400):
                chunk = starts[i : i + 400]
                conn.execute(delete(t).where(t.c.source == source, t.c.interval_start.in_(chunk)))
            for i in range(0, len(rows), 5000):
                conn.execute(insert(t), rows[i : i + 5000])
        return len(rows)

    def load(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        sources: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows with interval_start in [start, end), ordered by source, time, dims, metric."""
        t = samples_table
        query = select(
            t.c.source, t.c.metric, t.c.dims, t.c.interval_start, t.c.interval_seconds, t.c.value, t.c.pulled_at
        ).where(t.c.interval_start >= start, t.c.interval_start < end)
        if sources is not None:
            query = query.where(t.c.source.in_(list(sources)))
        if metrics is not None:
            query = query.where(t.c.metric.in_(list(metrics)))
        query = query.order_by(t.c.source, t.c.interval_start, t.c.dims, t.c.metric)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def latest(self, source: str) -> dt.datetime | None:
        """The end of the newest interval stored for ``source`` (aware UTC), None when it has none."""
        from sqlalchemy import func

        t = samples_table
        query = select(t.c.interval_start, t.c.interval_seconds).where(
            t.c.source == source,
            t.c.interval_start == select(func.max(t.c.interval_start)).where(t.c.source == source).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return row[0] + dt.timedelta(seconds=int(row[1]))

    def count(self, source: str | None = None) -> int:
        from sqlalchemy import func

        query = select(func.count()).select_from(samples_table)
        if source is not None:
            query = query.where(samples_table.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

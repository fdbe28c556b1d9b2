"""Baseline: ``metrics_samples`` and ``metrics_alerts`` as the release before migrations created them.

Revision ID: 0001
Revises: (none)

Instants are plain TIMESTAMP columns holding naive UTC (``UTCDateTime(timezone=False)``). Each table
is created only where missing: that release's alert book created its table alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def tables(meta: sa.MetaData) -> list[sa.Table]:
    """The tables of this revision, spelled out (never the models: they move on, this must not)."""
    return [
        sa.Table(
            "metrics_samples",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("source", sa.String(100), nullable=False),
            sa.Column("metric", sa.String(100), nullable=False),
            sa.Column("dims", sa.String(500), nullable=False),
            sa.Column("interval_start", sa.DateTime(), nullable=False),
            sa.Column("interval_seconds", sa.Integer, nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("pulled_at", sa.DateTime(), nullable=False),
            sa.UniqueConstraint("source", "metric", "dims", "interval_start", name="uq_metrics_samples_key"),
            sa.Index("ix_metrics_samples_time", "interval_start", "source"),
        ),
        sa.Table(
            "metrics_alerts",
            meta,
            sa.Column("key", sa.String(400), primary_key=True),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("announced", sa.Boolean, nullable=False),
            sa.Column("recovery_announced", sa.Boolean, nullable=False),
            sa.Column("opened_at", sa.DateTime(), nullable=False),
            sa.Column("last_seen_at", sa.DateTime(), nullable=False),
            sa.Column("closed_at", sa.DateTime(), nullable=True),
            sa.Column("detail", sa.JSON, nullable=False),
        ),
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

"""Baseline: the autoclose state, outcome events and archive index as the release before migrations
created them.

Revision ID: 0001
Revises: (none)
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
    at = sa.DateTime(timezone=True)
    return [
        sa.Table(
            "tickets_autoclose",
            meta,
            sa.Column("ticket_id", sa.Integer, primary_key=True),
            sa.Column("state", sa.String(30), nullable=False),
            sa.Column("attempt", sa.Integer, nullable=False),
            sa.Column("attempt_key", sa.String(100)),
            sa.Column("task_id", sa.String(100)),
            sa.Column("next_attempt_at", at),
            sa.Column("outcome", sa.String(30)),
            sa.Column("note", sa.Text),
            sa.Column("etag", sa.String(100)),
            sa.Column("seen", sa.String(40)),
            sa.Column("phone", sa.String(40)),
            sa.Column("subject", sa.Text),
            sa.Column("reason", sa.Text),
            sa.Column("attempts_log", sa.JSON),
            sa.Column("archive_path", sa.Text),
            sa.Column("sha256", sa.String(64)),
            sa.Column("run_id", sa.String(50)),
            sa.Column("updated_at", at, nullable=False),
        ),
        sa.Table(
            "tickets_outcome_events",
            meta,
            sa.Column("event_id", sa.String(100), primary_key=True),
            sa.Column("task_id", sa.String(100)),
            sa.Column("idempotency_key", sa.String(100), index=True),
            sa.Column("ticket_ref", sa.String(50)),
            sa.Column("outcome", sa.String(30), nullable=False),
            sa.Column("note", sa.Text),
            sa.Column("occurred_at", sa.String(40)),
            sa.Column("source", sa.String(10), nullable=False),
            sa.Column("received_at", at, nullable=False),
        ),
        sa.Table(
            "tickets_archive_index",
            meta,
            sa.Column("ticket_id", sa.Integer, primary_key=True),
            sa.Column("json_path", sa.Text, nullable=False),
            sa.Column("html_path", sa.Text, nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("html_sha256", sa.String(64), nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("archived_at", at, nullable=False),
        ),
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

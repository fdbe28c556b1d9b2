"""Baseline: the reconcile bot's three tables as the release before migrations created them.

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
    return [
        sa.Table(
            "reconcile_statements",
            meta,
            sa.Column("digest", sa.String(80), primary_key=True),
            sa.Column("account", sa.String(64), nullable=False, index=True),
            sa.Column("statement_id", sa.String(128)),
            sa.Column("period_start", sa.Date),
            sa.Column("period_end", sa.Date),
            sa.Column("opening", sa.String(32)),
            sa.Column("closing", sa.String(32)),
            sa.Column("line_count", sa.Integer),
            sa.Column("source", sa.Text),
            sa.Column("format", sa.String(32)),
            sa.Column("imported_at", sa.DateTime(timezone=True)),
        ),
        sa.Table(
            "reconcile_bank_lines",
            meta,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("account", sa.String(64), index=True),
            sa.Column("booking_date", sa.Date),
            sa.Column("value_date", sa.Date),
            sa.Column("amount", sa.String(32)),
            sa.Column("currency", sa.String(8)),
            sa.Column("counterparty_name", sa.Text),
            sa.Column("counterparty_account", sa.String(64)),
            sa.Column("reference", sa.Text),
            sa.Column("purpose", sa.Text),
            sa.Column("bank_line_id", sa.String(128)),
            sa.Column("digest", sa.String(80)),
        ),
        sa.Table(
            "reconcile_matches",
            meta,
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("bank_keys", sa.Text),
            sa.Column("ledger_ids", sa.Text),
            sa.Column("rule", sa.String(32)),
            sa.Column("score", sa.Float),
            sa.Column("status", sa.String(16), index=True),
            sa.Column("adjustment", sa.String(32)),
            sa.Column("note", sa.Text),
            sa.Column("run_id", sa.String(64)),
            sa.Column("updated_at", sa.DateTime(timezone=True)),
        ),
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

"""Baseline: ``expenses_documents`` as the release before migrations created it.

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
            "expenses_documents",
            meta,
            sa.Column("sha256", sa.String(64), primary_key=True),
            sa.Column("file", sa.String(500), nullable=False),
            sa.Column("employee", sa.String(200), nullable=False),
            sa.Column("category", sa.String(100), nullable=False),
            sa.Column("claim_month", sa.String(7), nullable=False),
            sa.Column("doc_type", sa.String(20), nullable=False),
            sa.Column("invoice_key", sa.String(100), nullable=True),
            sa.Column("receipt_key", sa.String(300), nullable=True),
            sa.Column("fields", sa.Text, nullable=False),
            sa.Column("verdict", sa.String(10), nullable=False),
            sa.Column("run_id", sa.String(100), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Index("ix_expenses_invoice_key", "invoice_key"),
            sa.Index("ix_expenses_receipt_key", "receipt_key"),
        )
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

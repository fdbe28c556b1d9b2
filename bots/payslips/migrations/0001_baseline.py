"""Baseline: ``payslips_ledger`` (the tax year per employee and month) and ``payslips_deliveries``.

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
            "payslips_ledger",
            meta,
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("month", sa.Integer, primary_key=True),
            sa.Column("employee_no", sa.String(64), primary_key=True),
            sa.Column("income", sa.String(20), nullable=False),
            sa.Column("special", sa.String(20), nullable=False),
            sa.Column("additional", sa.String(20), nullable=False),
            sa.Column("withheld", sa.String(20), nullable=False),
            sa.Column("run_id", sa.String(100), nullable=False),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        ),
        sa.Table(
            "payslips_deliveries",
            meta,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("month", sa.String(7), nullable=False),
            sa.Column("employee_no", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("recipient", sa.String(200), nullable=False),
            sa.Column("message_id", sa.String(200), nullable=False),
            sa.Column("detail", sa.String(500), nullable=False),
            sa.Column("run_id", sa.String(100), nullable=False),
            sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
            sa.Index("ix_payslips_deliveries_month_employee", "month", "employee_no"),
        ),
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

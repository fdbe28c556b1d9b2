"""Baseline: ``backroom_checkpoints`` as the release before migrations created it.

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
            "backroom_checkpoints",
            meta,
            sa.Column("bot", sa.String(100), primary_key=True),
            sa.Column("key", sa.String(500), primary_key=True),
            sa.Column("value", sa.JSON, nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )
    ]


def upgrade() -> None:
    for table in tables(sa.MetaData()):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

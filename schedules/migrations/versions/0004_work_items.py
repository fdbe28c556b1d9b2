"""Work-item queues: ``backroom_work_items``, one row per item a producer put and a consumer ends.

Revision ID: 0004
Revises: 0003

(queue, ref) is unique: the same reference key is never queued twice. Consumers take items by
``claim`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB; one writer at a time on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "backroom_work_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("available_at", INSTANT, nullable=False),
        sa.Column("deadline", INSTANT),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("finished_at", INSTANT),
        sa.Column("producer_run", sa.String(32)),
        sa.Column("consumer_run", sa.String(32)),
        sa.Column("claim", sa.String(32)),
        sa.Column("lease_until", INSTANT),
        sa.Column("error", sa.Text),
        sa.Column("outputs", sa.JSON),
        sa.Column("sla_alerted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("queue", "ref", name="uq_backroom_work_items_ref"),
    )
    op.create_index("ix_backroom_work_items_take", "backroom_work_items", ["queue", "state", "available_at"])
    op.create_index("ix_backroom_work_items_claim", "backroom_work_items", ["claim"])


def downgrade() -> None:
    op.drop_table("backroom_work_items")

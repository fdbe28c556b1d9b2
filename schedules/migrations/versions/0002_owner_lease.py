"""Ownership that cannot split: a fencing token and a lease end on the owner lock, process leases.

Revision ID: 0002
Revises: 0001

``backroom_scheduler_owner`` gains ``token`` (bumped on every acquisition; every scheduled enqueue
checks it in its own transaction) and ``expires_at`` (when the holder's lease ends unless renewed).
``backroom_process_leases`` holds one row per process supervising runs: a run whose owner's lease
has expired is interrupted, whichever host it ran on. Existing rows keep working: a NULL token
counts as 0, a NULL ``expires_at`` as the old rule (heartbeat + 30 s).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("backroom_scheduler_owner") as table:
        table.add_column(sa.Column("token", sa.Integer))
        table.add_column(sa.Column("expires_at", INSTANT))
    op.create_table(
        "backroom_process_leases",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("expires_at", INSTANT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("backroom_process_leases")
    with op.batch_alter_table("backroom_scheduler_owner") as table:
        table.drop_column("expires_at")
        table.drop_column("token")

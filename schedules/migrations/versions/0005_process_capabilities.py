"""What each process that executes runs can take: ``capabilities`` on ``backroom_process_leases``.

Revision ID: 0005
Revises: 0004

A ``backroom worker`` writes the queues it takes (``browser``, ``ocr``, ...; ``*`` for all) with
every renewal of its lease, so ``backroom workers`` and the console show which worker can do what.
NULL for rows of older releases and for processes that execute runs of every kind (serve, run).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backroom_process_leases") as table:
        table.add_column(sa.Column("capabilities", sa.String(500)))


def downgrade() -> None:
    with op.batch_alter_table("backroom_process_leases") as table:
        table.drop_column("capabilities")

"""Mailbox and condition triggers: the messages claimed per bot, the last evaluation of each condition.

Revision ID: 0003
Revises: 0002

``backroom_mail_claims``: one row per (bot, message), keyed by the SHA-256 of the Message-ID, so a
message starts its bot once across restarts and a failed run's message is tried again.
``backroom_conditions``: one row per bot with a ``[bots.NAME.when]`` trigger: whether it held at the
last evaluation, the values seen (or the error), and the key and time of the last start.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "backroom_mail_claims",
        sa.Column("bot", sa.String(100), primary_key=True),
        sa.Column("message_key", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.Text),
        sa.Column("folder", sa.String(200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_at", INSTANT, nullable=False),
        sa.Column("finished_at", INSTANT),
    )
    op.create_table(
        "backroom_conditions",
        sa.Column("bot", sa.String(100), primary_key=True),
        sa.Column("evaluated_at", INSTANT),
        sa.Column("holds", sa.Boolean, nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("started_key", sa.String(64)),
        sa.Column("started_at", INSTANT),
        sa.Column("run_id", sa.String(32)),
    )


def downgrade() -> None:
    op.drop_table("backroom_conditions")
    op.drop_table("backroom_mail_claims")

"""Baseline: the runner's tables as the release before migrations created them.

Revision ID: 0001
Revises: (none)

Each table is created only where missing: that release made the owner-lock table only when a runner
started, so one of its databases may hold the history tables without it.

MariaDB (on which that release could not create ``backroom_seen_files``): instants are DATETIME(6),
so runs queued within one second keep their order; and as an InnoDB key holds at most 3072 bytes,
the seen-files primary key takes the first 500 characters of the path (bot + path + fingerprint in
utf8mb4 would need 4,800). Two files whose paths agree in their first 500 characters and whose
fingerprints agree count as one there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


INSTANT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

SEEN_FILES_MARIADB = """
CREATE TABLE backroom_seen_files (
    bot VARCHAR(100) NOT NULL,
    path VARCHAR(1000) NOT NULL,
    fingerprint VARCHAR(100) NOT NULL,
    seen_at DATETIME(6) NOT NULL,
    run_id VARCHAR(32),
    PRIMARY KEY (bot, path(500), fingerprint)
)
"""


def _at(name: str, nullable: bool = True, primary_key: bool = False) -> sa.Column:
    return sa.Column(name, INSTANT, nullable=nullable, primary_key=primary_key)


def tables(meta: sa.MetaData) -> list[sa.Table]:
    """The tables of this revision, spelled out (never the models: they move on, this must not)."""

    def runs_fk() -> sa.ForeignKey:
        return sa.ForeignKey("backroom_runs.id", ondelete="CASCADE")

    return [
        sa.Table(
            "backroom_runs",
            meta,
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("bot", sa.String(100), nullable=False),
            sa.Column("job_id", sa.String(200)),
            sa.Column("trigger", sa.String(20), nullable=False),
            sa.Column("triggered_by", sa.String(100)),
            sa.Column("params", sa.JSON, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("attempt", sa.Integer, nullable=False),
            sa.Column("parent_run_id", sa.String(32)),
            sa.Column("dry_run", sa.Boolean, nullable=False),
            _at("scheduled_for"),
            _at("queued_at", nullable=False),
            _at("started_at"),
            _at("finished_at"),
            sa.Column("duration_s", sa.Float),
            sa.Column("summary", sa.Text),
            sa.Column("counts", sa.JSON, nullable=False),
            sa.Column("outputs", sa.JSON, nullable=False),
            sa.Column("progress", sa.JSON),
            sa.Column("error", sa.Text),
            sa.Column("traceback", sa.Text),
            sa.Column("transient", sa.Boolean, nullable=False),
            sa.Column("cancel_requested", sa.Boolean, nullable=False),
            sa.Column("owner", sa.String(200)),
            sa.Column("run_dir", sa.Text),
            sa.Index("ix_backroom_runs_queued", "queued_at", "id"),
            sa.Index("ix_backroom_runs_bot_queued", "bot", "queued_at"),
            sa.Index("ix_backroom_runs_status", "status"),
        ),
        sa.Table(
            "backroom_run_logs",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.String(32), runs_fk(), nullable=False, index=True),
            _at("at", nullable=False),
            sa.Column("level", sa.String(10), nullable=False),
            sa.Column("logger", sa.String(200), nullable=False),
            sa.Column("message", sa.Text, nullable=False),
        ),
        sa.Table(
            "backroom_artifacts",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.String(32), runs_fk(), nullable=False, index=True),
            sa.Column("name", sa.String(500), nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
        ),
        sa.Table(
            "backroom_audit",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            _at("at", nullable=False),
            sa.Column("actor", sa.String(100), nullable=False),
            sa.Column("action", sa.String(50), nullable=False),
            sa.Column("target", sa.String(200), nullable=False),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("outcome", sa.String(20), nullable=False),
            sa.Column("detail", sa.JSON, nullable=False),
            sa.Index("ix_backroom_audit_at", "at"),
        ),
        sa.Table(
            "backroom_bot_state",
            meta,
            sa.Column("bot", sa.String(100), primary_key=True),
            sa.Column("paused", sa.Boolean, nullable=False),
            sa.Column("changed_by", sa.String(100)),
            _at("changed_at"),
        ),
        sa.Table(
            "backroom_fires",
            meta,
            sa.Column("job_id", sa.String(200), primary_key=True),
            _at("fire_time", nullable=False, primary_key=True),
            sa.Column("run_id", sa.String(32)),
        ),
        sa.Table(
            "backroom_seen_files",
            meta,
            sa.Column("bot", sa.String(100), primary_key=True),
            sa.Column("path", sa.String(1000), primary_key=True),
            sa.Column("fingerprint", sa.String(100), primary_key=True),
            _at("seen_at", nullable=False),
            sa.Column("run_id", sa.String(32)),
        ),
        sa.Table(
            "backroom_job_definitions",
            meta,
            sa.Column("job_id", sa.String(200), primary_key=True),
            sa.Column("bot", sa.String(100), nullable=False),
            sa.Column("digest", sa.String(64), nullable=False),
        ),
        sa.Table(
            "backroom_scheduler_owner",
            meta,
            sa.Column("name", sa.String(20), primary_key=True),
            sa.Column("owner", sa.String(200)),
            _at("heartbeat"),
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    for table in tables(sa.MetaData()):
        if table.name == "backroom_seen_files" and bind.dialect.name in ("mysql", "mariadb"):
            if not sa.inspect(bind).has_table(table.name):
                op.execute(SEEN_FILES_MARIADB)
            continue
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(tables(sa.MetaData())):
        table.drop(op.get_bind(), checkfirst=True)

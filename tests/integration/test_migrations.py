"""Backroom's own database is migrated in place: a database of the release before migrations (tables
made by ``create_all``, no version table) is recognised, stamped at the baseline and upgraded, and
every row it held is still there afterwards. Run on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from backroom.bots.sdk.db import Schema, SchemaError, baseline, current, head, make_engine, registered_schemas, upgrade
from backroom.schedules.migrations import SCHEMA as RUNNER

T0 = dt.datetime(2026, 5, 1, 8, 30, 15, 250_000, tzinfo=dt.UTC)


BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'backroom.db'}")
    elif request.param == "postgres":
        engine = make_engine(request.getfixturevalue("pg_schema_url"))
    else:
        engine = request.getfixturevalue("mariadb_engine")
    yield engine
    engine.dispose()


@pytest.fixture
def mariadb_engine(mysql_url: str) -> Iterator[Engine]:
    name = f"br_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(mysql_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        url = make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
        yield make_engine(url)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        admin.dispose()


def previous_release(engine: Engine, schemas: list[Schema]) -> None:
    """The tables as the release before migrations left them: the baseline's DDL, no version table.

    (That the baseline is that release's DDL is held by ``test_models_match_the_migrations``: the
    models have not changed since.)
    """
    for schema in schemas:
        upgrade(engine, schema, baseline(schema)[0])
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {schema.version_table}"))
    assert all(current(engine, s) is None for s in schemas)


def rows_of_a_working_installation() -> dict[str, list[dict[str, Any]]]:
    """Runs with logs and artifacts, audit, a paused bot, scheduler bookkeeping, checkpoints and the
    state of every bot — what a database of the previous release holds after some weeks."""
    runs = [
        {
            "id": f"{i:032x}",
            "bot": "expenses" if i % 2 else "tickets",
            "job_id": f"job-{i}",
            "trigger": "schedule",
            "triggered_by": "scheduler",
            "params": {"month": "2026-04", "名字": "张三"},
            "status": "succeeded" if i < 4 else "failed",
            "attempt": 1,
            "parent_run_id": None,
            "dry_run": False,
            "scheduled_for": T0 + dt.timedelta(minutes=i),
            "queued_at": T0 + dt.timedelta(minutes=i, microseconds=i),
            "started_at": T0 + dt.timedelta(minutes=i, seconds=1),
            "finished_at": T0 + dt.timedelta(minutes=i, seconds=9),
            "duration_s": 8.0,
            "summary": f"run {i}",
            "counts": {"read": i},
            "outputs": {},
            "progress": None,
            "error": None if i < 4 else "boom",
            "traceback": None,
            "transient": False,
            "cancel_requested": False,
            "owner": "host:1",
            "run_dir": f"/var/runs/{i}",
        }
        for i in range(6)
    ]
    return {
        "backroom_runs": runs,
        "backroom_run_logs": [
            {"run_id": r["id"], "at": T0, "level": "INFO", "logger": "bot", "message": f"line {n} of {r['id'][-1]}"}
            for r in runs
            for n in range(3)
        ],
        "backroom_artifacts": [{"run_id": r["id"], "name": "claim.xlsx", "size": 1234} for r in runs],
        "backroom_audit": [
            {
                "at": T0,
                "actor": "finance",
                "action": "pause",
                "target": "tickets",
                "source": "cli",
                "outcome": "ok",
                "detail": {},
            },
            {
                "at": T0,
                "actor": "admin",
                "action": "trigger",
                "target": "expenses",
                "source": "api",
                "outcome": "ok",
                "detail": {"run_id": runs[1]["id"]},
            },
        ],
        "backroom_bot_state": [{"bot": "tickets", "paused": True, "changed_by": "finance", "changed_at": T0}],
        "backroom_fires": [{"job_id": r["job_id"], "fire_time": r["scheduled_for"], "run_id": r["id"]} for r in runs],
        "backroom_seen_files": [
            {"bot": "expenses", "path": "/inbox/发票.pdf", "fingerprint": "abc", "seen_at": T0, "run_id": runs[1]["id"]}
        ],
        "backroom_job_definitions": [{"job_id": "job-1", "bot": "expenses", "digest": "d" * 64}],
        "backroom_scheduler_owner": [{"name": "main", "owner": "host:1#ab", "heartbeat": T0}],
        "backroom_checkpoints": [
            {"bot": "tickets", "key": "ticket:42:closed", "value": {"task": "T9"}, "updated_at": T0},
        ],
        "expenses_documents": [
            {
                "sha256": "e" * 64,
                "file": "发票.pdf",
                "employee": "张三",
                "category": "travel",
                "claim_month": "2026-04",
                "doc_type": "fapiao",
                "invoice_key": "044:123",
                "receipt_key": None,
                "fields": "{}",
                "verdict": "ok",
                "run_id": runs[1]["id"],
                "status": "done",
                "created_at": T0,
            }
        ],
        "tickets_autoclose": [{"ticket_id": 42, "state": "closed", "attempt": 1, "updated_at": T0}],
        "tickets_outcome_events": [
            {"event_id": "ev1", "idempotency_key": "k1", "outcome": "satisfied", "source": "webhook", "received_at": T0}
        ],
        "metrics_samples": [
            {
                "source": "wfm",
                "metric": "calls",
                "dims": "{}",
                "interval_start": T0.replace(tzinfo=None),
                "interval_seconds": 900,
                "value": 12.0,
                "pulled_at": T0.replace(tzinfo=None),
            }
        ],
        "reconcile_statements": [{"digest": "s1", "account": "6222", "closing": "10.00", "imported_at": T0}],
    }


def fill(engine: Engine, schemas: list[Schema], rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``rows`` through the baseline's own table definitions (no model, no migration)."""
    tables = {t.name: t for s in schemas for t in baseline(s)[1]}
    with engine.begin() as conn:
        for name, items in rows.items():
            conn.execute(tables[name].insert(), items)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def with_revision(tmp_path: Path, schema: Schema, source: str) -> Schema:
    """``schema`` plus one more revision (test-only), in a copy of its folder."""
    folder = tmp_path / f"{schema.name}-versions"
    shutil.copytree(schema.location, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "0002_test.py").write_text(source.replace("{down}", head(schema)), encoding="utf-8")
    return Schema(schema.name, folder)


ADD_PROBE_TO_RUNS = """
import sqlalchemy as sa
from alembic import op

revision = "probe"
down_revision = "{down}"


def upgrade():
    op.add_column("backroom_runs", sa.Column("probe", sa.String(20), nullable=True))
    op.execute("UPDATE backroom_runs SET probe = 'migrated'")
"""

ADD_REVIEWER_TO_EXPENSES = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "{down}"


def upgrade():
    op.add_column("expenses_documents", sa.Column("reviewer", sa.String(100), nullable=True))
"""


def test_previous_release_is_recognised_upgraded_and_keeps_every_row(engine: Engine, tmp_path: Path) -> None:
    from backroom.bots.expenses.state import DocumentStore
    from backroom.bots.metrics.store import Store
    from backroom.bots.reconcile.state import ReconcileState
    from backroom.bots.sdk.checkpoint import Checkpoint
    from backroom.bots.tickets.state import StateStore
    from backroom.schedules.history import History

    schemas = registered_schemas()
    assert [s.name for s in schemas] == [
        "backroom",
        "checkpoints",
        "expenses",
        "metrics",
        "payslips",
        "reconcile",
        "tickets",
    ]
    previous_release(engine, schemas)
    rows = rows_of_a_working_installation()
    fill(engine, schemas, rows)

    # this release opens it: each owner stamps its baseline and reads what the old release wrote
    history = History(engine)
    assert current(engine, RUNNER) == head(RUNNER)
    page = history.list_runs(limit=100)
    assert sorted(r.id for r in page.runs) == sorted(r["id"] for r in rows["backroom_runs"])
    newest = history.get_run(f"{5:032x}")
    assert newest.queued_at == T0 + dt.timedelta(minutes=5, microseconds=5)
    assert newest.params == {"month": "2026-04", "名字": "张三"} and newest.error == "boom"
    assert [line.message for line in history.logs(f"{3:032x}")] == ["line 0 of 3", "line 1 of 3", "line 2 of 3"]
    assert [a.name for a in history.artifacts(f"{3:032x}")] == ["claim.xlsx"]
    assert [(e.actor, e.action) for e in history.audit_log()] == [("admin", "trigger"), ("finance", "pause")]
    assert history.paused_bots() == {"tickets"}
    assert history.job_digests() == {"job-1": "d" * 64}
    assert not history.claim_file("expenses", "/inbox/发票.pdf", "abc"), "the seen file was forgotten"
    assert Checkpoint(engine, "tickets").get("ticket:42:closed") == {"task": "T9"}
    assert DocumentStore(engine).get("e" * 64)["employee"] == "张三"
    tickets = StateStore(engine)
    assert tickets.get(42)["state"] == "closed" and tickets.event_for("k1")["event_id"] == "ev1"
    assert Store(engine).count("wfm") == 1
    assert ReconcileState(engine).seen_digests() == {"s1": None}
    from backroom.bots.payslips.state import PayslipStore

    assert PayslipStore(engine).for_month("2026-03") == []
    assert {s.name: current(engine, s) for s in schemas} == {s.name: head(s) for s in schemas}

    # a later release adds a column to the runs: applied in place, every row kept and migrated
    counts = {name: count(engine, name) for name in rows}
    upgrade(engine, with_revision(tmp_path, RUNNER, ADD_PROBE_TO_RUNS))
    assert current(engine, RUNNER) == "probe"
    assert {name: count(engine, name) for name in rows} == counts
    with engine.connect() as conn:
        probes = conn.execute(sa.text("SELECT id, probe FROM backroom_runs")).all()
    assert sorted(probes) == sorted((r["id"], "migrated") for r in rows["backroom_runs"])


def test_a_database_without_a_version_table_goes_from_baseline_to_head_in_one_call(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stamped at the baseline, then the new revision, in one upgrade (what a first start does)."""
    from backroom.bots.expenses.state import SCHEMA as EXPENSES

    caplog.set_level("INFO", logger="backroom.bots.sdk.db")

    previous_release(engine, [EXPENSES])
    rows = rows_of_a_working_installation()
    fill(engine, [EXPENSES], {"expenses_documents": rows["expenses_documents"]})
    newer = with_revision(tmp_path, EXPENSES, ADD_REVIEWER_TO_EXPENSES)

    assert upgrade(engine, newer) == "0002"
    assert "schema expenses: existing tables recognised, stamped at baseline 0001" in caplog.text
    assert current(engine, newer) == "0002"
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT sha256, employee, reviewer FROM expenses_documents")).all()
    assert [tuple(r) for r in found] == [("e" * 64, "张三", None)]


def test_a_fresh_database_gets_every_table_and_the_head_revision(engine: Engine) -> None:
    for schema in registered_schemas():
        assert upgrade(engine, schema) == head(schema)
        assert current(engine, schema) == head(schema)
    names = set(sa.inspect(engine).get_table_names())
    assert {t.name for s in registered_schemas() for t in baseline(s)[1]} <= names


def test_processes_starting_together_on_a_new_database_all_come_up(engine: Engine) -> None:
    """The runner, a worker and a run may open a new database at once: each ends at head, none fails."""
    url = engine.url.render_as_string(hide_password=False)
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_everything() -> None:
        mine = make_engine(url)
        try:
            start.wait()
            for schema in registered_schemas():
                upgrade(mine, schema)
        except BaseException as exc:
            failures.append(exc)
        finally:
            mine.dispose()

    threads = [threading.Thread(target=open_everything) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert {s.name: current(engine, s) for s in registered_schemas()} == {s.name: head(s) for s in registered_schemas()}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_models_match_the_migrations(engine: Engine) -> None:
    """Every model table equals what the migrations build; a model changed without a revision fails here.

    Not on MariaDB: there the migrations build instants as DATETIME(6) and the seen-files key on a
    prefix of the path, on purpose, so the models (written for SQLite and PostgreSQL) differ by design;
    the upgrade tests above run on MariaDB too."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from backroom.bots.expenses.state import metadata as expenses
    from backroom.bots.metrics.store import metadata as metrics
    from backroom.bots.payslips.state import metadata as payslips
    from backroom.bots.reconcile.state import metadata as reconcile
    from backroom.bots.sdk.checkpoint import metadata as checkpoints
    from backroom.bots.tickets.state import metadata as tickets
    from backroom.schedules.history import Base

    models = {
        "backroom": Base.metadata,
        "checkpoints": checkpoints,
        "expenses": expenses,
        "metrics": metrics,
        "payslips": payslips,
        "reconcile": reconcile,
        "tickets": tickets,
    }
    differences = {}
    for schema in registered_schemas():
        upgrade(engine, schema)
        mine = {t.name for t in baseline(schema)[1]} | set(models[schema.name].tables)  # + later revisions
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": schema.version_table,
                    "compare_type": True,
                    # only this schema's tables (they share one database with the others)
                    "include_name": lambda name, kind, _parent, mine=mine: kind != "table" or name in mine,
                },
            )
            diff = compare_metadata(context, models[schema.name])
        if diff:
            differences[schema.name] = diff
    assert not differences, differences


def test_partial_previous_release_gets_its_missing_tables(tmp_path: Path) -> None:
    """That release created the owner lock only when a runner started: a database used only by
    ``backroom run`` lacks it, and the baseline adds it without touching the rest."""
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    previous_release(engine, [RUNNER])
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE backroom_scheduler_owner"))
    fill(engine, [RUNNER], {"backroom_runs": rows_of_a_working_installation()["backroom_runs"]})

    assert upgrade(engine, RUNNER) == head(RUNNER)
    assert sa.inspect(engine).has_table("backroom_scheduler_owner")
    assert count(engine, "backroom_runs") == 6


def test_a_table_that_is_not_the_baselines_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE expenses_documents (sha256 VARCHAR(64) PRIMARY KEY, other TEXT)"))
    from backroom.bots.expenses.state import SCHEMA as EXPENSES

    with pytest.raises(SchemaError, match=r"expenses_documents exists but lacks column\(s\) file, employee"):
        upgrade(engine, EXPENSES)
    assert current(engine, EXPENSES) is None


def test_a_database_from_a_newer_release_is_refused_by_name(tmp_path: Path) -> None:
    from backroom.bots.expenses.state import SCHEMA as EXPENSES

    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine, with_revision(tmp_path, EXPENSES, ADD_REVIEWER_TO_EXPENSES))
    with pytest.raises(SchemaError, match=r"records revision 0002 of schema 'expenses'.*newest is 0001"):
        upgrade(make_engine(f"sqlite:///{tmp_path / 'd.db'}"), EXPENSES)

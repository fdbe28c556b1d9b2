"""Benchmark of the migrate bot on PostgreSQL (loopback): narrow rows, re-runnable upsert.

    .venv/bin/python -m tests.benchmarks.bench_migrate                 # full size: 1,000,000 rows
    .venv/bin/python -m tests.benchmarks.bench_migrate --rows 200000   # scaled down

Measured in the same run, on the same database:

* ``copy_only``             psycopg COPY of the rows into an empty table (the ceiling);
* ``raw_staging_merge``     COPY into staging + one INSERT ... ON CONFLICT (no mapping, no proof);
* ``orm_per_row``           SQLAlchemy ORM ``session.merge`` per row (the usual hand-written job);
* ``executemany``           psycopg ``executemany`` of INSERT ... ON CONFLICT in batches;
* ``bot_first_run``         the migrate bot, first run into an empty target: mapping, validation,
                            COPY → staging → ON CONFLICT, proof read-back, checkpoint per batch;
* ``bot_rerun_unchanged``   the bot again with ``full=true`` over unchanged data (everything read,
                            mapped and compared; nothing rewritten);
* ``bot_rerun_incremental`` the bot again incrementally (its cursor says nothing is new);
* memory: peak RSS of the bot's process at ``--rows`` and at a tenth of it (flat = similar);
* ``--deletion-check-only``  what finding source deletions costs an incremental run at ``--rows``
                            (``deletion_check`` off / count / keys), against ``off`` in the same run;
* ``mariadb_*``             PostgreSQL → MariaDB (``--mysql-url``): the bot against a raw PyMySQL
                            multi-row ``INSERT ... ON DUPLICATE KEY UPDATE`` of the same rows.

The bot's first run takes the pushdown path when it can (``bot_first_run_path``): mapping in SQL,
rows never in Python. ``raw_staging_merge_vs_bot`` is the PG→PG ratio (goal ≤ 2).

The ORM and executemany baselines run on ``--baseline-rows`` rows (they are slow) and are
reported as rows/s. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

BOT = """
import json, os, sys, time
from pathlib import Path
from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context
url, tmp, schema, batch, full = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
proof = sys.argv[6] == "1"
target_url, target_table = (sys.argv[7], sys.argv[8]) if len(sys.argv) > 8 else (url, f"{schema}.dst")
cfg = Config.model_validate({"migrations": {"bench": {
    "source": {"kind": "sql", "system": "db", "table": f"{schema}.src", "cursor": "id"},
    "target": {"kind": "sql", "system": "out", "table": target_table,
               "pushdown": os.environ.get("BENCH_PUSHDOWN", "1") == "1"},
    "key": "id", "batch_size": batch, "max_reject_ratio": 0, "proof": proof,
    "deletion_check": os.environ.get("BENCH_DELETION_CHECK", "count"),
    "fields": {"id": "id", "amount": {"from": "amount", "type": "decimal", "min": 0},
               "code": {"from": "code", "max_length": 12}, "updated_at": {"from": "updated_at", "type": "datetime"}},
}}})
systems = {"db": {"kind": "sql", "url": url}, "out": {"kind": "sql", "url": target_url}}
ctx = make_context(tmp, "migrate", systems=systems, config=cfg)
t = time.perf_counter()
result = Migrate().run(ctx, MigrateParams(name="bench", full=full))
seconds = time.perf_counter() - t
# VmHWM: this process's own peak resident memory (ru_maxrss would include the parent's, kept over exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "counts": result.counts, "status": result.status,
                  "gone": result.outputs["gone_from_source"],
                  "timings": result.outputs["timings_s"], "path": result.outputs["path"],
                  "peak_rss_mb": hwm / 1024}))
"""


def _sql(engine: Any, statement: str) -> Any:
    import sqlalchemy as sa

    with engine.begin() as conn:
        result = conn.execute(sa.text(statement))
        return result.all() if result.returns_rows else None


def _tables(engine: Any, schema: str, rows: int) -> None:
    _sql(engine, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    _sql(engine, f"CREATE SCHEMA {schema}")
    _sql(engine, f"CREATE TABLE {schema}.src (id bigint PRIMARY KEY, amount text, code text, updated_at timestamptz)")
    _sql(
        engine,
        f"INSERT INTO {schema}.src SELECT g, ((g % 100000) * 0.01)::text, 'K' || (g % 9973), "
        f"timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, {rows}) g",
    )
    _sql(engine, f"ANALYZE {schema}.src")
    _fresh_target(engine, schema, "dst")


def _fresh_target(engine: Any, schema: str, name: str) -> None:
    _sql(engine, f"DROP TABLE IF EXISTS {schema}.{name}")
    _sql(
        engine,
        f"CREATE TABLE {schema}.{name} (id bigint PRIMARY KEY, amount numeric(12,2), code varchar(12), "
        "updated_at timestamptz)",
    )


def _source_rows(engine: Any, schema: str, limit: int) -> list[tuple[Any, ...]]:
    from decimal import Decimal

    raw = _sql(engine, f"SELECT id, amount, code, updated_at FROM {schema}.src ORDER BY id LIMIT {limit}")
    return [(i, Decimal(a), c, u) for i, a, c, u in raw]


def bench_copy_and_merge(engine: Any, schema: str, rows: list[tuple[Any, ...]], batch: int) -> dict[str, float]:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        _fresh_target(engine, schema, "copy_only")
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {schema}.copy_only (id, amount, code, updated_at) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        copy_s = time.perf_counter() - t
        _fresh_target(engine, schema, "merge_only")
        t = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE stg (id bigint, amount numeric, code text, updated_at timestamptz)")
            for i in range(0, len(rows), batch):
                cur.execute("TRUNCATE stg")
                with cur.copy("COPY stg (id, amount, code, updated_at) FROM STDIN") as copy:
                    for r in rows[i : i + batch]:
                        copy.write_row(r)
                cur.execute(
                    f"INSERT INTO {schema}.merge_only SELECT * FROM stg ON CONFLICT (id) DO UPDATE SET "
                    "amount = EXCLUDED.amount, code = EXCLUDED.code, updated_at = EXCLUDED.updated_at"
                )
                conn.commit()
        merge_s = time.perf_counter() - t
    finally:
        raw.close()
    return {"copy_only_rows_per_s": len(rows) / copy_s, "raw_staging_merge_rows_per_s": len(rows) / merge_s}


def bench_orm(engine: Any, schema: str, rows: list[tuple[Any, ...]]) -> float:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session, registry

    class Row:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    table = sa.Table(
        "orm_rows",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("amount", sa.Numeric(12, 2)),
        sa.Column("code", sa.String(12)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        schema=schema,
    )
    registry().map_imperatively(Row, table)

    _fresh_target(engine, schema, "orm_rows")
    t = time.perf_counter()
    with Session(engine) as session:
        for n, (i, a, c, u) in enumerate(rows, start=1):
            session.merge(Row(id=i, amount=a, code=c, updated_at=u))  # SELECT + INSERT/UPDATE per row
            if n % 1000 == 0:
                session.commit()
        session.commit()
    return len(rows) / (time.perf_counter() - t)


def bench_executemany(engine: Any, schema: str, rows: list[tuple[Any, ...]], batch: int) -> float:
    _fresh_target(engine, schema, "em_rows")
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        t = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, len(rows), batch):
                cur.executemany(
                    f"INSERT INTO {schema}.em_rows VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                    "amount = EXCLUDED.amount, code = EXCLUDED.code, updated_at = EXCLUDED.updated_at",
                    rows[i : i + batch],
                )
                conn.commit()
        return len(rows) / (time.perf_counter() - t)
    finally:
        raw.close()


def run_bot(
    url: str,
    tmp: Path,
    schema: str,
    batch: int,
    *,
    full: bool,
    proof: bool = True,
    target: tuple[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    argv = [sys.executable, "-c", BOT, url, str(tmp), schema, str(batch), "1" if full else "0", "1" if proof else "0"]
    out = subprocess.run(
        argv + list(target or ()),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"bot run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_deletion_check(url: str, schema: str, batch: int, rows: int) -> dict[str, Any]:
    """What finding source deletions costs an incremental run (``deletion_check``), at ``rows`` rows.

    The target is full and up to date; each incremental run reads nothing new. ``off`` is the
    baseline; ``count`` compares two count(*)s; ``keys`` compares key sets (anti-join in one
    database; with pushdown off, keys streamed through Python as for two databases). Then two
    source rows are deleted: ``count`` must find them, through the key comparison the counts trigger.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    out: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = run_bot(url, Path(tmp), schema, batch, full=False)
            assert first["counts"]["inserted"] == rows, first
            variants = [("off", "1"), ("count", "1"), ("keys", "1"), ("keys", "0")]
            for check, push in variants:
                env = {"BENCH_DELETION_CHECK": check, "BENCH_PUSHDOWN": push}
                result = run_bot(url, Path(tmp), schema, batch, full=False, env=env)
                assert result["counts"]["gone"] == 0 and result["counts"]["read"] == 0, result
                name = f"{check}{'' if push == '1' else '_streamed_keys'}"
                out[f"incremental_{name}_seconds"] = result["seconds"]
                out[f"incremental_{name}_check_seconds"] = result["timings"].get("deletion_check", 0.0)
            _sql(engine, f"DELETE FROM {schema}.src WHERE id IN (7, {rows // 2})")
            for check, push in (("count", "1"), ("count", "0")):
                env = {"BENCH_DELETION_CHECK": check, "BENCH_PUSHDOWN": push}
                found = run_bot(url, Path(tmp), schema, batch, full=False, env=env)
                assert found["gone"] == ["7", str(rows // 2)], found
                name = "anti_join" if push == "1" else "streamed_keys"
                out[f"incremental_count_after_deletes_{name}_check_seconds"] = found["timings"]["deletion_check"]
        out["deletion_check_rows"] = rows
        base = out["incremental_off_seconds"]
        out["deletion_check_ratios_vs_off"] = {
            k.removeprefix("incremental_").removesuffix("_seconds"): round(v / base, 2)
            for k, v in out.items()
            if k.startswith("incremental_") and k.endswith("_seconds") and "check" not in k
        }
    finally:
        engine.dispose()
    return out


def bench_mariadb(pg_url: str, mysql_url: str, schema: str, rows: int, batch: int) -> dict[str, Any]:
    """PostgreSQL → MariaDB: the bot against a raw multi-row INSERT ... ON DUPLICATE KEY UPDATE of the same rows."""
    import datetime as dt

    import sqlalchemy as sa

    pg = sa.create_engine(pg_url)
    maria = sa.create_engine(mysql_url)
    name = f"bench_migrate_{os.getpid()}"
    ddl = "(id bigint PRIMARY KEY, amount decimal(12,2), code varchar(12), updated_at datetime) CHARACTER SET utf8mb4"
    try:
        with maria.begin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
            conn.exec_driver_sql(f"CREATE TABLE {name}.raw {ddl}")
            conn.exec_driver_sql(f"CREATE TABLE {name}.dst {ddl}")
        sample = [(i, a, c, u.astimezone(dt.UTC).replace(tzinfo=None)) for i, a, c, u in _source_rows(pg, schema, rows)]
        raw = maria.raw_connection()
        try:
            t = time.perf_counter()
            with raw.cursor() as cur:
                for i in range(0, len(sample), batch):
                    cur.executemany(
                        f"INSERT INTO {name}.raw VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                        "amount = VALUES(amount), code = VALUES(code), updated_at = VALUES(updated_at)",
                        sample[i : i + batch],
                    )
                    raw.commit()
            raw_s = time.perf_counter() - t
        finally:
            raw.close()
        _sql(pg, f"DELETE FROM {schema}.src WHERE id > {rows}")
        with tempfile.TemporaryDirectory() as tmp:
            bot = run_bot(pg_url, Path(tmp), schema, batch, full=False, target=(mysql_url, f"{name}.dst"))
        assert bot["counts"]["inserted"] == len(sample), bot
        with maria.connect() as conn:
            same = conn.exec_driver_sql(
                f"SELECT count(*) FROM {name}.raw r JOIN {name}.dst d USING (id) WHERE r.amount = d.amount "
                "AND r.code = d.code AND r.updated_at = d.updated_at"
            ).scalar_one()
        assert same == len(sample), f"bot and raw baseline disagree on {len(sample) - same} rows"
        return {
            "mariadb_rows": len(sample),
            "mariadb_raw_multirow_upsert_rows_per_s": len(sample) / raw_s,
            "mariadb_bot_rows_per_s": len(sample) / bot["seconds"],
            "mariadb_bot_timings_s": bot["timings"],
        }
    finally:
        with maria.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        maria.dispose()
        pg.dispose()


def bench_sandbox_targets(rest_records: int, form_records: int, pages: int) -> dict[str, float]:
    """Records/s into the sandbox: billing's REST API (PUT per record) and the CRM's web form."""
    from backroom.bots.migrate import Config, Migrate, MigrateParams
    from backroom.bots.sdk.browser import chromium_executable
    from backroom.bots.sdk.testing import make_context
    from backroom.sandbox import billing, crm
    from backroom.sandbox.demo_migrate import CRM_FORM_PROFILE
    from backroom.sandbox.server import start

    out: dict[str, float] = {}
    if not rest_records and not form_records:
        return out
    b = start(billing.create_app(seed=3, customers=max(rest_records, form_records), months=1))
    c = start(crm.create_app(seed=3, customers=max(rest_records, form_records)))
    env = {"BT": billing.TOKEN, "CT": crm.TOKEN, "CP": crm.PASSWORD}
    systems = {
        "billing": {"kind": "http", "url": b.url, "token": "env:BT", "concurrency": 8},
        "crm": {
            "kind": "browser",
            "url": c.url,
            "token": "env:CT",
            "username": "agent",
            "password": "env:CP",
            "profile": CRM_FORM_PROFILE,
        },
    }
    cfg = Config.model_validate(
        {
            "migrations": {
                "to_billing": {
                    "source": {"kind": "rest", "system": "crm", "path": "/api/customers", "page_size": 500},
                    "target": {"kind": "rest", "system": "billing", "path": "/api/customers"},
                    "key": "customer_no",
                    "batch_size": 500,
                    "fields": {"customer_no": "customer_no", "city": {"const": "基准市"}},
                },
                "to_crm": {
                    "source": {"kind": "rest", "system": "billing", "path": "/api/bills", "page_size": 100},
                    "target": {"kind": "form", "system": "crm", "pages": pages},
                    "key": "customer_no",
                    "batch_size": 100,
                    "fields": {
                        "customer_no": "customer_no",
                        "last_bill_no": "bill_no",
                        "last_bill_month": "month",
                        "last_bill_amount": {"from": "amount", "type": "decimal"},
                    },
                },
            }
        }
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = make_context(Path(tmp), "migrate", systems=systems, config=cfg, environ=env)
            t = time.perf_counter()
            r = Migrate().run(ctx, MigrateParams(name="to_billing", max_batches=max(1, rest_records // 500)))
            out["rest_target_records_per_s"] = r.counts["updated"] / (time.perf_counter() - t)
            if form_records and chromium_executable():
                # only the first form_records bills: one batch of that size
                cfg.migrations["to_crm"].batch_size = form_records
                cfg.migrations["to_crm"].source.page_size = form_records  # type: ignore[union-attr]
                ctx = make_context(Path(tmp), "migrate", systems=systems, config=cfg, environ=env)
                t = time.perf_counter()
                r = Migrate().run(ctx, MigrateParams(name="to_crm", max_batches=1))
                out["form_target_records_per_s"] = r.counts["updated"] / (time.perf_counter() - t)
                out["form_target_pages"] = pages
    finally:
        b.stop()
        c.stop()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000, help="rows for the ORM baseline")
    parser.add_argument("--executemany-rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--url", default=os.environ.get("BACKROOM_TEST_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--rest-records", type=int, default=1000, help="records PUT to the billing sandbox")
    parser.add_argument("--form-records", type=int, default=30, help="records saved through the CRM form")
    parser.add_argument("--pages", type=int, default=4, help="browser pages for the form target")
    parser.add_argument("--no-sandbox", action="store_true", help="skip the REST and web-form sandbox targets")
    parser.add_argument("--mysql-url", default=os.environ.get("BACKROOM_TEST_MYSQL_URL"), help="MariaDB target")
    parser.add_argument("--mariadb-rows", type=int, default=50_000, help="rows PostgreSQL → MariaDB")
    parser.add_argument(
        "--deletion-check-only", action="store_true", help="only what finding source deletions costs at --rows"
    )
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    engine = sa.create_engine(args.url)
    schema = f"bench_migrate_{os.getpid()}"
    figures: dict[str, Any] = {"rows": args.rows, "batch": args.batch, "cpus": os.cpu_count()}
    if args.deletion_check_only:
        try:
            _tables(engine, schema, args.rows)
            figures.update(bench_deletion_check(args.url, schema, args.batch, args.rows))
        finally:
            _sql(engine, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            engine.dispose()
        print(json.dumps(figures, indent=1))
        return figures
    try:
        _tables(engine, schema, args.rows)
        sample = _source_rows(engine, schema, args.rows)  # the raw paths move every row, like the bot
        figures.update(bench_copy_and_merge(engine, schema, sample, args.batch))
        figures["orm_per_row_rows_per_s"] = bench_orm(engine, schema, sample[: args.baseline_rows])
        figures["executemany_rows_per_s"] = bench_executemany(engine, schema, sample[: args.executemany_rows], 5000)
        del sample
        with tempfile.TemporaryDirectory() as tmp:
            first = run_bot(args.url, Path(tmp), schema, args.batch, full=False)
            rerun = run_bot(args.url, Path(tmp), schema, args.batch, full=True)
            incremental = run_bot(args.url, Path(tmp), schema, args.batch, full=False)
        assert first["counts"]["inserted"] == args.rows, first
        assert rerun["counts"]["unchanged"] == args.rows and rerun["counts"]["updated"] == 0, rerun
        figures["bot_first_run_rows_per_s"] = args.rows / first["seconds"]
        figures["bot_first_run_seconds"] = first["seconds"]
        figures["bot_rerun_unchanged_rows_per_s"] = args.rows / rerun["seconds"]
        figures["bot_rerun_unchanged_seconds"] = rerun["seconds"]
        figures["bot_rerun_incremental_seconds"] = incremental["seconds"]
        figures["bot_peak_rss_mb"] = round(first["peak_rss_mb"], 1)
        figures["bot_first_run_timings_s"] = first["timings"]
        # memory flat: the same bot on a tenth of the rows
        small = max(1, args.rows // 10)
        _sql(engine, f"DELETE FROM {schema}.src WHERE id > {small}")
        _fresh_target(engine, schema, "dst")
        _sql(engine, f"DROP TABLE IF EXISTS {schema}.backroom_migrate_state")
        with tempfile.TemporaryDirectory() as tmp:
            tenth = run_bot(args.url, Path(tmp), schema, args.batch, full=False)
        assert tenth["counts"]["inserted"] == small, tenth
        figures["bot_peak_rss_mb_at_tenth_rows"] = round(tenth["peak_rss_mb"], 1)
        # what the proof costs: the same first run without reading batches back
        _fresh_target(engine, schema, "dst")
        _sql(engine, f"DROP TABLE IF EXISTS {schema}.backroom_migrate_state")
        with tempfile.TemporaryDirectory() as tmp:
            no_proof = run_bot(args.url, Path(tmp), schema, args.batch, full=False, proof=False)
        figures["bot_first_run_without_proof_rows_per_s_at_tenth_rows"] = small / no_proof["seconds"]
        _fresh_target(engine, schema, "dst")
        _sql(engine, f"DROP TABLE IF EXISTS {schema}.backroom_migrate_state")
        with tempfile.TemporaryDirectory() as tmp:
            with_proof = run_bot(args.url, Path(tmp), schema, args.batch, full=False, proof=True)
        figures["bot_first_run_with_proof_rows_per_s_at_tenth_rows"] = small / with_proof["seconds"]
        figures["bot_first_run_path"] = first["path"]
        if args.mysql_url:
            figures.update(bench_mariadb(args.url, args.mysql_url, schema, min(args.mariadb_rows, small), args.batch))
    finally:
        _sql(engine, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()

    if not args.no_sandbox:
        figures.update(bench_sandbox_targets(args.rest_records, args.form_records, args.pages))
    bot = figures["bot_first_run_rows_per_s"]
    figures["ratios"] = {
        "bot_vs_orm_per_row": bot / figures["orm_per_row_rows_per_s"],
        "bot_vs_executemany": bot / figures["executemany_rows_per_s"],
        "raw_staging_merge_vs_bot": figures["raw_staging_merge_rows_per_s"] / bot,
        "rerun_unchanged_speedup": figures["bot_first_run_seconds"] / figures["bot_rerun_unchanged_seconds"],
        "rerun_incremental_speedup": figures["bot_first_run_seconds"] / figures["bot_rerun_incremental_seconds"],
        "memory_full_vs_tenth": figures["bot_peak_rss_mb"] / figures["bot_peak_rss_mb_at_tenth_rows"],
    }
    if "mariadb_bot_rows_per_s" in figures:
        figures["ratios"]["mariadb_raw_vs_bot"] = (
            figures["mariadb_raw_multirow_upsert_rows_per_s"] / figures["mariadb_bot_rows_per_s"]
        )
    figures["goals"] = {
        "bot_rows_per_s_ge_60000": bot >= 60_000,
        "within_1_5x_of_raw_staging_merge": figures["ratios"]["raw_staging_merge_vs_bot"] <= 1.5,
        "pg_to_pg_within_2x_of_raw_copy_staging_merge": figures["ratios"]["raw_staging_merge_vs_bot"] <= 2,
        "rerun_ge_5x_faster": figures["ratios"]["rerun_unchanged_speedup"] >= 5,
        "memory_lt_300mb": figures["bot_peak_rss_mb"] < 300,
    }
    for key, value in list(figures.items()):
        if isinstance(value, float):
            figures[key] = round(value, 1)
    figures["ratios"] = {k: round(v, 2) for k, v in figures["ratios"].items()}
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()

"""Nothing lost silently, on real PostgreSQL and MariaDB: ties, the target as the truth, pending rejects.

Each case here was a silent loss before: a row tying the last one of a page on cursor and key was
never read; a full re-read trusted Backroom's own fingerprints while the target was empty; rejected
rows were passed by the position and never came back; rows deleted at the source stayed in the
target without a word.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context
from tests.fixtures.migrate import PgSchema

pytestmark = pytest.mark.slow


@pytest.fixture
def migrate_maria(mysql_url: str) -> Iterator[PgSchema]:
    """A throw-away MariaDB database (utf8mb4), addressed as ``<db>.<table>`` like the PG schemas."""
    import sqlalchemy as sa

    engine = sa.create_engine(mysql_url)
    name = f"mig_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield PgSchema(mysql_url, name, engine)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name}")
        engine.dispose()


@pytest.fixture(params=["postgres", "mariadb"])
def db(request: pytest.FixtureRequest) -> PgSchema:
    return request.getfixturevalue("migrate_pg" if request.param == "postgres" else "migrate_maria")


def _stamp(db: PgSchema) -> str:
    return "DATETIME" if db.engine.dialect.name == "mysql" else "TIMESTAMP"


def _tables(db: PgSchema, *, source_key: str = "PRIMARY KEY", name_length: int = 50) -> None:
    db.sql(
        f"CREATE TABLE {db.t('src')} (id INTEGER {source_key}, name VARCHAR(100), amount VARCHAR(20), "
        f"updated_at {_stamp(db)})"
    )
    db.sql(
        f"CREATE TABLE {db.t('dst')} (id INTEGER PRIMARY KEY, name VARCHAR({name_length}) NOT NULL, "
        "amount NUMERIC(12,2))"
    )


def _insert(db: PgSchema, rows: list[tuple[int, str, str, str]]) -> None:
    for i, name, amount, stamp in rows:
        db.sql(f"INSERT INTO {db.t('src')} VALUES (:i, :n, :a, :u)", i=i, n=name, a=amount, u=stamp)


def _config(db: PgSchema, *, batch: int = 10, mode: str = "upsert", **extra: Any) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "updated_at"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                    "key": "id",
                    "mode": mode,
                    "batch_size": batch,
                    "max_reject_ratio": 1.0,
                    "fields": {
                        "id": "id",
                        "name": {"from": "name", "required": True},
                        "amount": {"from": "amount", "type": "decimal"},
                    },
                    **extra,
                }
            }
        }
    )


def _run(tmp_path: Path, db: PgSchema, cfg: Config, **params: Any) -> Any:
    ctx = make_context(tmp_path, "migrate", systems={"db": {"kind": "sql", "url": db.url}}, config=cfg)
    try:
        return Migrate().run(ctx, MigrateParams(name="m", **params))
    finally:
        ctx.close()


def _count(db: PgSchema) -> int:
    return int(db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0])


def _rows(n: int, stamp: str = "2024-03-01 08:00:{:02d}") -> list[tuple[int, str, str, str]]:
    return [(i, f"客户{i}𠮷", f"{i}.50", stamp.format(i)) for i in range(1, n + 1)]


def test_a_row_tying_the_last_of_a_page_is_read_and_a_duplicated_key_is_rejected(tmp_path: Path, db: PgSchema) -> None:
    _tables(db, source_key="")  # the source does not stop a duplicated key
    _insert(db, [*_rows(10), (10, "另一个客户10", "99.00", "2024-03-01 08:00:10")])  # 11 rows, row 10 twice
    result = _run(tmp_path, db, _config(db, batch=10))
    assert result.counts["read"] == 11  # before: "read: 10", the 11th row never seen
    assert result.counts["inserted"] == 9 and result.counts["rejected"] == 2
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')} WHERE id = 10")[0][0] == 0  # neither copy guessed
    lines = list(load_workbook(result.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
    assert {line[1] for line in lines} == {"10"} and all("duplicate source key 10" in line[3] for line in lines)
    assert {line[2] for line in lines} == {"id"}
    assert result.counts["pending"] == 1

    # the duplicate stays pending on every run until the source is fixed; then it passes
    again = _run(tmp_path, db, _config(db, batch=10))
    assert again.counts["retried"] == 1 and again.counts["rejected"] == 2 and again.counts["pending"] == 1
    db.sql(f"DELETE FROM {db.t('src')} WHERE id = 10 AND amount = '99.00'")
    fixed = _run(tmp_path, db, _config(db, batch=10))
    assert fixed.counts["retried_passed"] == 1 and fixed.counts["inserted"] == 1 and fixed.counts["pending"] == 0
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 10")[0][0] == "客户10𠮷"
    assert _count(db) == 10


def test_full_and_verify_compare_with_the_target_and_repair_it(tmp_path: Path, db: PgSchema) -> None:
    _tables(db)
    _insert(db, _rows(45))
    assert _run(tmp_path, db, _config(db)).counts["inserted"] == 45
    db.sql(f"DELETE FROM {db.t('dst')}")  # the target was emptied behind Backroom's back
    full = _run(tmp_path, db, _config(db), full=True)
    assert full.counts["inserted"] == 45 and full.counts["unchanged"] == 0  # before: "45 unchanged", 0 in target
    assert _count(db) == 45

    db.sql(f"UPDATE {db.t('dst')} SET name = '手工改了' WHERE id = 7")
    db.sql(f"DELETE FROM {db.t('dst')} WHERE id = 30")
    db.sql(f"INSERT INTO {db.t('dst')} VALUES (999, '源里没有', 1)")
    checked = _run(tmp_path, db, _config(db), verify=True)
    assert checked.counts["updated"] == 1 and checked.counts["inserted"] == 1 and checked.counts["unchanged"] == 43
    assert "verify: 1 missing and 1 differing rows in the target repaired" in checked.summary
    assert checked.counts["gone"] == 1 and checked.outputs["gone_from_source"] == ["999"]
    # PostgreSQL compares in the database (pushdown, keys by anti-join); MariaDB row by row
    assert checked.outputs["path"] == ("pushdown" if db.engine.dialect.name == "postgresql" else "rows")
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 7")[0][0] == "客户7𠮷"
    assert _count(db) == 46  # upsert mode keeps the extra row, and says so


def test_rejects_stay_pending_until_fixed_or_dropped(tmp_path: Path, db: PgSchema) -> None:
    _tables(db, name_length=12)
    rows = _rows(30)
    rows[4] = (5, "客户5", "n/a", rows[4][3])  # refused while mapping
    rows[11] = (12, "名字太长了" * 4, "12.50", rows[11][3])  # refused by the target (VARCHAR(12))
    rows[20] = (21, "客户21", "坏", rows[20][3])  # refused while mapping, dropped by the operator later
    _insert(db, rows)
    first = _run(tmp_path, db, _config(db))
    assert first.counts["inserted"] == 27 and first.counts["rejected"] == 3 and first.counts["pending"] == 3

    again = _run(tmp_path, db, _config(db))  # before: read 0, the rejects forgotten
    assert again.counts["retried"] == 3 and again.counts["rejected"] == 3 and again.counts["pending"] == 3

    # fixed at the source without touching the cursor column: the retry still finds them
    db.sql(f"UPDATE {db.t('src')} SET amount = '5.50' WHERE id = 5")
    db.sql(f"UPDATE {db.t('src')} SET name = '短名' WHERE id = 12")
    fixed = _run(tmp_path, db, _config(db))
    assert fixed.counts["retried_passed"] == 2 and fixed.counts["inserted"] == 2 and fixed.counts["pending"] == 1
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 12")[0][0] == "短名"

    dropped = _run(tmp_path, db, _config(db), drop_rejects="21")
    assert dropped.counts["pending_dropped"] == 1 and dropped.counts["pending"] == 0 and dropped.counts["read"] == 0
    assert _run(tmp_path, db, _config(db)).counts["retried"] == 0
    assert _count(db) == 29


def test_source_deletions_are_reported_in_upsert_and_applied_in_mirror(tmp_path: Path, db: PgSchema) -> None:
    _tables(db)
    _insert(db, _rows(40))
    _run(tmp_path, db, _config(db))
    db.sql(f"DELETE FROM {db.t('src')} WHERE id IN (3, 33)")
    upsert = _run(tmp_path, db, _config(db), full=True)
    assert upsert.counts["gone"] == 2 and upsert.outputs["gone_from_source"] == ["3", "33"]
    assert "2 target rows are no longer in the source" in upsert.summary
    assert _count(db) == 40  # kept: upsert never deletes
    mirror = _run(tmp_path, db, _config(db, mode="mirror"))
    assert mirror.counts["deleted"] == 2 and _count(db) == 38


def test_source_deletions_are_reported_by_incremental_upsert_runs(tmp_path: Path, db: PgSchema) -> None:
    _tables(db)
    _insert(db, _rows(40))
    assert _run(tmp_path, db, _config(db)).counts["gone"] == 0
    db.sql(f"DELETE FROM {db.t('src')} WHERE id IN (3, 33)")
    # an incremental run reads nothing new; before, it said nothing about the two deleted rows
    counted = _run(tmp_path, db, _config(db))
    assert counted.counts["read"] == 0
    assert counted.counts["gone"] == 2 and counted.outputs["gone_from_source"] == ["3", "33"]
    assert "2 target rows are no longer in the source" in counted.summary
    assert "deletion_check" in counted.outputs["timings_s"]
    assert _count(db) == 40  # upsert reports, never deletes

    # one deletion balanced by one new row that the target refuses: equal counts, but a pending
    # reject makes the count check compare the key sets
    db.sql(f"INSERT INTO {db.t('src')} VALUES (3, '客户3𠮷', '3.50', '2024-03-01 08:00:03')")
    db.sql(f"DELETE FROM {db.t('src')} WHERE id = 7")
    _insert(db, [(50, "客户50", "坏", "2024-03-01 09:00:00")])
    balanced = _run(tmp_path, db, _config(db))
    assert balanced.counts["rejected"] == 1 and balanced.counts["pending"] == 1
    assert balanced.outputs["gone_from_source"] == ["7", "33"]

    assert _run(tmp_path, db, _config(db, deletion_check="keys")).outputs["gone_from_source"] == ["7", "33"]
    # a key field that is mapped, not copied: the source keys go through its mapping first
    _decimal = {"amount": {"from": "amount", "type": "decimal"}}
    typed = {"id": {"from": "id", "type": "int"}, "name": {"from": "name", "required": True}, **_decimal}
    mapped = _run(tmp_path, db, _config(db, deletion_check="keys", fields=typed))
    assert mapped.outputs["gone_from_source"] == ["7", "33"]
    off = _run(tmp_path, db, _config(db, deletion_check="off"))
    assert off.counts["gone"] == 0 and "deletion_check" not in off.outputs["timings_s"]


def test_the_count_check_reads_no_keys_when_nothing_was_deleted(tmp_path: Path, db: PgSchema) -> None:
    from backroom.bots.migrate.pushdown import Plan
    from backroom.bots.migrate.sources import SqlReader

    _tables(db)
    _insert(db, _rows(20))
    _run(tmp_path, db, _config(db))
    calls: list[str] = []
    read_keys, anti_join = SqlReader.key_rows, Plan.gone_keys

    def spy_keys(self: SqlReader, columns: Any) -> Any:
        calls.append("key set")
        return read_keys(self, columns)

    def spy_join(self: Plan, *args: Any) -> Any:
        calls.append("key set")
        return anti_join(self, *args)

    SqlReader.key_rows, Plan.gone_keys = spy_keys, spy_join  # type: ignore[method-assign]
    try:
        quiet = _run(tmp_path, db, _config(db))
        assert quiet.counts["gone"] == 0 and calls == []  # two count(*)s agreed: no key read
        keyed = _run(tmp_path, db, _config(db, deletion_check="keys"))
        assert keyed.counts["gone"] == 0 and calls == ["key set"]
    finally:
        SqlReader.key_rows, Plan.gone_keys = read_keys, anti_join  # type: ignore[method-assign]


def test_the_in_database_proof_hashes_values_and_probes_the_types_first(tmp_path: Path, migrate_pg: PgSchema) -> None:
    """PostgreSQL: rows are hashed by value (hash_record_extended, no text printed per row) when
    every column's type has a hash function; a json column has none, and the text is hashed."""
    import json
    from types import SimpleNamespace

    import sqlalchemy as sa

    from backroom.bots.migrate.targets import SqlWriter

    db = migrate_pg
    _tables(db)
    _insert(db, _rows(12))
    probed: list[bool] = []
    original = SqlWriter._hashable_row

    def spy(self: SqlWriter, conn: Any) -> bool:
        probed.append(original(self, conn))
        return probed[-1]

    SqlWriter._hashable_row = spy  # type: ignore[method-assign]
    try:
        result = _run(tmp_path, db, _config(db))
    finally:
        SqlWriter._hashable_row = original  # type: ignore[method-assign]
    assert result.counts["inserted"] == 12 and probed and all(probed)
    proof = json.loads(Path(result.outputs["proof_file"]).read_text(encoding="utf-8"))["batches"][0]
    assert proof["source_checksum"] == proof["target_checksum"] and proof["differing"] == 0

    db.sql(f"CREATE TABLE {db.t('docs')} (id INTEGER PRIMARY KEY, body JSON)")
    with db.engine.begin() as conn:
        writer = SqlWriter.__new__(SqlWriter)
        writer.spec = SimpleNamespace(table=db.t("docs"))  # type: ignore[assignment]
        writer.columns = ["id", "body"]
        writer.table = sa.Table("docs", sa.MetaData(), schema=db.t("docs").split(".")[0], autoload_with=conn)
        assert writer._hashable_row(conn) is False
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1  # the failed probe left the transaction usable

"""SQL → SQL migrations on real databases: SQLite (executemany path) and PostgreSQL (COPY path)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.migrate.targets import ProofError
from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.sdk.testing import make_context

SRC_DDL = """CREATE TABLE {src} (id INTEGER PRIMARY KEY, name TEXT, amount TEXT, phone TEXT,
             status TEXT, updated_at TIMESTAMP)"""
DST_DDL = """CREATE TABLE {dst} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(12,2),
             phone VARCHAR(20), status TEXT, updated_at {tstz})"""


def fields() -> dict[str, Any]:
    return {
        "id": "id",
        "name": {"from": "name", "required": True},
        "amount": {"from": "amount", "type": "decimal", "min": 0},
        "phone": {"from": "phone", "phone": "CN"},
        "status": {"from": "status", "map": {"P": "paid", "U": "unpaid"}},
        "updated_at": {"from": "updated_at", "type": "datetime", "tz": "Asia/Shanghai"},
    }


def config(db: Any, mode: str = "upsert", batch: int = 40, **extra: Any) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "updated_at"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                    "key": "id",
                    "mode": mode,
                    "batch_size": batch,
                    "fields": fields(),
                    **extra,
                }
            }
        }
    )


def seed(db: Any, n: int = 100) -> None:
    db.sql(SRC_DDL.format(src=db.t("src")))
    db.sql(DST_DDL.format(dst=db.t("dst"), tstz="TIMESTAMP" if db.schema == "main" else "TIMESTAMPTZ"))
    for i in range(1, n + 1):
        db.sql(
            f"INSERT INTO {db.t('src')} VALUES (:i, :n, :a, :p, :s, :u)",
            i=i,
            n=f"客户{i}",
            a=f"{i}.50",
            p=f"138 0013 {i:04d}",
            s="P" if i % 2 else "U",
            u=f"2024-03-01 08:{i // 60:02d}:{i % 60:02d}",
        )


def run(tmp_path: Path, db: Any, cfg: Config, *, dry: bool = False, **params: Any) -> Any:
    ctx = make_context(tmp_path, "migrate", systems={"db": {"kind": "sql", "url": db.url}}, config=cfg, dry_run=dry)
    try:
        return Migrate().run(ctx, MigrateParams(name="m", **params)), ctx
    finally:
        ctx.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Any:
    if request.param == "sqlite":
        return request.getfixturevalue("migrate_sqlite")
    return request.getfixturevalue("migrate_pg")


def test_full_then_incremental_upsert_with_rejects_and_proof(tmp_path: Path, db: Any) -> None:
    seed(db)
    db.sql(f"UPDATE {db.t('src')} SET amount = 'n/a' WHERE id = 7")
    db.sql(f"UPDATE {db.t('src')} SET phone = '12345' WHERE id = 8")
    result, _ctx = run(tmp_path, db, config(db, max_reject_ratio=0.5))
    assert result.status == "succeeded"
    assert result.counts["read"] == 100 and result.counts["inserted"] == 98 and result.counts["rejected"] == 2
    assert result.counts["batches"] == 3
    row = db.sql(f"SELECT amount, phone, status, updated_at FROM {db.t('dst')} WHERE id = 5")[0]
    assert Decimal(str(row[0])) == Decimal("5.50") and row[1] == "+8613800130005" and row[2] == "paid"
    book = load_workbook(result.outputs["rejects_file"])
    lines = list(book.active.iter_rows(values_only=True))[1:]
    reasons = {line[2]: line[3] for line in lines}
    assert "amount" in reasons and "'n/a' is not a number" in reasons["amount"]
    assert "phone" in reasons and "12345" in reasons["phone"]
    assert '"name": "客户7"' in next(line[4] for line in lines if line[2] == "amount")
    proof = Path(result.outputs["proof_file"]).read_text()
    assert '"source_checksum"' in proof and '"target_count": 40' in proof

    # nothing changed → only the two pending rejects are read again (the cursor is past everything)
    again, _ = run(tmp_path, db, config(db, max_reject_ratio=0.5))
    assert again.counts["read"] == 2 and again.counts["retried"] == 2 and again.counts["pending"] == 2
    # two rows change in the source: only they (and the pending rejects) are read; they are updated
    db.sql(f"UPDATE {db.t('src')} SET name = '新名字', updated_at = '2024-04-01 00:00:00' WHERE id IN (3, 4)")
    inc, _ = run(tmp_path, db, config(db, max_reject_ratio=0.5))
    assert inc.counts["read"] == 4 and inc.counts["updated"] == 2 and inc.counts["inserted"] == 0
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 3")[0][0] == "新名字"
    # a full re-read finds every row unchanged and rewrites none
    full, _ = run(tmp_path, db, config(db, max_reject_ratio=0.5), full=True)
    assert full.counts["unchanged"] == 98 and full.counts["updated"] == 0 and full.counts["inserted"] == 0


def test_reject_ratio_fails_the_run(tmp_path: Path, db: Any) -> None:
    seed(db, 20)
    db.sql(f"UPDATE {db.t('src')} SET status = 'X' WHERE id <= 5")
    result, _ = run(tmp_path, db, config(db, max_reject_ratio=0.1))
    assert result.status == "failed" and "reject ratio 25.0%" in result.summary
    assert result.counts["inserted"] == 15  # the good rows still moved


def test_dry_run_reports_changes_without_writing(tmp_path: Path, db: Any) -> None:
    seed(db, 30)
    run(tmp_path, db, config(db))
    db.sql(f"UPDATE {db.t('src')} SET amount = '99.99', updated_at = '2024-05-01' WHERE id = 4")
    db.sql(f"INSERT INTO {db.t('src')} VALUES (31, '新客户', '1', '13800138031', 'P', '2024-05-02')")
    result, ctx = run(tmp_path, db, config(db), dry=True)
    assert result.counts["inserted"] == 1 and result.counts["updated"] == 1
    assert result.outputs["diff_samples"]["amount"] == [["4", "4.50", "99.99"]]
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 30
    assert Decimal(str(db.sql(f"SELECT amount FROM {db.t('dst')} WHERE id = 4")[0][0])) == Decimal("4.50")
    assert (ctx.artifacts_dir / "m-dry-run.xlsx").exists()
    # the dry run did not move the cursor: the real run still sees both rows
    real, _ = run(tmp_path, db, config(db))
    assert real.counts["inserted"] == 1 and real.counts["updated"] == 1


def test_schema_drift_missing_column_fails_before_any_write(tmp_path: Path, db: Any) -> None:
    seed(db, 10)
    run(tmp_path, db, config(db))
    db.sql(f"ALTER TABLE {db.t('src')} ADD COLUMN email TEXT")
    added, _ = run(tmp_path, db, config(db))
    assert "new ['email']" in added.summary and added.outputs["schema"]["new_since_last_run"] == ["email"]
    db.sql(f"DELETE FROM {db.t('dst')}")
    db.sql(f"ALTER TABLE {db.t('src')} DROP COLUMN phone")
    with pytest.raises(ConfigError, match=r"'phone' \(used by phone\)"):
        run(tmp_path, db, config(db), full=True)
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 0
    db.sql(f"ALTER TABLE {db.t('dst')} DROP COLUMN status")
    cfg = config(db)
    del cfg.migrations["m"].fields["phone"]
    with pytest.raises(ConfigError, match=r"target table .* has no column\(s\) \['status'\]"):
        run(tmp_path, db, cfg, full=True)
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 0


def test_unique_key_violation_rejects_only_that_row(tmp_path: Path, db: Any) -> None:
    seed(db, 20)
    on = "dst" if db.schema == "main" else db.t("dst")
    db.sql(f"CREATE UNIQUE INDEX uq_phone ON {on} (phone)")
    db.sql(f"UPDATE {db.t('src')} SET phone = '13800130003' WHERE id = 12")
    result, _ = run(tmp_path, db, config(db, batch=50))
    assert result.counts["inserted"] == 19 and result.counts["rejected"] == 1
    book = load_workbook(result.outputs["rejects_file"])
    line = list(book.active.iter_rows(values_only=True))[1]
    assert line[1] == "12" and "target refused the row" in line[3] and "phone" in line[3].lower()
    assert line[2] == "phone"  # the column at fault, not the key


def test_mirror_deletes_vanished_rows_within_the_ratio(tmp_path: Path, db: Any) -> None:
    seed(db, 50)
    run(tmp_path, db, config(db, mode="mirror"))
    db.sql(f"DELETE FROM {db.t('src')} WHERE id IN (1, 2)")
    dry, _ = run(tmp_path, db, config(db, mode="mirror"), dry=True)
    assert dry.counts["deleted"] == 2 and dry.counts["unchanged"] == 48
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 50
    done, _ = run(tmp_path, db, config(db, mode="mirror"))
    assert done.counts["deleted"] == 2 and db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 48
    db.sql(f"DELETE FROM {db.t('src')} WHERE id <= 20")
    refused, _ = run(tmp_path, db, config(db, mode="mirror", max_delete_ratio=0.2))
    assert refused.status == "failed" and "REFUSED to delete 18 of 48" in refused.summary
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 48


def test_append_mode_and_lookup_and_concat(tmp_path: Path, db: Any) -> None:
    seed(db, 5)
    db.sql(f"CREATE TABLE {db.t('status_names')} (code TEXT PRIMARY KEY, label TEXT)")
    db.sql(f"INSERT INTO {db.t('status_names')} VALUES ('P', '已缴'), ('U', '未缴')")
    db.sql(f"CREATE TABLE {db.t('log')} (id INTEGER, label TEXT, line TEXT)")
    cfg = Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "query": f"SELECT * FROM {db.t('src')}"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("log")},
                    "key": "id",
                    "mode": "append",
                    "fields": {
                        "id": "id",
                        "label": {
                            "from": "status",
                            "lookup": {"system": "db", "table": db.t("status_names"), "key": "code", "value": "label"},
                        },
                        "line": {"concat": ["name", "status"], "sep": "-"},
                    },
                }
            }
        }
    )
    first, _ = run(tmp_path, db, cfg)
    assert first.counts["inserted"] == 5
    assert db.sql(f"SELECT label, line FROM {db.t('log')} WHERE id = 1")[0] == ("已缴", "客户1-P")
    # the key is an increasing id: a second run appends only the new row, never duplicates
    db.sql(f"INSERT INTO {db.t('src')} VALUES (6, 'x', '1', '13800138006', 'U', '2024-01-01')")
    second, _ = run(tmp_path, db, cfg)
    assert second.counts["inserted"] == 1
    assert db.sql(f"SELECT count(*), count(DISTINCT id) FROM {db.t('log')}")[0] == (6, 6)


@pytest.mark.postgres
def test_target_down_mid_batch_commits_nothing_of_it_and_rerun_completes(tmp_path: Path, migrate_pg: Any) -> None:
    db = migrate_pg
    seed(db, 100)
    # the target's connection dies while the third batch is being written (once)
    db.sql(f"CREATE SEQUENCE {db.t('once')}")
    db.sql(
        f"""CREATE FUNCTION {db.t("die")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 95 AND nextval('{db.t("once")}') = 1 THEN
          PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$"""
    )
    db.sql(f"CREATE TRIGGER die BEFORE INSERT ON {db.t('dst')} FOR EACH ROW EXECUTE FUNCTION {db.t('die')}()")
    with pytest.raises(TransientError, match="mid-batch"):
        run(tmp_path, db, config(db))
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 80
    again, _ = run(tmp_path, db, config(db))
    assert again.counts["read"] == 20 and again.counts["inserted"] == 20
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 100


@pytest.mark.postgres
@pytest.mark.parametrize("fast", [True, False])
def test_proof_fails_when_the_target_silently_changes_values(tmp_path: Path, migrate_pg: Any, fast: bool) -> None:
    db = migrate_pg
    seed(db, 30)
    # a trigger the bot cannot know about changes one value on its way in
    db.sql(
        f"""CREATE FUNCTION {db.t("meddle")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 17 THEN NEW.name := NEW.name || '!'; END IF; RETURN NEW; END $$"""
    )
    db.sql(f"CREATE TRIGGER meddle BEFORE INSERT ON {db.t('dst')} FOR EACH ROW EXECUTE FUNCTION {db.t('meddle')}()")
    cfg = config(db)
    cfg.migrations["m"].target.fast_path = fast  # type: ignore[union-attr]
    with pytest.raises(ProofError, match=r"keys that differ: \[\('17',\)\]") as err:
        run(tmp_path, db, cfg)
    assert err.value.keys == [("17",)]
    assert "key 17 field name: sent '客户17', read back '客户17!'" in str(err.value)
    # the failing batch was rolled back with its position: rows 1..40 are not in the target
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 0


@pytest.mark.postgres
def test_full_reread_skips_batches_whose_fingerprint_is_unchanged(tmp_path: Path, migrate_pg: Any) -> None:
    db = migrate_pg
    seed(db, 100)
    first, _ = run(tmp_path, db, config(db, fingerprints=True))
    assert first.counts["inserted"] == 100
    again, _ = run(tmp_path, db, config(db, fingerprints=True), full=True)
    assert again.counts["unchanged"] == 100 and again.counts["batches"] == 3
    assert Path(again.outputs["proof_file"]).read_text().count('"batch"') == 0  # nothing needed reading
    # one row changes in the middle batch without touching updated_at (no cursor would notice)
    db.sql(f"UPDATE {db.t('src')} SET name = '悄悄改了' WHERE id = 55")
    db.sql(f"UPDATE {db.t('dst')} SET name = '手工改了' WHERE id = 95")  # the target was edited by hand
    found, _ = run(tmp_path, db, config(db, fingerprints=True), full=True)
    assert found.counts["updated"] == 1 and found.counts["unchanged"] == 99
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 55")[0][0] == "悄悄改了"
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 95")[0][0] == "手工改了"
    # verify ignores fingerprints: every row is compared with the target, and the hand edit is repaired
    repaired, _ = run(tmp_path, db, config(db, fingerprints=True), verify=True)
    assert repaired.counts["updated"] == 1 and repaired.counts["unchanged"] == 99
    assert db.sql(f"SELECT name FROM {db.t('dst')} WHERE id = 95")[0][0] == "客户95"

"""PostgreSQL → PostgreSQL with the mapping pushed into SQL gives what the row-by-row path gives.

The same source goes once through the pushdown (COPY source → staging, mapping in SQL) and once
row by row in Python into a second table: the tables, counts, rejects and pending rejects must be
equal. The source mixes clean rows with rows only Python can judge (surrounding spaces, thousands
separators, a full-width space, too many decimals, not a number, a missing name), and a duplicated
key that makes the pushdown hand the rest of the run to the row path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context
from tests.fixtures.migrate import PgSchema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ODD = {
    5: ("客户5", " 5.50 "),  # spaces: Python strips them
    6: ("客户6", "1,234.50"),  # a thousands separator: Python reads it
    7: ("客户7\u3000", "7.50"),  # a full-width space at the end: Python strips it
    8: ("客户8", "8.505"),  # three decimals into NUMERIC(12,2): refused, column named
    9: ("客户9", "n/a"),  # not a number: rejected
    10: (None, "10.50"),  # no name (NOT NULL): rejected
    11: ("客户11", "-3.00"),  # below min 0: rejected
}


def _config(db: PgSchema, table: str, pushdown: bool, batch: int = 40) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                table: {  # one migration per target table: their positions and pending books differ
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "updated_at"},
                    "target": {"kind": "sql", "system": "db", "table": db.t(table), "pushdown": pushdown},
                    "key": "id",
                    "batch_size": batch,
                    "max_reject_ratio": 1.0,
                    "fields": {
                        "id": "id",
                        "name": {"from": "name", "required": True, "max_length": 20},
                        "amount": {"from": "amount", "type": "decimal", "min": 0},
                        "updated_at": {"from": "updated_at", "type": "datetime", "tz": "Asia/Shanghai"},
                    },
                }
            }
        }
    )


def _run(tmp_path: Path, db: PgSchema, cfg: Config) -> Any:
    ctx = make_context(tmp_path, "migrate", systems={"db": {"kind": "sql", "url": db.url}}, config=cfg)
    try:
        return Migrate().run(ctx, MigrateParams(name=next(iter(cfg.migrations))))
    finally:
        ctx.close()


def _setup(db: PgSchema, n: int, *, source_key: str = "PRIMARY KEY") -> None:
    db.sql(f"CREATE TABLE {db.t('src')} (id INTEGER {source_key}, name TEXT, amount TEXT, updated_at TIMESTAMP)")
    for table in ("fast", "slow"):
        db.sql(
            f"CREATE TABLE {db.t(table)} (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, "
            "amount NUMERIC(12,2), updated_at TIMESTAMPTZ)"
        )
    db.sql(
        f"INSERT INTO {db.t('src')} SELECT g, '客户' || g, g || '.50', "
        f"timestamp '2024-03-01 08:00' + (g / 3) * interval '1 minute' FROM generate_series(1, {n}) g"
    )  # three rows share each updated_at: batches end inside ties
    for i, (name, amount) in ODD.items():
        db.sql(f"UPDATE {db.t('src')} SET name = :n, amount = :a WHERE id = :i", n=name, a=amount, i=i)


def _rejects(result: Any) -> dict[str, str]:
    if not result.outputs["rejects_file"]:
        return {}
    lines = list(load_workbook(result.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
    return {str(line[1] or line[0]): f"{line[2]}: {line[3]}" for line in lines}


def _both(tmp_path: Path, db: PgSchema, **cfg: Any) -> tuple[Any, Any]:
    fast = _run(tmp_path / "fast", db, _config(db, "fast", True, **cfg))
    slow = _run(tmp_path / "slow", db, _config(db, "slow", False, **cfg))
    return fast, slow


def _same_tables(db: PgSchema) -> None:
    fast = db.sql(f"SELECT id, name, amount, updated_at FROM {db.t('fast')} ORDER BY id")
    slow = db.sql(f"SELECT id, name, amount, updated_at FROM {db.t('slow')} ORDER BY id")
    assert fast == slow


def test_pushdown_equals_the_row_path_with_odd_rows_and_pending_retries(tmp_path: Path, migrate_pg: PgSchema) -> None:
    db = migrate_pg
    _setup(db, 200)
    fast, slow = _both(tmp_path, db)
    assert fast.outputs["path"] == "pushdown" and slow.outputs["path"] == "rows"
    assert fast.counts == slow.counts
    assert fast.counts["read"] == 200 and fast.counts["rejected"] == 4 and fast.counts["inserted"] == 196
    assert _rejects(fast) == _rejects(slow)
    assert set(_rejects(fast)) == {"8", "9", "10", "11"}
    assert "amount" in _rejects(fast)["8"] and "3 decimal places" in _rejects(fast)["8"]
    _same_tables(db)
    assert db.sql(f"SELECT name, amount FROM {db.t('fast')} WHERE id IN (5, 6, 7) ORDER BY id") == [
        ("客户5", pytest.approx(5.5)),
        ("客户6", pytest.approx(1234.5)),
        ("客户7", pytest.approx(7.5)),
    ]
    # fixed at the source, new rows added, one row changed: the retries and the increment agree too
    db.sql(f"UPDATE {db.t('src')} SET amount = '8.50' WHERE id = 8")
    db.sql(f"UPDATE {db.t('src')} SET name = '改名', updated_at = '2024-05-01' WHERE id = 100")
    new_rows = "SELECT g, '新' || g, '1.00', timestamp '2024-05-02' FROM generate_series(201, 230) g"
    db.sql(f"INSERT INTO {db.t('src')} {new_rows}")
    fast, slow = _both(tmp_path, db)
    assert fast.counts == slow.counts
    assert fast.counts["retried_passed"] == 1 and fast.counts["inserted"] == 31 and fast.counts["updated"] == 1
    assert fast.counts["pending"] == 3
    _same_tables(db)


def test_a_duplicated_key_hands_the_run_to_the_row_path(tmp_path: Path, migrate_pg: PgSchema) -> None:
    db = migrate_pg
    _setup(db, 120, source_key="")
    db.sql(f"INSERT INTO {db.t('src')} SELECT id, name || '副本', amount, updated_at FROM {db.t('src')} WHERE id = 50")
    fast, slow = _both(tmp_path, db)
    assert fast.outputs["path"] == "pushdown, then rows"
    assert fast.counts["read"] == slow.counts["read"] == 121
    assert fast.counts["rejected"] == slow.counts["rejected"] == 6  # 4 odd rows + both copies of id 50
    assert _rejects(fast) == _rejects(slow)
    _same_tables(db)

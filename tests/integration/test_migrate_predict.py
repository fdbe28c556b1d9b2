"""The dry run predicts the real run: rows the target's schema refuses are named, with their column.

Real PostgreSQL and MariaDB: the target's declared types (length, NOT NULL, precision and scale,
integer range, MariaDB's 3-byte ``utf8mb3``) are read once and each mapped row is judged by them, in
the dry run exactly as in the real run. Transforms make the refused rows fit on purpose (``round``),
and an aware time reaches a zone-less column as UTC or as a named zone's wall time (``to_tz``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.migrate.targets import ProofError
from backroom.bots.sdk.testing import make_context
from tests.fixtures.migrate import PgSchema
from tests.integration.test_migrate_safety import migrate_maria  # noqa: F401 - the MariaDB fixture

pytestmark = pytest.mark.slow


@pytest.fixture(params=["postgres", "mariadb"])
def db(request: pytest.FixtureRequest) -> PgSchema:
    return request.getfixturevalue("migrate_pg" if request.param == "postgres" else "migrate_maria")


def _maria(db: PgSchema) -> bool:
    return db.engine.dialect.name == "mysql"


def _config(db: PgSchema, amount: dict[str, Any] | None = None) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "id"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                    "key": "id",
                    "max_reject_ratio": 1.0,
                    "fields": {
                        "id": "id",
                        "name": "name",
                        "amount": amount or {"from": "amount", "type": "decimal"},
                        "qty": {"from": "qty", "type": "int"},
                        "note": "note",
                    },
                }
            }
        }
    )


def _run(tmp_path: Path, systems: dict[str, Any], cfg: Config, *, dry: bool = False, **params: Any) -> Any:
    ctx = make_context(tmp_path, "migrate", systems=systems, config=cfg, dry_run=dry)
    try:
        return Migrate().run(ctx, MigrateParams(name="m", **params))
    finally:
        ctx.close()


def test_dry_run_counts_equal_the_real_run_and_name_the_column(tmp_path: Path, db: PgSchema) -> None:
    narrow = " CHARACTER SET utf8mb3" if _maria(db) else ""
    db.sql(
        f"CREATE TABLE {db.t('src')} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount VARCHAR(20), "
        "qty VARCHAR(10), note VARCHAR(40))"
    )
    db.sql(
        f"CREATE TABLE {db.t('dst')} (id INTEGER PRIMARY KEY, name VARCHAR(8) NOT NULL, amount NUMERIC(6,2), "
        f"qty SMALLINT, note VARCHAR(20){narrow})"
    )
    rows = {i: (f"客户{i}", f"{i}.50", str(i), "备注") for i in range(1, 13)}
    rows[3] = (None, "3.50", "3", "备注")  # NOT NULL
    rows[4] = ("一二三四五六七八九", "4.50", "4", "备注")  # 9 characters into VARCHAR(8)
    rows[5] = ("客户5", "12.345", "5", "备注")  # 3 decimal places into NUMERIC(6,2)
    rows[6] = ("客户6", "12345.00", "6", "备注")  # out of NUMERIC(6,2)'s range
    rows[7] = ("客户7", "7.50", "40000", "备注")  # out of SMALLINT's range
    rows[8] = ("客户8", "8.50", "8", "吉𠮷")  # a 4-byte character: refused by utf8mb3 only
    for i, (name, amount, qty, note) in rows.items():
        db.sql(f"INSERT INTO {db.t('src')} VALUES (:i, :n, :a, :q, :o)", i=i, n=name, a=amount, q=qty, o=note)
    systems = {"db": {"kind": "sql", "url": db.url}}
    expected = {"3": "name", "4": "name", "5": "amount", "6": "amount", "7": "qty"} | (
        {"8": "note"} if _maria(db) else {}
    )

    dry = _run(tmp_path, systems, _config(db), dry=True)
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 0
    real = _run(tmp_path, systems, _config(db))
    for result in (dry, real):
        assert result.counts["rejected"] == len(expected)
        assert result.counts["inserted"] == 12 - len(expected)
        lines = list(load_workbook(result.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
        assert {line[1]: line[2] for line in lines} == expected
        reasons = {line[1]: line[3] for line in lines}
        assert "NOT NULL" in reasons["3"] and "at most 8" in reasons["4"]
        assert "12.345 has 3 decimal places" in reasons["5"] and "round = 2" in reasons["5"]
        assert "out of range" in reasons["6"] and "out of range" in reasons["7"]
    assert db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0] == 12 - len(expected)

    # rounding on purpose: 12.345 becomes 12.35 (half up) and passes on the pending retry
    fixed = _run(tmp_path, systems, _config(db, {"from": "amount", "type": "decimal", "round": 2}))
    assert fixed.counts["retried_passed"] == 1 and fixed.counts["pending"] == len(expected) - 1
    assert Decimal(str(db.sql(f"SELECT amount FROM {db.t('dst')} WHERE id = 5")[0][0])) == Decimal("12.35")


def test_aware_times_reach_a_zoneless_mariadb_column_as_utc_or_a_zones_wall_time(
    tmp_path: Path,
    migrate_pg: PgSchema,
    migrate_maria: PgSchema,  # noqa: F811 - the fixture imported above
) -> None:
    pg, maria = migrate_pg, migrate_maria
    pg.sql(f"CREATE TABLE {pg.t('src')} (id INTEGER PRIMARY KEY, at TIMESTAMPTZ)")
    pg.sql(f"INSERT INTO {pg.t('src')} VALUES (1, '2024-03-01 08:00:00+08'), (2, '2024-12-31 23:30:00+00')")
    maria.sql(f"CREATE TABLE {maria.t('dst')} (id INTEGER PRIMARY KEY, at_utc DATETIME, at_local DATETIME)")
    cfg = Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "pg", "table": pg.t("src"), "cursor": "id"},
                    "target": {"kind": "sql", "system": "maria", "table": maria.t("dst")},
                    "key": "id",
                    "fields": {"id": "id", "at_utc": "at", "at_local": {"from": "at", "to_tz": "Asia/Shanghai"}},
                }
            }
        }
    )
    systems = {"pg": {"kind": "sql", "url": pg.url}, "maria": {"kind": "sql", "url": maria.url}}
    result = _run(tmp_path, systems, cfg)  # before: the proof failed (PyMySQL dropped the offset)
    assert result.status == "succeeded" and result.counts["inserted"] == 2
    assert maria.sql(f"SELECT at_utc, at_local FROM {maria.t('dst')} ORDER BY id") == [
        (dt.datetime(2024, 3, 1, 0, 0), dt.datetime(2024, 3, 1, 8, 0)),
        (dt.datetime(2024, 12, 31, 23, 30), dt.datetime(2025, 1, 1, 7, 30)),
    ]
    again = _run(
        tmp_path,
        systems,
        cfg.model_copy(),
    )
    assert again.counts["rejected"] == 0


def test_an_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Shanghia'"):
        Config.model_validate(
            {
                "migrations": {
                    "m": {
                        "source": {"kind": "sql", "system": "db", "table": "s"},
                        "target": {"kind": "sql", "system": "db", "table": "t"},
                        "key": "id",
                        "fields": {"id": "id", "at": {"from": "at", "to_tz": "Asia/Shanghia"}},
                    }
                }
            }
        )


def test_mariadb_proof_is_summed_by_the_server_and_a_changed_value_is_named(
    tmp_path: Path,
    migrate_maria: PgSchema,  # noqa: F811 - the fixture imported above
) -> None:
    db = migrate_maria
    db.sql(f"CREATE TABLE {db.t('src')} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount VARCHAR(20))")
    db.sql(f"CREATE TABLE {db.t('dst')} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2))")
    for i in range(1, 31):
        db.sql(f"INSERT INTO {db.t('src')} VALUES (:i, :n, :a)", i=i, n=f"客户{i}𠮷", a=f"{i}.5")
    cfg = Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "id"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                    "key": "id",
                    "batch_size": 20,
                    "fields": {"id": "id", "name": "name", "amount": {"from": "amount", "type": "decimal"}},
                }
            }
        }
    )
    systems = {"db": {"kind": "sql", "url": db.url}}
    first = _run(tmp_path, systems, cfg)
    proofs = json.loads(Path(first.outputs["proof_file"]).read_text())["batches"]
    assert [p["method"] for p in proofs] == ["server checksum", "server checksum"]
    assert [p["target_count"] for p in proofs] == [20, 10]
    # a trigger changes a value on its way in: the server's sum differs, the rows are compared and named
    db.sql(f"UPDATE {db.t('src')} SET name = '改了' WHERE id = 7")
    db.sql(
        f"CREATE TRIGGER {db.t('meddle')} BEFORE UPDATE ON {db.t('dst')} FOR EACH ROW "
        "SET NEW.name = CONCAT(NEW.name, '!')"
    )
    with pytest.raises(ProofError, match="key 7 field name: sent '改了', read back '改了!'"):
        _run(tmp_path, systems, cfg, full=True)


def test_mariadb_unique_violation_rejects_only_that_row_and_names_the_column(
    tmp_path: Path,
    migrate_maria: PgSchema,  # noqa: F811 - the fixture imported above
) -> None:
    db = migrate_maria
    db.sql(f"CREATE TABLE {db.t('src')} (id INTEGER PRIMARY KEY, phone VARCHAR(20))")
    db.sql(f"CREATE TABLE {db.t('dst')} (id INTEGER PRIMARY KEY, phone VARCHAR(20), UNIQUE KEY uq_phone (phone))")
    for i in range(1, 21):
        db.sql(f"INSERT INTO {db.t('src')} VALUES (:i, :p)", i=i, p=f"1380013{i:04d}")
    db.sql(f"UPDATE {db.t('src')} SET phone = '13800130003' WHERE id = 12")
    cfg = Config.model_validate(
        {
            "migrations": {
                "m": {
                    "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "id"},
                    "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                    "key": "id",
                    "fields": {"id": "id", "phone": "phone"},
                }
            }
        }
    )
    result = _run(tmp_path, {"db": {"kind": "sql", "url": db.url}}, cfg)
    assert result.counts["inserted"] == 19 and result.counts["rejected"] == 1
    line = list(load_workbook(result.outputs["rejects_file"]).active.iter_rows(values_only=True))[1]
    assert line[1] == "12" and line[2] == "phone" and "Duplicate entry" in line[3]

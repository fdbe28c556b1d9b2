"""The one engine recipe and the one instant type of Backroom's database (``backroom.bots.sdk.db``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backroom.bots.sdk.db import UTCDateTime, configure_sqlite, make_engine
from tests.integration.test_migrations import BACKENDS, mariadb_engine  # noqa: F401 (a fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _pragmas(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }


EXPECTED = {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30_000, "foreign_keys": 1}


def test_make_engine_gives_sqlite_the_runner_pragmas(tmp_path: Path) -> None:
    assert _pragmas(make_engine(f"sqlite:///{tmp_path / 'a.db'}")) == EXPECTED


def test_an_engine_made_elsewhere_gets_them_once(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    assert _pragmas(engine)["busy_timeout"] == 5_000  # sqlite3's own default
    listeners = len(engine.pool.dispatch.connect)
    configure_sqlite(configure_sqlite(engine))
    assert _pragmas(engine) == EXPECTED
    assert len(engine.pool.dispatch.connect) == listeners + 1, "the pragmas were registered twice"


def test_a_bots_context_engine_is_the_same_recipe(tmp_path: Path) -> None:
    from backroom.bots.sdk.testing import make_context

    ctx = make_context(tmp_path)
    try:
        assert _pragmas(ctx.engine) == EXPECTED
    finally:
        ctx.close()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    elif request.param == "postgres":
        engine = make_engine(request.getfixturevalue("pg_schema_url"))

        @sa.event.listens_for(engine, "connect")
        def _shanghai(dbapi_conn: Any, _record: Any) -> None:  # a session zone other than UTC
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
            dbapi_conn.commit()

    else:
        engine = request.getfixturevalue("mariadb_engine")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("with_zone", [True, False], ids=["tz-column", "naive-utc-column"])
def test_instants_go_in_aware_and_come_out_aware_utc(engine: Engine, with_zone: bool) -> None:
    meta = sa.MetaData()
    table = sa.Table(
        "instants", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UTCDateTime(with_zone))
    )
    meta.create_all(engine)
    local = dt.datetime(2026, 5, 1, 9, 30, 15, 123_456, tzinfo=SHANGHAI)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "at": local}, {"id": 2, "at": None}])
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(table.c.id, table.c.at)).all())
        raw = conn.execute(sa.text("SELECT at FROM instants WHERE id = 1")).scalar_one()
    expected_precision = 0 if engine.dialect.name in ("mysql", "mariadb") else 123_456  # DATETIME keeps seconds
    got = rows[1]
    assert got.tzinfo is dt.UTC and got == local.replace(microsecond=expected_precision)
    assert rows[2] is None
    if not with_zone or engine.dialect.name != "postgresql":  # the wall time stored is UTC's
        stored = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(raw)
        assert stored.replace(tzinfo=None) == dt.datetime(2026, 5, 1, 1, 30, 15, expected_precision)


def test_a_naive_instant_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    meta = sa.MetaData()
    table = sa.Table("instants", meta, sa.Column("at", UTCDateTime()))
    meta.create_all(engine)
    with pytest.raises(sa.exc.StatementError, match=r"naive datetime .* times must be aware"), engine.begin() as conn:
        conn.execute(table.insert().values(at=dt.datetime(2026, 5, 1, 9, 30)))

"""A bank line keeps one identity: across statements, across re-downloads, across a reload, and
across the 0002 migration that dropped made-up MT940/camt line ids."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from backroom.bots.formats.statements import parse_statement
from backroom.bots.reconcile.state import SCHEMA, ReconcileState, match_id
from backroom.bots.sdk.db import upgrade

NOW = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
FEES = (
    "交易日期,交易金额,对方户名,摘要\n"
    "2024-03-01,-10.00,,手续费\n2024-03-01,-10.00,,手续费\n2024-03-02,500.00,某某公司,货款\n"
)


def test_identical_lines_survive_a_reload(tmp_path: Path) -> None:
    """Two identical 10.00 fees (no bank id, no balance) stay two lines after the state is read back."""
    path = tmp_path / "fees.csv"
    path.write_text(FEES, "utf-8")
    (st,) = parse_statement(path, account="ACC")
    state = ReconcileState(sa.create_engine(f"sqlite:///{tmp_path / 's.db'}"))
    assert state.import_statement(st, NOW) == 3
    reloaded = state.bank_lines(["ACC"])
    assert sorted(ln.key for ln in reloaded) == sorted(ln.key for ln in st.lines)
    assert len({ln.key for ln in reloaded}) == 3
    assert sum(ln.amount for ln in reloaded) == Decimal("480.00")


def test_overlapping_redownload_adds_only_new_lines(tmp_path: Path) -> None:
    state = ReconcileState(sa.create_engine(f"sqlite:///{tmp_path / 's.db'}"))
    first = tmp_path / "a.csv"
    first.write_text(FEES, "utf-8")
    (a,) = parse_statement(first, account="ACC")
    state.import_statement(a, NOW)
    second = tmp_path / "b.csv"
    second.write_text(FEES + "2024-03-03,-20.00,,手续费\n", "utf-8")  # the same days again, one more line
    (b,) = parse_statement(second, account="ACC")
    assert state.import_statement(b, NOW) == 1
    assert len(state.bank_lines(["ACC"])) == 4


ABN = (Path(__file__).resolve().parents[1] / "data" / "statements" / "abnamro_pages.sta").read_bytes()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database at revision 0001 (the release before), on SQLite, PostgreSQL and MariaDB."""
    import uuid

    from backroom.bots.sdk.db import make_engine

    dropped: sa.Engine | None = None
    name = f"br_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    elif request.param == "postgres":
        engine = make_engine(request.getfixturevalue("pg_schema_url"))
    else:
        url = sa.make_url(request.getfixturevalue("mysql_url"))
        dropped = sa.create_engine(url)
        with dropped.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    upgrade(engine, SCHEMA, "0001")
    yield engine
    engine.dispose()
    if dropped is not None:
        with dropped.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        dropped.dispose()


def test_migration_rekeys_made_up_mt940_ids_and_keeps_matches(old_engine: sa.Engine, tmp_path: Path) -> None:
    """A database of the release before: ABN AMRO lines stored as ``ABN AMRO BANK NV-1``..."""
    engine = old_engine
    path = tmp_path / "abn.sta"
    path.write_bytes(ABN)
    current = parse_statement(path)[0]
    meta = sa.MetaData()
    lines_t = sa.Table("reconcile_bank_lines", meta, autoload_with=engine)
    stmts_t = sa.Table("reconcile_statements", meta, autoload_with=engine)
    matches_t = sa.Table("reconcile_matches", meta, autoload_with=engine)
    old_keys = [f"517852257|ABN AMRO BANK NV-{n}" for n in range(1, 5)]
    with engine.begin() as c:
        c.execute(
            stmts_t.insert().values(
                digest="d1", account="517852257", statement_id="ABN AMRO BANK NV/19321", format="mt940", imported_at=NOW
            )
        )
        c.execute(
            lines_t.insert(),
            [
                {
                    "key": key,
                    "account": "517852257",
                    "booking_date": ln.booking_date,
                    "amount": str(ln.amount),
                    "currency": "EUR",
                    "counterparty_account": ln.counterparty_account,
                    "reference": ln.reference,
                    "purpose": ln.purpose,
                    "bank_line_id": key.split("|")[1],
                    "digest": "d1",
                }
                for key, ln in zip(old_keys, current.lines, strict=True)
            ],
        )
        c.execute(
            matches_t.insert().values(
                id=match_id([old_keys[2]], ["L7"]), bank_keys=json.dumps([old_keys[2]]), ledger_ids='["L7"]',
                rule="confirmed", status="confirmed", updated_at=NOW,
            )
        )  # fmt: skip
    state = ReconcileState(engine)  # upgrades to head
    stored = {ln.key for ln in state.bank_lines(["517852257"])}
    assert stored == {ln.key for ln in current.lines}  # what a new download of the same file gives
    assert len(stored) == 4  # the two identical -9 lines kept apart
    (m,) = state.matches(["confirmed"])
    assert m["bank_keys"] == [current.lines[2].key] and m["id"] == match_id([current.lines[2].key], ["L7"])

"""The payslips bot's delivery log and tax year on PostgreSQL and MariaDB, as in production: a batch
sent once, a re-run sending nothing, a changed payslip going out as the next version."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
from backroom.bots.payslips.state import PayslipStore
from backroom.bots.payslips.tax import Cumulative
from backroom.bots.sdk.testing import make_context, make_params
from tests.fixtures.payslips import compute, make_people, write_payroll_xlsx, write_roster

CONFIG = PayslipsConfig(workers=1)


@pytest.fixture
def mariadb_url(mysql_url: str) -> Iterator[str]:
    name = f"br_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(mysql_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        admin.dispose()


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mariadb", marks=pytest.mark.mysql)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_schema_url" if request.param == "postgres" else "mariadb_url")


def _run(tmp_path: Path, url: str, port: int):
    ctx = make_context(
        tmp_path,
        "payslips",
        systems={"mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{port}"}},
        config=CONFIG,
        database_url=url,
        clock=lambda: dt.datetime(2026, 3, 31, 2, tzinfo=dt.UTC),
    )
    try:
        return Payslips().run(
            ctx, make_params(PayslipsParams, ctx, payroll="p.xlsx", roster="r.xlsx", month="2026-03-01")
        )
    finally:
        ctx.close()


def test_the_delivery_log_on_a_production_database(tmp_path: Path, database_url: str, smtp_server) -> None:
    people = make_people(3, CONFIG)
    write_payroll_xlsx(tmp_path / "p.xlsx", people)
    write_roster(tmp_path / "r.xlsx", people)
    assert _run(tmp_path, database_url, smtp_server.port).counts["sent"] == 3
    assert _run(tmp_path, database_url, smtp_server.port).counts["already_sent"] == 3
    people[0].earnings["津贴"] += D(200)
    compute(people[0], CONFIG, Cumulative())
    write_payroll_xlsx(tmp_path / "p.xlsx", people)
    third = _run(tmp_path, database_url, smtp_server.port)
    assert third.counts["sent"] == 1 and third.counts["corrections"] == 1
    assert len(smtp_server.wait_for(4)) == 4
    engine = sa.create_engine(database_url)
    try:
        store = PayslipStore(engine)
        rows = store.for_month("2026-03")
        assert [(r["employee_no"], r["version"], r["status"]) for r in rows][:2] == [
            ("E00001", 1, "sent"),
            ("E00001", 2, "sent"),
        ]
        assert rows[0]["sent_at"].tzinfo is not None
        april = store.prior(2026, 4)
        assert april["E00001"].income == people[0].gross and april["E00001"].months == 1
    finally:
        engine.dispose()

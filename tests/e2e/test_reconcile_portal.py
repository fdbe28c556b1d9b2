"""Fetching statements from the sandbox bank portal with a real Chromium, and the demo part."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from backroom.bots.reconcile import Reconcile, ReconcileConfig, ReconcileParams
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.bank_portal.browser import BrowserBankPortal
from backroom.sandbox.demo_reconcile import BANK_PORTAL_PROFILE
from tests.fixtures.reconcile import ACCOUNT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENV = {"BANK_PASSWORD": "Bank#2024"}


def _settings(url: str, **options) -> SystemSettings:
    return SystemSettings(
        kind="bank-portal",
        url=url,
        username="finance01",
        password="env:BANK_PASSWORD",
        options={"otp_source": "url:/_sandbox/otp?username={username}", "profile": BANK_PORTAL_PROFILE, **options},
    )


def test_fetch_with_changed_layout_and_expired_session(chromium_available, bank_portal, bank_data, tmp_path) -> None:
    """One browser session: log in with the code, then survive a redesign and a session timeout."""
    ctx = make_context(tmp_path, "reconcile", environ=ENV)
    portal = BrowserBankPortal(_settings(bank_portal.url, format="camt053"), ctx.secret)
    faults = bank_portal.app.state.faults
    with ctx.browser() as page:
        portal.login(page)
        assert ACCOUNT in portal.accounts(page)
        got = portal.fetch(page, ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 10), tmp_path / "dl")
        expected = bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 10))
        assert got.path.suffix == ".xml" and got.announced_lines == len(expected.lines)
        assert got.announced_closing == expected.closing
        faults.update({"layout_variant": 1})  # new ids and names, the button moved
        httpx.post(f"{bank_portal.url}/_sandbox/expire-sessions")  # and the session ends mid-run
        again = portal.fetch(page, ACCOUNT, dt.date(2024, 3, 11), dt.date(2024, 3, 20), tmp_path / "dl", fmt="csv")
        assert again.path.suffix == ".csv"
        assert bank_portal.app.state.bank["logins"] == 2 and bank_portal.app.state.bank["downloads"] == 2


def test_demo_part_runs_the_bot(chromium_available, tmp_path: Path) -> None:
    from backroom.sandbox.demo_reconcile import prepare

    part = prepare(tmp_path / "demo")
    try:
        assert part.bot == "reconcile" and part.bot_table["calendar"] == "cn-workdays"
        ctx = make_context(
            tmp_path,
            "reconcile",
            systems=part.systems,
            environ=part.env,
            config=ReconcileConfig.model_validate(part.bot_table["config"]),
        )
        result = Reconcile().run(ctx, ReconcileParams.model_validate(part.params))
        assert part.params["fetch"] is True
        assert result.status == "succeeded" and result.counts["statements_imported"] == 1
        assert result.counts["matched"] > 50 and result.outputs["difference"] == "0.00"
        assert "Bank#2024" not in Path(result.outputs["workbook"]).read_bytes().decode("latin-1")
    finally:
        part.stop()


def test_daily_fetch_catches_up_from_the_last_statement(
    chromium_available, bank_portal, tmp_path, march_ledger
) -> None:
    """Without a start date the bot fetches from the day after the last imported statement to yesterday."""
    config = ReconcileConfig(accounts=[ACCOUNT], ledger={"kind": "excel", "path": str(march_ledger)})
    systems = {"bank": _settings(bank_portal.url, format="mt940")}
    monday = dt.datetime(2024, 3, 11, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai

    def run(**params):
        ctx = make_context(tmp_path, "reconcile", config=config, systems=systems, environ=ENV, clock=lambda: monday)
        try:
            return Reconcile().run(ctx, ReconcileParams(fetch=True, **params))
        finally:
            ctx.close()

    first = run(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 7))
    caught_up = run()  # Friday 8th to Sunday 10th
    again = run()
    assert first.counts["statements_imported"] == caught_up.counts["statements_imported"] == 1
    assert again.counts["statements_imported"] == 0 and bank_portal.app.state.bank["downloads"] == 2
    from openpyxl import load_workbook

    book = load_workbook(caught_up.outputs["workbook"], read_only=True)
    (row,) = [r for r in book["对账单检查"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert row[3] == "2024-03-08 ~ 2024-03-10" and row[7] == "导入 imported" and not row[8]
    book.close()

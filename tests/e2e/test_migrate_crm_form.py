"""Bills from the billing API into the CRM through its web form, with real Chromium pages in parallel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENV = {"BILLING_TOKEN": "billing-demo-token", "CRM_TOKEN": "crm-demo-token", "CRM_PASSWORD": "crm-demo"}


@pytest.fixture(scope="module")
def pair() -> Any:
    from backroom.sandbox import billing, crm
    from backroom.sandbox.server import start

    b = start(billing.create_app(seed=5, customers=3, months=2))
    c = start(crm.create_app(seed=5, customers=2))  # customer 3 does not exist in the CRM yet
    try:
        yield b, c
    finally:
        b.stop()
        c.stop()


def _config(pages: int = 2) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "bills_to_crm": {
                    "source": {
                        "kind": "rest",
                        "system": "billing",
                        "path": "/api/bills",
                        "cursor": "updated_at",
                        "page_size": 3,
                    },
                    "target": {"kind": "form", "system": "crm", "pages": pages, "newer_by": "last_bill_month"},
                    "key": "customer_no",
                    "batch_size": 3,
                    "max_reject_ratio": 0.2,
                    "fields": {
                        "customer_no": "customer_no",
                        "name": {"const": "（待补充）"},
                        "last_bill_no": "bill_no",
                        "last_bill_month": "month",
                        "last_bill_amount": {"from": "amount", "type": "decimal", "min": 0},
                        "last_bill_status": {
                            "from": "status",
                            "map": {"paid": "已缴", "unpaid": "未缴", "overdue": "逾期"},
                        },
                    },
                }
            }
        }
    )


def _systems(b: Any, c: Any) -> dict[str, Any]:
    from backroom.sandbox.demo_migrate import CRM_FORM_PROFILE

    return {
        "billing": {"kind": "http", "url": b.url, "token": "env:BILLING_TOKEN"},
        "crm": {
            "kind": "browser",
            "url": c.url,
            "token": "env:CRM_TOKEN",
            "username": "agent",
            "password": "env:CRM_PASSWORD",
            "profile": CRM_FORM_PROFILE,
        },
    }


def _run(tmp_path: Path, b: Any, c: Any, *, dry: bool = False, cfg: Config | None = None) -> Any:
    ctx = make_context(tmp_path, "migrate", systems=_systems(b, c), environ=ENV, config=cfg or _config(), dry_run=dry)
    return Migrate().run(ctx, MigrateParams(name="bills_to_crm"))


def test_bills_reach_the_crm_through_the_form(tmp_path: Path, pair: Any, chromium_available: None) -> None:
    b, c = pair
    bills = b.app.state.data.bills
    bills.put(dict(bills.records["B202402000002"], amount="12.345"))  # the CRM takes two decimals at most
    crm = c.app.state.customers.records
    name_before = crm["C000001"]["name"]

    dry = _run(tmp_path, b, c, dry=True)
    assert dry.counts["read"] == 6 and c.app.state.saves == {"ok": 0, "invalid": 0}

    result = _run(tmp_path, b, c)
    assert result.status == "succeeded", result.summary
    assert result.counts["rejected"] == 1 and result.counts["inserted"] == 1
    book = load_workbook(result.outputs["rejects_file"])
    line = list(book.active.iter_rows(values_only=True))[1]
    assert line[1] == "C000002" and "最近账单金额最多两位小数" in line[3]
    assert c.app.state.saves["invalid"] == 1  # refused once, not retried
    one = crm["C000001"]
    assert one["last_bill_month"] == "2024-02" and one["last_bill_no"] == "B202402000001"
    assert one["last_bill_amount"] == b.app.state.data.bills.records["B202402000001"]["amount"]
    assert one["name"] == "（待补充）" != name_before
    assert crm["C000003"]["last_bill_no"] == "B202402000003"  # created through "新建客户"
    assert crm["C000002"]["last_bill_month"] == "2024-01"  # the refused February bill left January in place

    # a re-run finds nothing new; a corrected bill is the only record that moves
    assert _run(tmp_path, b, c).counts["read"] == 0
    bills.put(dict(bills.records["B202402000002"], amount="12.35"))
    fixed = _run(tmp_path, b, c)
    assert fixed.counts["read"] == 1 and fixed.counts["updated"] == 1 and fixed.counts["rejected"] == 0
    assert crm["C000002"]["last_bill_amount"] == "12.35"


def test_form_copes_with_moved_controls_and_expiring_sessions(tmp_path: Path, chromium_available: None) -> None:
    from backroom.sandbox import billing, crm
    from backroom.sandbox.server import start

    b = start(billing.create_app(seed=9, customers=4, months=1))
    c = start(crm.create_app(seed=9, customers=4))
    c.app.state.faults.update({"layout_variant": 1})
    c.app.state.sessions.max_uses = 14  # the session ends a few pages into the run, whatever the speed
    try:
        cfg = _config(pages=2)
        cfg.migrations["bills_to_crm"].source.page_size = 2  # type: ignore[union-attr]
        cfg.migrations["bills_to_crm"].batch_size = 2
        result = _run(tmp_path, b, c, cfg=cfg)
        assert result.status == "succeeded", result.summary
        assert result.counts["updated"] == 4
        assert c.app.state.sessions.logins >= 2  # it expired and the bot logged in again
        bills = b.app.state.data.bills.records
        for i in range(1, 5):
            held = c.app.state.customers.records[f"C00000{i}"]
            assert held["last_bill_amount"] == bills[f"B20240100000{i}"]["amount"]
    finally:
        b.stop()
        c.stop()

"""REST source (billing API, cursor pages) → SQL; CRM API → billing REST target with 429s and 422s."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.errors import TransientError
from backroom.bots.sdk.testing import make_context

ENV = {"BILLING_TOKEN": "billing-demo-token", "CRM_TOKEN": "crm-demo-token"}


def systems(billing: Any, crm: Any, db_url: str | None = None, **billing_opts: Any) -> dict[str, Any]:
    out = {
        "billing": {"kind": "http", "url": billing.url, "token": "env:BILLING_TOKEN", **billing_opts},
        "crm": {"kind": "http", "url": crm.url, "token": "env:CRM_TOKEN"},
    }
    if db_url:
        out["db"] = {"kind": "sql", "url": db_url}
    return out


def run(tmp_path: Path, cfg: dict[str, Any], name: str, syst: dict[str, Any], **params: Any) -> Any:
    ctx = make_context(tmp_path, "migrate", systems=syst, environ=ENV, config=Config.model_validate(cfg))
    try:
        return Migrate().run(ctx, MigrateParams(name=name, **params))
    finally:
        ctx.close()


def test_rest_source_pages_into_sql_incrementally(
    tmp_path: Path, migrate_billing: Any, migrate_crm: Any, migrate_sqlite: Any
) -> None:
    migrate_sqlite.sql(
        "CREATE TABLE bills (bill_no TEXT PRIMARY KEY, customer_no TEXT, month TEXT, amount NUMERIC, "
        "status TEXT, updated_at TIMESTAMP)"
    )
    cfg = {
        "migrations": {
            "bills": {
                "source": {
                    "kind": "rest",
                    "system": "billing",
                    "path": "/api/bills",
                    "cursor": "updated_at",
                    "page_size": 50,
                },
                "target": {"kind": "sql", "system": "db", "table": "bills"},
                "key": "bill_no",
                "batch_size": 50,
                "fields": {
                    "bill_no": "bill_no",
                    "customer_no": "customer_no",
                    "month": "month",
                    "amount": {"from": "amount", "type": "decimal"},
                    "status": "status",
                    "updated_at": {"from": "updated_at", "type": "datetime"},
                },
            }
        }
    }
    syst = systems(migrate_billing, migrate_crm, migrate_sqlite.url)
    first = run(tmp_path, cfg, "bills", syst)
    total = len(migrate_billing.app.state.data.bills.records)
    assert first.status == "succeeded" and first.counts["inserted"] == total == 180
    assert first.counts["batches"] == 4
    bill = migrate_billing.app.state.data.bills.records["B202402000007"]
    held = migrate_sqlite.sql("SELECT amount FROM bills WHERE bill_no = 'B202402000007'")[0][0]
    assert Decimal(str(held)) == Decimal(bill["amount"])
    # a bill changes in the billing system: the next run asks only for what changed since
    migrate_billing.app.state.data.bills.put({**bill, "status": "paid", "amount": "1.23"})
    second = run(tmp_path, cfg, "bills", syst)
    assert second.counts["read"] == 1 and second.counts["updated"] == 1
    assert migrate_sqlite.sql("SELECT CAST(amount AS TEXT), status FROM bills WHERE bill_no = 'B202402000007'")[0] == (
        "1.23",
        "paid",
    )
    assert run(tmp_path, cfg, "bills", syst).counts["read"] == 0


def _to_billing(**extra: Any) -> dict[str, Any]:
    return {
        "migrations": {
            "crm_to_billing": {
                "source": {
                    "kind": "rest",
                    "system": "crm",
                    "path": "/api/customers",
                    "cursor": "updated_at",
                    "page_size": 60,
                },
                "target": {"kind": "rest", "system": "billing", "path": "/api/customers"},
                "key": "customer_no",
                "batch_size": 60,
                "max_reject_ratio": 0.2,
                "fields": {
                    "customer_no": "customer_no",
                    "name": {"from": "name", "required": True},
                    "phone": "phone",
                    "email": "email",
                },
                **extra,
            }
        }
    }


def test_rest_target_rides_out_429_and_rejects_422(
    tmp_path: Path, migrate_billing: Any, migrate_crm: Any, migrate_reset_faults: list[Any]
) -> None:
    migrate_reset_faults.append(migrate_billing)
    crm = migrate_crm.app.state.customers
    changed = dict(crm.records["C000004"], phone="13700000004", email="new@example.com")
    crm.put(changed)
    crm.put(dict(crm.records["C000009"], email="not-an-email"))
    faults = migrate_billing.app.state.faults
    faults.update({"rate_limit_every": 9, "retry_after_s": 1})  # an integer: "Retry-After: 1"
    before = faults.counters.get("429", 0)
    started = time.monotonic()
    result = run(
        tmp_path, _to_billing(), "crm_to_billing", systems(migrate_billing, migrate_crm, rate_limit=200, concurrency=4)
    )
    assert faults.counters.get("429", 0) - before >= 6  # many 429s happened and were ridden out
    assert time.monotonic() - started >= 1.0  # ... after waiting as Retry-After asked
    assert result.status == "succeeded"
    assert result.counts["read"] == 60 and result.counts["rejected"] == 1
    assert migrate_billing.app.state.data.customers.records["C000004"]["phone"] == "13700000004"
    book = load_workbook(result.outputs["rejects_file"])
    line = list(book.active.iter_rows(values_only=True))[1]
    assert line[1] == "C000009" and "422" in line[3] and "not-an-email" in line[3]
    # dry run after: nothing left to change except the refused record
    ctx = make_context(
        tmp_path,
        "migrate",
        systems=systems(migrate_billing, migrate_crm),
        environ=ENV,
        config=Config.model_validate(_to_billing()),
        dry_run=True,
    )
    dry = Migrate().run(ctx, MigrateParams(name="crm_to_billing", full=True))
    assert dry.counts["updated"] == 1 and dry.counts["unchanged"] == 59
    assert dry.outputs["diff_samples"]["email"][0][0] == "C000009"


def test_rest_target_down_fails_transient_and_rerun_completes(
    tmp_path: Path, migrate_billing: Any, migrate_crm: Any, migrate_reset_faults: list[Any]
) -> None:
    migrate_reset_faults.append(migrate_billing)
    crm = migrate_crm.app.state.customers
    for no in ("C000011", "C000012", "C000013"):
        crm.put(dict(crm.records[no], city="测试市"))
    migrate_billing.app.state.faults.update({"error_rate": 1.0, "error_status": 503})
    syst = systems(migrate_billing, migrate_crm, retries=1)
    with pytest.raises(TransientError, match="503"):
        run(tmp_path, _to_billing(), "crm_to_billing", syst)
    migrate_billing.app.state.faults.reset()
    cfg = _to_billing()
    cfg["migrations"]["crm_to_billing"]["fields"]["city"] = "city"
    again = run(tmp_path, cfg, "crm_to_billing", syst)
    assert again.status == "succeeded"
    assert all(
        migrate_billing.app.state.data.customers.records[n]["city"] == "测试市"
        for n in ("C000011", "C000012", "C000013")
    )

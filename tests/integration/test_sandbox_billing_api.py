"""The sandbox billing system's REST API and its misbehaviour switches, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backroom.sandbox.billing import BillingData, people

AUTH = {"Authorization": "Bearer billing-demo-token"}


@pytest.fixture
def api(migrate_billing: Any, migrate_reset_faults: list[Any]) -> httpx.Client:
    migrate_reset_faults.append(migrate_billing)
    with httpx.Client(base_url=migrate_billing.url, headers=AUTH, timeout=10) as client:
        yield client


def test_same_seed_same_data_and_realistic_values() -> None:
    a, b = BillingData.generate(3, 20, 2), BillingData.generate(3, 20, 2)
    assert a.bills.records == b.bills.records and a.customers.records == b.customers.records
    assert BillingData.generate(4, 20, 2).customers.records != a.customers.records
    folks = people(3, 50)
    assert sum(1 for p in folks if any("\u4e00" <= ch <= "\u9fff" for ch in p["name"])) > 30
    assert all(len(p["phone"]) == 11 and p["phone"].startswith("1") for p in folks)
    assert len(a.bills.records) == 40 and len(a.payments.records) > 0


def test_token_is_required(migrate_billing: Any) -> None:
    assert httpx.get(f"{migrate_billing.url}/api/bills").status_code == 401
    bad = httpx.get(f"{migrate_billing.url}/api/bills", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_cursor_pages_cover_everything_once_and_since_filters(api: httpx.Client, migrate_billing: Any) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = api.get("/api/bills", params={"limit": 37, **({"cursor": cursor} if cursor else {})}).json()
        seen += [b["bill_no"] for b in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(migrate_billing.app.state.data.bills.records) and pages == 5
    stamps = [api.get(f"/api/bills/{n}").json()["updated_at"] for n in seen[:5]]
    assert stamps == sorted(stamps)
    last = api.get("/api/bills", params={"limit": 1000}).json()["items"][-1]["updated_at"]
    assert api.get("/api/bills", params={"updated_since": last}).json()["items"] == []
    api.put("/api/customers/C000002", json={"city": "苏州"})
    changed = api.get("/api/customers", params={"updated_since": last}).json()["items"]
    assert [c["customer_no"] for c in changed] == ["C000002"] and changed[0]["city"] == "苏州"
    assert api.get("/api/bills", params={"cursor": "garbage"}).status_code == 400


def test_put_validates(api: httpx.Client) -> None:
    resp = api.put("/api/customers/C000001", json={"phone": "123", "email": "x"})
    assert resp.status_code == 422 and len(resp.json()["errors"]) == 2
    assert api.put("/api/customers/C999999", json={"name": "x"}).status_code == 404
    ok = api.put("/api/customers/C000001", json={"phone": "13711112222"})
    assert ok.status_code == 200 and ok.json()["phone"] == "13711112222"


def test_fault_switches_over_http(api: httpx.Client, migrate_billing: Any) -> None:
    control = f"{migrate_billing.url}/_sandbox/faults"
    assert httpx.post(control, json={"rate_limit_every": 2, "retry_after_s": 3}).status_code == 200
    statuses = [api.get("/api/customers/C000001").status_code for _ in range(4)]
    assert statuses.count(429) == 2
    limited = next(r for r in (api.get("/api/customers/C000001") for _ in range(2)) if r.status_code == 429)
    assert limited.headers["retry-after"] == "3"
    httpx.post(control, json={"reset": True, "fail_next": 2, "error_status": 502})
    assert [api.get("/api/bills/B202401000001").status_code for _ in range(3)] == [502, 502, 200]
    httpx.post(control, json={"reset": True, "latency_ms": 150})
    assert api.get("/api/bills/B202401000001").elapsed.total_seconds() >= 0.15
    assert httpx.post(control, json={"no_such_switch": 1}).status_code == 400


def test_web_sessions_expire_on_the_sandbox_clock() -> None:
    """Billing and the CRM share one session store; it ages sessions by the clock it is given."""
    import datetime as dt

    from backroom.sandbox.faults import Faults
    from backroom.sandbox.sessions import SessionStore
    from tests.fixtures.tickets import MovableClock

    clock = MovableClock(dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC))
    store = SessionStore(Faults(session_ttl_s=300), clock)
    sid = store.open("operator")
    clock.advance(seconds=300)
    assert store.user(sid) == "operator"
    clock.advance(seconds=1)
    assert store.user(sid) is None and store.user(sid) is None  # gone for good, not only this once

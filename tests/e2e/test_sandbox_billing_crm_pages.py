"""The sandbox billing and CRM web pages, driven by a real Chromium: login with CSRF, search,
pagination, edit/save/confirmation, validation errors, changed layout, expired sessions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from backroom.bots.sdk.browser import chromium_executable, launch

    if chromium_executable() is None:
        pytest.skip("no Chromium")
    with launch() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _billing_login(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("billing-demo")
    page.get_by_role("button", name="登录").click()


def test_billing_login_search_and_pages(
    page: Any, migrate_billing: Any, migrate_reset_faults: list[Any], chromium_available: None
) -> None:
    migrate_reset_faults.append(migrate_billing)
    url = migrate_billing.url
    page.goto(f"{url}/bills")
    assert "/login" in page.url  # not logged in
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码错误" in page.get_by_role("alert").inner_text()
    _billing_login(page, url)
    assert page.url.endswith("/bills")
    assert page.locator("#bills tbody tr").count() == 20
    assert "共 180 条，第 1/9 页" in page.locator(".total").inner_text()
    page.get_by_role("link", name="下一页").click()
    assert "第 2/9 页" in page.locator(".total").inner_text()
    first_of_two = page.locator("#bills tbody tr").first.get_attribute("data-bill")
    assert first_of_two == sorted(migrate_billing.app.state.data.bills.records)[20]
    name = migrate_billing.app.state.data.customers.records["C000005"]["name"]
    page.get_by_label("搜索").fill(name)
    page.get_by_role("button", name="查询").click()
    names = page.locator("#bills td.customer_name").all_inner_texts()
    assert names and all(name in n for n in names)
    # the changed layout: search box renamed and moved, columns reversed — labels still lead the way
    migrate_billing.app.state.faults.layout_variant = 1
    page.goto(f"{url}/bills")
    page.get_by_label("关键字").fill("B202403000007")
    page.get_by_role("button", name="查询").click()
    assert page.locator("#bills tbody tr").count() == 1
    assert page.locator("#bills th").first.inner_text() == "状态"


def test_billing_csrf_and_session_expiry(
    page: Any,
    migrate_billing: Any,
    migrate_reset_faults: list[Any],
    chromium_available: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate_reset_faults.append(migrate_billing)
    url = migrate_billing.url
    with httpx.Client(base_url=url) as client:  # a form post without the token is refused
        client.get("/login")
        refused = client.post("/login", data={"username": "operator", "password": "billing-demo"})
        assert refused.status_code == 403 and "CSRF" in refused.text
        forged = client.post(
            "/login", data={"username": "operator", "password": "billing-demo", "csrf_token": "0" * 32}
        )
        assert forged.status_code == 403
    migrate_billing.app.state.faults.session_ttl_s = 600
    sessions = migrate_billing.app.state.sessions
    _billing_login(page, url)
    assert page.url.endswith("/bills")
    signed_in = sessions.clock()
    # sessions age by the sandbox's clock: move it past the TTL instead of waiting
    monkeypatch.setattr(sessions, "clock", lambda: signed_in + dt.timedelta(seconds=601))
    page.get_by_role("link", name="下一页").click()
    assert "/login" in page.url and "会话已过期" in page.get_by_role("alert").inner_text()


def test_crm_search_open_edit_save_and_validation(
    page: Any, migrate_crm: Any, migrate_reset_faults: list[Any], chromium_available: None
) -> None:
    migrate_reset_faults.append(migrate_crm)
    url = migrate_crm.url
    page.goto(f"{url}/customers")
    page.get_by_label("账号").fill("agent")
    page.get_by_label("密码").fill("crm-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_label("客户编号/姓名/手机").fill("C000008")
    page.get_by_role("button", name="搜索").click()
    page.locator('a.customer[data-no="C000008"]').click()
    page.get_by_role("button", name="编辑").click()
    page.get_by_label("手机号").fill("1380013")
    page.get_by_label("最近账单金额").fill("-5")
    page.get_by_role("button", name="保存").click()
    alert = page.get_by_role("alert").inner_text()
    assert "手机号格式不正确" in alert and "最近账单金额不能为负数" in alert
    assert migrate_crm.app.state.customers.records["C000008"]["phone"] != "1380013"
    page.get_by_label("手机号").fill("13800138008")
    page.get_by_label("最近账单金额").fill("88.80")
    page.get_by_label("客户等级").select_option(label="金卡")
    page.get_by_role("button", name="保存").click()
    assert "保存成功" in page.get_by_role("status").inner_text()
    saved = migrate_crm.app.state.customers.records["C000008"]
    assert (saved["phone"], saved["last_bill_amount"], saved["level"]) == ("13800138008", "88.80", "金卡")
    # the variant layout: the Save button is renamed and on top; labels are unchanged
    migrate_crm.app.state.faults.layout_variant = 1
    page.goto(f"{url}/customers/C000008/edit")
    page.get_by_label("备注").fill("改版后保存")
    page.get_by_role("button", name=re.compile("保存")).click()
    assert "保存成功" in page.get_by_role("status").inner_text()
    assert migrate_crm.app.state.customers.records["C000008"]["note"] == "改版后保存"


def test_crm_api_reads_but_never_writes(migrate_crm: Any) -> None:
    auth = {"Authorization": "Bearer crm-demo-token"}
    with httpx.Client(base_url=migrate_crm.url, headers=auth) as client:
        assert client.get("/api/customers/C000001").json()["customer_no"] == "C000001"
        page = client.get("/api/customers", params={"limit": 25}).json()
        assert len(page["items"]) == 25 and page["next_cursor"]
        assert client.get("/api/service-records", params={"limit": 5}).json()["items"][0]["id"] == "S0000001"
        assert client.put("/api/customers/C000001", json={"name": "x"}).status_code == 405
        assert client.post("/api/customers", json={"name": "x"}).status_code == 405
    assert httpx.get(f"{migrate_crm.url}/api/customers").status_code == 401

"""The sandbox helpdesk's web UI driven by a real Chromium: login, search, edit, comment, status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backroom.sandbox.helpdesk import create_app
from backroom.sandbox.server import start

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    srv = start(create_app(tickets=60, seed=3))
    yield srv
    srv.stop()


def test_ui_login_search_edit_comment_resolve_close(server: Any, chromium_available: None, tmp_path: Path) -> None:
    from backroom.bots.sdk.browser import open_page

    desk = server.app.state.desk
    faults = server.app.state.faults
    with open_page(tmp_path, timezone="Asia/Shanghai") as page:
        page.goto(f"{server.url}/")
        assert "/login" in page.url
        page.fill("#user", "agent01")
        page.fill("#password", "wrong")
        page.click("#login")
        assert page.locator("#error").inner_text() == "用户名或密码错误"
        page.goto(f"{server.url}/login")
        page.fill("#user", "agent01")
        page.fill("#password", "agent-pass")
        page.click("#login")
        assert page.locator("#tickets tr").count() == 51 and page.locator("#next-page").count() == 1
        page.fill("#search-box", "5")
        page.click("#search-btn")
        assert page.url.endswith("/ticket/5")
        page.fill("#cf-Product", "流量包")
        page.fill("#priority-input", "30")
        page.select_option("#queue", "Complaints-L2")
        page.click("#save-fields")
        assert page.locator("#message").inner_text() == "已保存"
        assert (
            desk.tickets[5].cf["Product"] == "流量包" and desk.tickets[5].priority == 30 and desk.tickets[5].queue == 3
        )
        page.fill("#comment-box", "已电话联系客户")
        page.click("#add-comment")
        page.click("#set-resolved")
        assert page.locator("#status").inner_text() == "resolved"
        # someone else changes the ticket: the stale form is refused, not applied
        desk.update(5, {"Priority": 1}, "agent02")
        page.click("#set-closed")
        assert "已被他人修改" in page.locator("#message").inner_text() and desk.tickets[5].status == "resolved"
        page.click("#set-closed")
        assert desk.tickets[5].status == "closed"
        history = [desk.transactions[i] for i in desk.by_ticket[5]]
        assert any(tx.type == "Comment" and tx.content == "已电话联系客户" for tx in history)
        assert [tx.new for tx in history if tx.type == "Status"][-1] == "closed"
        # a changed layout moves the save button
        faults.update({"layout_variant": 1})
        page.reload()
        assert page.locator("#save-fields").count() == 0 and page.locator("#btn-update").count() == 1
        faults.update({"layout_variant": 0})
        # sessions expire mid-run when the switch is on
        import datetime as dt

        now = [dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)]
        desk.clock = lambda: now[0]
        faults.update({"session_ttl_s": 60})
        page.goto(f"{server.url}/login")
        page.fill("#user", "agent01")
        page.fill("#password", "agent-pass")
        page.click("#login")
        page.goto(f"{server.url}/ticket/2")
        assert page.locator("#status").count() == 1
        now[0] += dt.timedelta(minutes=2)
        page.goto(f"{server.url}/ticket/2")
        assert "/login" in page.url
        faults.reset()
    # a form post without the page's CSRF token is refused
    with httpx.Client(base_url=server.url) as c:
        form = c.get("/login").text
        csrf = form.split('name="csrf" value="')[1].split('"')[0]
        c.post("/login", data={"csrf": csrf, "user": "agent01", "password": "agent-pass"})
        refused = c.post("/ticket/6/comment", data={"csrf": "forged", "content": "x"})
        assert "CSRF" in refused.text

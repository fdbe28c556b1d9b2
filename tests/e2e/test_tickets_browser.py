"""The tickets bot through the browser adapter: a helpdesk with no API, closed through its pages."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tickets import ENV, TicketsWorld

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _browser_context(world: TicketsWorld, config: Any, timeout: float = 5, **selectors: str) -> Any:
    from backroom.bots.sdk.testing import make_context
    from backroom.sandbox.demo_tickets import HELPDESK_PROFILE

    systems = world.systems()
    systems["helpdesk"] = {
        "kind": "browser",
        "url": world.helpdesk.url,
        "username": "bot",
        "password": "env:HD_PASSWORD",
        "timeout": timeout,
        "options": {"profile": HELPDESK_PROFILE, "selectors": selectors},
    }
    return make_context(
        world.tmp,
        "tickets",
        systems=systems,
        config=config,
        environ={**ENV, "HD_PASSWORD": "bot-pass"},
        clock=world.clock,
    )


def test_fill_and_autoclose_through_the_web_ui(make_tickets_world: Any, chromium_available: None) -> None:
    from backroom.bots.tickets import Tickets, TicketsParams

    world: TicketsWorld = make_tickets_world(tickets=0)
    desk = world.desk
    now = world.clock()
    new = desk.create(
        subject="投诉",
        queue=2,
        creator="agent01",
        content="客户赵敏来电反映：手机信号很差，经常打不通电话。手机：13711112222。",
    ).id
    closed_ids = []
    for i in range(3):
        mobile = f"1360000000{i}"
        t = desk.create(
            subject=f"网速慢 {i}",
            queue=2,
            content="网速慢",
            creator="agent01",
            cf={"Category": "network", "Mobile": mobile, "Amount": "50"},
            created=now - dt.timedelta(days=3),
        )
        with desk.lock:
            t.status = "resolved"
            t.resolved = t.last_updated = now - dt.timedelta(days=2)
        world.calls.script(mobile, ["satisfied"])
        closed_ids.append(t.id)
    faults = world.helpdesk.app.state.faults
    faults.update({"layout_variant": 1, "session_ttl_s": 60})  # the save button moved; sessions expire
    stop = threading.Event()

    def tick() -> None:  # two minutes pass every 2.5 s: the bot's session dies again and again mid-run
        while not stop.wait(2.5):
            world.clock.advance(minutes=2)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    ctx = _browser_context(world, world.config())
    try:
        result = Tickets().run(ctx, TicketsParams(action="all"))
    finally:
        stop.set()
        ticker.join()
    assert faults.counters["logins"] >= 3  # logged in again after expiry, and carried on
    assert result.counts.get("fill_filled") == 1, (result.counts, result.summary)
    assert desk.tickets[new].cf["Mobile"] == "13711112222" and desk.tickets[new].cf["Category"] == "network"
    assert result.counts.get("archived") == 3, result
    for tid in closed_ids:
        assert desk.tickets[tid].status == "archived"
        assert any("客户回访确认满意" in desk.transactions[i].content for i in desk.by_ticket[tid])


def test_a_write_that_landed_as_the_session_ran_out_is_not_repeated(
    make_tickets_world: Any, chromium_available: None
) -> None:
    """Every form is saved and its session ends before the answer page: the bot sees the login form
    after each write. It must read what landed instead of assuming nothing did (which either posted a
    comment twice or took its own write for a human's edit and gave the ticket up)."""
    from backroom.bots.tickets import Tickets, TicketsParams

    world: TicketsWorld = make_tickets_world(tickets=0)
    desk = world.desk
    now = world.clock()
    new = desk.create(
        subject="投诉", queue=2, creator="agent01", content="客户赵敏来电反映：网速慢。手机：13711112222。"
    ).id
    closed_ids = []
    for i in range(2):
        mobile = f"1360000001{i}"
        t = desk.create(
            subject=f"网速慢 {i}",
            queue=2,
            content="网速慢",
            creator="agent01",
            cf={"Category": "network", "Mobile": mobile, "Amount": "50"},
            created=now - dt.timedelta(days=3),
        )
        with desk.lock:
            t.status = "resolved"
            t.resolved = t.last_updated = now - dt.timedelta(days=2)
        world.calls.script(mobile, ["satisfied"])
        closed_ids.append(t.id)
    world.helpdesk.app.state.faults.update({"session_ends_after_write": True})
    result = Tickets().run(_browser_context(world, world.config()), TicketsParams(action="all"))

    assert result.counts.get("fill_filled") == 1, (result.counts, result.summary)
    assert result.counts.get("archived") == 2, (result.counts, result.summary)
    assert desk.tickets[new].cf["Mobile"] == "13711112222"

    def comments(tid: int, text: str) -> int:
        return sum(
            1
            for i in desk.by_ticket[tid]
            if desk.transactions[i].type == "Comment" and text in desk.transactions[i].content
        )

    assert comments(new, "Backroom 自动填写工单字段") == 1
    for tid in closed_ids:
        assert desk.tickets[tid].status == "archived"
        assert comments(tid, "客户回访确认满意") == 1


def test_failed_step_keeps_screenshot_and_html(make_tickets_world: Any, chromium_available: None) -> None:
    from backroom.bots.tickets import Tickets, TicketsParams

    world: TicketsWorld = make_tickets_world(tickets=0)
    world.desk.create(
        subject="投诉", queue=2, creator="agent01", content="客户赵敏来电反映：网速慢。手机：13711112222。"
    )
    ctx = _browser_context(world, world.config(), timeout=1, save_fields="#no-such-button")
    from backroom.bots.systems.helpdesk.base import HelpdeskError

    with pytest.raises(HelpdeskError, match="selector save_fields = '#no-such-button' finds nothing"):
        Tickets().run(ctx, TicketsParams(action="fill"))  # at once, naming the selector, not after a timeout
    evidence = list(Path(ctx.artifacts_dir).glob("helpdesk-update-*"))
    assert {p.suffix for p in evidence} == {".png", ".html"}
    assert "cf-Mobile" in next(p for p in evidence if p.suffix == ".html").read_text(encoding="utf-8")

"""The browser helpdesk adapter driving Request Tracker 5's own web UI with the shipped ``rt5`` profile.

The bot logs in as ``backroom-bot`` (the non-root user of rt_bootstrap.pl, its preferences: plain
text comments, ISO dates, English) through RT's login form, and reads, fills, resolves, moves and
comments through ``Display``/``Modify``/``Update``/``History.html``. Every result is read back through
REST2 as root, never taken from the adapter's or the bot's own report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.helpdesk.base import ChangeRefused, HelpdeskError, TicketChanged
from backroom.bots.systems.helpdesk.browser import BrowserHelpdesk
from tests.realsystems.rt import RequestTracker
from tests.realsystems.test_rt_tickets import DL_TOKEN, _comments, _create, _history, _resolved, _root, _ticket

pytestmark = [pytest.mark.realsystem, pytest.mark.slow, pytest.mark.browser]

T = TypeVar("T")

#: RT's test instance shows times in UTC (its $Timezone; the bot's user has no zone of its own)
PROFILE = {"base": "rt5", "timezone": "UTC"}


def _settings(rt: RequestTracker, **selectors: str) -> dict[str, Any]:
    return {
        "kind": "browser",
        "url": rt.url,
        "username": rt.bot_username,
        "password": "env:RT_PASSWORD",
        "timeout": 15,
        "options": {"profile": PROFILE, "selectors": selectors},
    }


def _with_desk(rt: RequestTracker, evidence: Path, work: Callable[[BrowserHelpdesk], Awaitable[T]], **sel: str) -> T:
    settings = SystemSettings.model_validate(_settings(rt, **sel))

    async def go() -> T:
        desk = BrowserHelpdesk(settings, lambda ref: rt.bot_password, evidence=evidence, timezone="Asia/Shanghai")
        try:
            return await work(desk)
        finally:
            await desk.aclose()

    return asyncio.run(go())


@pytest.fixture
def rt(rt_server: RequestTracker) -> RequestTracker:
    rt_server.reset()
    return rt_server


@pytest.fixture
def dialer() -> Iterator[Any]:
    from backroom.sandbox.dialer import create_app
    from backroom.sandbox.server import start

    server = start(create_app(seed=1, outcome_delay_s=0.0))
    try:
        yield server
    finally:
        server.stop()


def test_read_fill_resolve_and_comment_through_rt_pages(
    rt: RequestTracker, tmp_path: Path, chromium_available: None
) -> None:
    tid = _create(rt, "客户姓名：王芳，手机13800138001，本月话费多扣了30元。")

    async def work(desk: BrowserHelpdesk) -> Any:
        before = await desk.get(tid)
        found = await desk.search("Queue = 'Complaints' AND (Status = 'new' OR Status = 'open')")
        filled = await desk.update(
            tid, {"CustomFields": {"CustomerName": "王芳", "Category": "billing"}}, if_match=before.etag
        )
        resolved = await desk.update(tid, {"Status": "resolved"}, if_match=filled)
        await desk.comment(tid, "bot: 已回访，客户满意\n第二行")
        after = await desk.get(tid)
        return before, found, filled, resolved, after, await desk.history(tid), await desk.text(tid), desk.logins

    before, found, filled, resolved, after, history, text, logins = _with_desk(rt, tmp_path, work)
    assert (before.status, before.queue, before.fields) == ("new", "Complaints", {})
    assert before.created is not None and before.created.tzinfo is not None
    assert [t.id for t in found] == [tid]
    assert before.etag != filled != resolved and after.etag != resolved  # the comment is a transaction too
    assert after.status == "resolved" and after.resolved is not None
    assert logins == 1  # one login, the session reused for every page
    # RT's own API says the same
    shown = _ticket(rt, tid)
    assert before.subject == shown["Subject"] and shown["Status"] == "resolved"
    assert (shown["cf"]["CustomerName"], shown["cf"]["Category"]) == ("王芳", "billing")
    assert _comments(rt, tid) == 1
    assert [e.type for e in history if e.type in ("Create", "Status", "Comment")] == ["Create", "Status", "Comment"]
    status = next(e for e in history if e.type == "Status")
    assert (status.old, status.new, status.creator) == ("new", "resolved", "backroom-bot")
    assert "第二行" in next(e for e in history if e.type == "Comment").content
    assert "王芳" in text and "已回访" not in text


def test_a_stale_token_and_a_refused_value(rt: RequestTracker, tmp_path: Path, chromium_available: None) -> None:
    tid = _create(rt, "网速慢")

    async def work(desk: BrowserHelpdesk) -> Any:
        stale = await desk.get(tid)
        with _root(rt) as client:  # a human changes the ticket between the bot's read and its write
            assert client.put(f"ticket/{tid}", json={"Status": "open"}).status_code == 200
        with pytest.raises(TicketChanged):
            await desk.update(tid, {"Status": "resolved"}, if_match=stale.etag)
        fresh = await desk.get(tid)
        with pytest.raises(ChangeRefused) as refused:  # not a number: RT's pattern refuses it
            await desk.update(tid, {"CustomFields": {"Amount": "三十元"}}, if_match=fresh.etag)
        return refused.value

    refused = _with_desk(rt, tmp_path, work)
    assert refused.refused == [("Amount", "三十元", "")] and refused.ticket_id == tid
    assert "Amount" in refused.said  # RT's own words, from the page's results
    shown = _ticket(rt, tid)
    assert shown["Status"] == "open" and not shown["cf"].get("Amount")


def test_a_missing_selector_fails_at_once_naming_it(
    rt: RequestTracker, tmp_path: Path, chromium_available: None
) -> None:
    tid = _create(rt, "网速慢")

    async def work(desk: BrowserHelpdesk) -> Any:
        with pytest.raises(HelpdeskError) as failed:
            await desk.get(tid)
        return failed.value

    error = _with_desk(rt, tmp_path, work, title="#no-such-title")
    assert "selector title = '#no-such-title' finds nothing" in str(error)
    assert sorted(p.suffix for p in tmp_path.glob("helpdesk-open-*-missing-title-*")) == [".html", ".png"]


def test_a_wrong_password_is_a_refused_login(rt: RequestTracker, tmp_path: Path, chromium_available: None) -> None:
    settings = SystemSettings.model_validate(_settings(rt))

    async def go() -> None:
        desk = BrowserHelpdesk(settings, lambda ref: "wrong", evidence=tmp_path)
        try:
            await desk.get(1)
        finally:
            await desk.aclose()

    with pytest.raises(HelpdeskError, match="refused the bot's login") as refused:
        asyncio.run(go())
    assert str(refused.value).endswith("reference)")  # RT's own error box seen (login_error), not a guess


def test_the_tickets_bot_fills_and_autocloses_through_rt_pages(
    rt: RequestTracker, dialer: Any, tmp_path: Path, chromium_available: None
) -> None:
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams

    new = _create(rt, "客户姓名：王芳，手机13800138001，本月话费多扣了30元，要求退还。")
    done = [_resolved(rt, f"1380000000{i}", dialer) for i in (1, 2)]
    archive = tmp_path / "archive"
    archive.mkdir()
    autoclose = {
        "archive_dir": str(archive),
        "min_age_hours": 0,
        "quiet_start": "00:00",
        "quiet_end": "00:00",
        "skip_public_holidays": False,
        "wait_for_outcomes_s": 5,
        "poll_interval_s": 0.05,
    }
    config = TicketsConfig.model_validate({"autoclose": autoclose})
    systems = {
        "helpdesk": _settings(rt),
        "dialer": {"kind": "dialer-http", "url": dialer.url, "token": "env:DL_TOKEN", "retries": 1},
    }
    environ = {"RT_PASSWORD": rt.bot_password, "DL_TOKEN": DL_TOKEN}
    clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # noqa: E731 - RT's own clock, real

    def run() -> Any:
        ctx = make_context(tmp_path, "tickets", systems=systems, config=config, environ=environ, clock=clock)
        try:
            return Tickets().run(ctx, TicketsParams(action="all"))
        finally:
            ctx.close()

    first = run()
    shown = _ticket(rt, new)["cf"]
    assert (shown["CustomerName"], shown["Mobile"], shown["Category"]) == ("王芳", "13800138001", "billing"), first
    assert _comments(rt, new) == 1
    for tid in done:
        ticket = _ticket(rt, tid)
        assert (ticket["Status"], ticket["Queue"]["Name"]) == ("resolved", "Complaints-Archive"), first
        assert _comments(rt, tid) == 1
    assert first.counts.get("archived") == 2, first
    before = {tid: len(_history(rt, tid)) for tid in [new, *done]}
    second = run()
    assert {tid: len(_history(rt, tid)) for tid in [new, *done]} == before, second  # a re-run changes nothing


def test_check_online_tries_the_rt5_profile_on_rt_pages(
    rt: RequestTracker, tmp_path: Path, chromium_available: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``backroom check --online`` with the helpdesk as ``kind = "browser"``: it logs in through RT's
    form and finds every selector the bot will use on the search, ticket, edit, comment and history
    pages; a selector that misses is named with the page."""
    from typer.testing import CliRunner

    import backroom.schedules.cli
    from backroom.schedules.cli import app
    from tests.realsystems.test_rt_check_online import _config

    _create(rt, "网速慢，手机13800000001")
    for name in ("DIALER_TOKEN", "DIALER_WEBHOOK_SECRET", "TICKETS_WECOM_URL"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("RT_PASSWORD", rt.bot_password)
    monkeypatch.setenv("RT_TOKEN", "unused-by-the-browser")
    monkeypatch.setattr(backroom.schedules.cli.console, "width", 250)
    monkeypatch.setattr(backroom.schedules.cli.err_console, "width", 250)
    browser = (
        'kind = "browser"\nusername = "backroom-bot"\npassword = "env:RT_PASSWORD"\n'
        'options = { profile = { base = "rt5", timezone = "UTC" }, selectors = { comment_box = "%s" } }\n#'
    )
    kind = 'kind = "rt-rest"'
    for sub in ("good", "bad"):
        (tmp_path / sub).mkdir()
    good = _config(tmp_path / "good", rt, **{kind: browser % "textarea[name=UpdateContent]"})
    result = CliRunner().invoke(app, ["check", "--online", "-c", str(good)])
    assert result.exit_code == 0, result.output
    assert "helpdesk: online OK" in result.output
    bad = _config(tmp_path / "bad", rt, **{kind: browser % "#no-such-box"})
    result = CliRunner().invoke(app, ["check", "--online", "-c", str(bad)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "selector comment_box = '#no-such-box' finds nothing on ticket page /Ticket/Update.html?id=1" in out

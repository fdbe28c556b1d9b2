"""The helpdesk adapter's RT backend against a real Request Tracker 5: what the tickets bot relies on.

RT differs from a well-behaved REST API in ways only the real program shows: a PUT answers 200
and sends no ETag even when it applied nothing, and a missing ticket is a 404. The adapter must
still return the version RT holds after a write, refuse a stale write, and say when RT kept a value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.helpdesk.base import ChangeRefused, TicketChanged, TicketNotFound
from backroom.bots.systems.helpdesk.rt import RTHelpdesk
from tests.realsystems.rt import RequestTracker

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

T = TypeVar("T")


def _with_rt(rt: RequestTracker, work: Callable[[RTHelpdesk], Awaitable[T]]) -> T:
    settings = SystemSettings(kind="rt-rest", url=rt.url, token="env:RT_TOKEN", retries=1)

    async def go() -> T:
        desk = RTHelpdesk(settings, lambda ref: rt.token)
        try:
            return await work(desk)
        finally:
            await desk.aclose()

    return asyncio.run(go())


def _ticket(rt: RequestTracker, subject: str) -> int:
    with httpx.Client(base_url=rt.rest_url, headers=rt.headers, timeout=30) as client:
        created = client.post("ticket", json={"Queue": "General", "Subject": subject, "Content": "打印机冒烟"})
        assert created.status_code == 201, created.text
        return int(created.json()["id"])


def test_read_search_and_a_confirmed_write(rt_server: RequestTracker) -> None:
    tid = _ticket(rt_server, "printer on fire")

    async def work(desk: RTHelpdesk) -> Any:
        before = await desk.get(tid)
        found = await desk.search(f"Queue = 'General' AND id = {tid}")
        etag = await desk.update(tid, {"Status": "open"}, if_match=before.etag)
        after = await desk.get(tid)
        await desk.comment(tid, "bot: 已回访，客户满意")
        return before, found, etag, after, await desk.text(tid), await desk.history(tid)

    before, found, etag, after, text, history = _with_rt(rt_server, work)
    assert (before.subject, before.status, before.queue) == ("printer on fire", "new", "General")
    assert [t.id for t in found] == [tid]
    assert etag is not None and etag != before.etag and etag == after.etag  # RT sent none: read back
    assert after.status == "open"
    assert "打印机冒烟" in text and "已回访" not in text  # the conversation, not internal comments
    assert any(e.type == "Comment" and "已回访，客户满意" in e.content for e in history)
    assert any(e.type == "Status" and (e.old, e.new) == ("new", "open") for e in history)


def test_a_stale_write_and_a_kept_value_are_business_errors(rt_server: RequestTracker) -> None:
    tid = _ticket(rt_server, "stale")

    async def work(desk: RTHelpdesk) -> Any:
        stale = await desk.get(tid)
        await desk.update(tid, {"Status": "open"}, if_match=stale.etag)
        with pytest.raises(TicketChanged) as changed:
            await desk.update(tid, {"Status": "resolved"}, if_match=stale.etag)
        fresh = await desk.get(tid)
        with pytest.raises(ChangeRefused, match="isn't a valid status") as refused:
            await desk.update(tid, {"Status": "closed"}, if_match=fresh.etag)  # not in RT's default lifecycle
        fresh = await desk.get(tid)
        with pytest.raises(ChangeRefused, match=r"RT refused Mobile = '13711112222' \(RT kept ''\): RT gave no reason"):
            await desk.update(tid, {"CustomFields": {"Mobile": "13711112222"}}, if_match=fresh.etag)  # no such field
        with pytest.raises(TicketNotFound) as missing:
            await desk.get(999_999)
        return [changed.value, refused.value, missing.value], await desk.get(tid)

    errors, last = _with_rt(rt_server, work)
    assert all(isinstance(e, BusinessError) and not isinstance(e, ApplicationError) for e in errors)
    assert last.status == "open"


@pytest.mark.parametrize("auth", ["token", "basic", "session"])
def test_each_auth_mode_reads_writes_and_comments_as_the_bot(rt_server: RequestTracker, auth: str) -> None:
    """The non-root bot user in each auth mode; ``session`` logs in once per adapter, whatever it does."""
    tid = _ticket(rt_server, "auth modes")
    with httpx.Client(base_url=rt_server.rest_url, headers=rt_server.headers, timeout=30) as client:
        assert client.put(f"ticket/{tid}", json={"Queue": "Complaints"}).status_code == 200
    values: dict[str, Any] = {"kind": "rt-rest", "url": rt_server.url, "retries": 1, "auth": auth}
    if auth == "token":
        values["token"] = "env:RT_TOKEN"
    else:
        values.update(username=rt_server.bot_username, password="env:RT_PASSWORD")
    secrets = {"env:RT_TOKEN": rt_server.bot_token, "env:RT_PASSWORD": rt_server.bot_password}

    async def go() -> tuple[RTHelpdesk, Any]:
        desk = RTHelpdesk(SystemSettings.model_validate(values), secrets.__getitem__)
        try:
            before = await desk.get(tid)
            await desk.update(tid, {"CustomFields": {"Product": f"via {auth}"}}, if_match=before.etag)
            await desk.comment(tid, f"comment via {auth}")
            return desk, await desk.comments(tid)
        finally:
            await desk.aclose()

    desk, comments = asyncio.run(go())
    assert f"comment via {auth}" in comments
    assert desk.logins == (1 if auth == "session" else 0)
    with httpx.Client(base_url=rt_server.rest_url, headers=rt_server.headers, timeout=30) as client:
        data = client.get(f"ticket/{tid}").json()
    assert [cf["values"] for cf in data["CustomFields"] if cf["name"] == "Product"] == [[f"via {auth}"]]


def test_a_wrong_password_and_a_wrong_base_url_are_named(rt_server: RequestTracker) -> None:
    async def go(values: dict[str, Any]) -> None:
        desk = RTHelpdesk(SystemSettings.model_validate(values), lambda ref: "wrong-password")
        try:
            await desk.get(1)
        finally:
            await desk.aclose()

    base = {"kind": "rt-rest", "retries": 1, "username": "backroom-bot", "password": "env:X"}
    with pytest.raises(ApplicationError, match="refused the login of user 'backroom-bot'"):
        asyncio.run(go({**base, "url": rt_server.url, "auth": "session"}))
    with pytest.raises(ApplicationError, match=r"rejected the username/password \(401"):
        asyncio.run(go({**base, "url": rt_server.url, "auth": "basic"}))
    with pytest.raises(ApplicationError, match="not JSON"):  # RT's web UI answers an unknown path with HTML
        asyncio.run(go({**base, "url": f"{rt_server.url}/Ticket", "auth": "basic"}))

"""The sandbox helpdesk through its RT5 REST2 API, including each misbehaviour switch."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backroom.sandbox.helpdesk import create_app, parse_ticketsql
from backroom.sandbox.server import start

TOKEN = "sandbox-helpdesk-token"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    srv = start(create_app(tickets=40, seed=5))
    yield srv
    srv.stop()


@pytest.fixture
def api(server: Any) -> Iterator[httpx.Client]:
    server.app.state.faults.reset()
    with httpx.Client(base_url=server.url + "/REST/2.0", headers={"Authorization": f"token {TOKEN}"}) as c:
        yield c


def test_token_is_required(server: Any) -> None:
    assert httpx.get(f"{server.url}/REST/2.0/ticket/1").status_code == 401
    bad = httpx.get(f"{server.url}/REST/2.0/ticket/1", headers={"Authorization": "token nope"})
    assert bad.status_code == 401


def test_ticket_shape_follows_rt_rest2(api: httpx.Client) -> None:
    r = api.get("/ticket/1")
    body = r.json()
    assert r.status_code == 200 and r.headers["etag"]
    assert body["id"] == 1 and body["type"] == "ticket" and body["_url"].endswith("/REST/2.0/ticket/1")
    assert body["Queue"]["type"] == "queue"
    names = [cf["name"] for cf in body["CustomFields"]]
    assert "Mobile" in names and all(isinstance(cf["values"], list) for cf in body["CustomFields"])
    assert {h["ref"] for h in body["_hyperlinks"]} >= {"self", "history", "comment", "correspond"}
    assert api.get("/ticket/99999").status_code == 404


def test_ticketsql_search_with_fields_and_pages(api: httpx.Client) -> None:
    query = "Status = 'resolved' AND Queue = 'Complaints'"
    first = api.get("/tickets", params={"query": query, "per_page": 5, "fields": "Status,Subject"}).json()
    assert first["total"] > 5 and first["count"] == 5 and "next_page" in first
    assert all(set(i) == {"id", "type", "_url", "Status", "Subject"} for i in first["items"])
    assert all(i["Status"] == "resolved" for i in first["items"])
    second = httpx.get(first["next_page"], headers=api.headers).json()
    assert second["page"] == 2 and {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in first["items"]})
    ors = api.get("/tickets", params={"query": "(id = 1 OR id = 2) AND id != 2"}).json()
    assert [i["id"] for i in ors["items"]] == [1]
    bad = api.get("/tickets", params={"query": "Status = "})
    assert bad.status_code == 400


def test_ticketsql_custom_fields_dates_and_like() -> None:
    from backroom.sandbox.helpdesk import Helpdesk

    desk = Helpdesk(lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    t = desk.create(subject="宽带断网", queue=2, content="x", creator="a", cf={"Category": "network"})
    assert parse_ticketsql("'CF.{Category}' = 'network' AND Subject LIKE '断网'")(t, "")
    assert parse_ticketsql("Created < '2026-01-03 00:00:00'")(t, "")
    assert not parse_ticketsql("CF.{Mobile} IS NOT NULL")(t, "")


def test_update_if_match_history_and_comments(api: httpx.Client) -> None:
    r = api.get("/ticket/3")
    etag = r.headers["etag"]
    changed = api.put(
        "/ticket/3", json={"Priority": 50, "CustomFields": {"Product": "流量包"}}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200 and any("Priority" in m for m in changed.json())
    stale = api.put("/ticket/3", json={"Status": "open"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.put("/ticket/3", json={"Status": "bogus"}).status_code == 400
    assert api.post("/ticket/3/comment", json={"Content": "备注：已联系客户"}).status_code == 201
    assert api.post("/ticket/3/correspond", content="您好", headers={"content-type": "text/plain"}).status_code == 201
    history = api.get("/ticket/3/history", params={"fields": "Type,Field,NewValue"}).json()["items"]
    types = [h["Type"] for h in history]
    assert types[0] == "Create" and "Comment" in types and "Correspond" in types and "CustomField" in types
    comment = next(h for h in history if h["Type"] == "Comment")
    att = api.get(f"/transaction/{comment['id']}/attachments", params={"fields": "Content"}).json()["items"][0]
    assert base64.b64decode(att["Content"]).decode() == "备注：已联系客户"


def test_create_ticket(api: httpx.Client) -> None:
    r = api.post(
        "/ticket",
        json={"Subject": "新投诉", "Queue": "Complaints", "Content": "网速慢", "CustomFields": {"Category": "network"}},
    )
    assert r.status_code == 201
    body = api.get(f"/ticket/{r.json()['id']}").json()
    assert (
        body["Status"] == "new"
        and {"name": "Category"}.items() <= next(cf for cf in body["CustomFields"] if cf["name"] == "Category").items()
    )
    assert api.post("/ticket", json={"Queue": "Complaints"}).status_code == 400


def test_fault_switches(server: Any, api: httpx.Client) -> None:
    httpx.post(f"{server.url}/_sandbox/faults", json={"rate_limit_every": 2, "retry_after_s": 0.1})
    responses = [api.get("/ticket/1") for _ in range(4)]
    assert [r.status_code for r in responses].count(429) == 2
    assert next(r for r in responses if r.status_code == 429).headers["retry-after"].isdigit()  # whole seconds
    server.app.state.faults.reset()
    server.app.state.faults.update({"fail_next": 2, "error_status": 500})
    assert [api.get("/ticket/1").status_code for _ in range(3)] == [500, 500, 200]
    server.app.state.faults.update({"latency_ms": 150})
    started = dt.datetime.now()
    api.get("/ticket/1")
    assert (dt.datetime.now() - started).total_seconds() >= 0.15


def test_deterministic_data_from_seed() -> None:
    a = create_app(tickets=5, seed=9, clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    b = create_app(tickets=5, seed=9, clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    text = [a.state.desk.transactions[i].content for i in range(1, 6)]
    assert text == [b.state.desk.transactions[i].content for i in range(1, 6)]
    assert len(set(text)) == 5


def test_web_form_from_an_older_version_is_refused(server: Any) -> None:
    """A page drawn before someone else's change must not overwrite it (fields and status alike)."""
    import re

    desk = server.app.state.desk
    with httpx.Client(base_url=server.url, follow_redirects=True) as web:
        form = web.get("/login").text
        csrf = re.search(r'name="csrf" value="(\w+)"', form).group(1)
        web.post("/login", data={"csrf": csrf, "user": "agent01", "password": "agent-pass"})
        page = web.get("/ticket/3").text
        session_csrf = re.search(r'name="csrf"\s*value="(\w+)"', page).group(1)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        before = desk.tickets[3].status
        desk.update(3, {"Priority": 7}, "someone-else")
        stale = web.post("/ticket/3/status", data={"csrf": session_csrf, "version": version, "status": "stalled"})
        assert "工单已被他人修改" in stale.text and desk.tickets[3].status == before != "stalled"
        fresh = re.search(r'name="version" value="(\d+)"', stale.text).group(1)
        done = web.post("/ticket/3/status", data={"csrf": session_csrf, "version": fresh, "status": "stalled"})
        assert "状态已更新" in done.text and desk.tickets[3].status == "stalled"

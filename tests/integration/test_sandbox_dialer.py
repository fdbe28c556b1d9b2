"""The sandbox call platform: idempotent callbacks, do-not-call, outcomes by webhook and polling."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from backroom.bots.systems.dialer.base import verify_signature
from backroom.sandbox.dialer import create_app
from backroom.sandbox.server import start

SH = ZoneInfo("Asia/Shanghai")
AUTH = {"Authorization": "Bearer sandbox-dialer-token"}


class Clock:
    def __init__(self, hour: int) -> None:
        self.now = dt.datetime(2026, 11, 24, hour, 0, tzinfo=SH).astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(10)


@pytest.fixture
def dialer(clock: Clock) -> Iterator[Any]:
    srv = start(create_app(outcome_delay_s=0, clock=clock, tick_s=0.02))
    yield srv
    srv.stop()


def _task(number: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "ticket_ref": "42", "idempotency_key": key, "script": "回访", **extra}


def _wait(fn: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_bearer_token_required(dialer: Any) -> None:
    assert httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("13812345678", "k")).status_code == 401


def test_same_idempotency_key_never_calls_twice(dialer: Any) -> None:
    first = httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("138 1234 5678", "t42-1"), headers=AUTH)
    again = httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("13812345678", "t42-1"), headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert dialer.app.state.dialer.calls_placed == 1


def test_do_not_call_and_validation(dialer: Any) -> None:
    assert httpx.post(f"{dialer.url}/api/v1/dnc", json={"number": "+86 139 0000 0000"}, headers=AUTH).status_code == 201
    refused = httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("13900000000", "k1"), headers=AUTH)
    assert refused.status_code == 409 and refused.json()["error"] == "do_not_call"
    assert httpx.get(f"{dialer.url}/api/v1/dnc", headers=AUTH).json()["numbers"] == ["13900000000"]
    bad = httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("138", "k2", allowed_hours="9-20"), headers=AUTH)
    assert bad.status_code == 422


def test_outcomes_by_polling_and_scripted_answers(dialer: Any) -> None:
    state = dialer.app.state.dialer
    state.script("13812345678", ["no_answer", "satisfied"])
    for key in ("a-1", "a-2"):
        httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("13812345678", key), headers=AUTH)
    httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("12345", "bad-1"), headers=AUTH)
    feed = _wait(lambda: (r := httpx.get(f"{dialer.url}/api/v1/outcomes", headers=AUTH).json())["next"] == 3 and r)
    outcomes = {e["idempotency_key"]: e["outcome"] for e in feed["items"]}
    assert outcomes == {"a-1": "no_answer", "a-2": "satisfied", "bad-1": "invalid_number"}
    later = httpx.get(f"{dialer.url}/api/v1/outcomes", params={"since": 3}, headers=AUTH).json()
    assert later == {"items": [], "next": 3}
    task = httpx.get(f"{dialer.url}/api/v1/callbacks/{feed['items'][1]['task_id']}", headers=AUTH).json()
    assert task["status"] == "completed" and task["outcome"] == "satisfied"


def test_no_outcome_outside_allowed_hours(dialer: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2026, 11, 24, 21, 0, tzinfo=SH).astimezone(dt.UTC)
    r = httpx.post(f"{dialer.url}/api/v1/callbacks", json=_task("13812345678", "late-1"), headers=AUTH).json()
    state = dialer.app.state.dialer
    assert state.complete_due() == []  # a tick at 21:00 itself, not a wait for the ticker
    assert httpx.get(f"{dialer.url}/api/v1/callbacks/{r['id']}", headers=AUTH).json()["status"] == "queued"
    clock.now += dt.timedelta(hours=13)  # 10:00 next day
    state.complete_due()  # (or the ticker got there first: either way the task is done now)
    task = httpx.get(f"{dialer.url}/api/v1/callbacks/{r['id']}", headers=AUTH).json()
    assert task["status"] == "completed" and task["outcome"]


def test_signed_webhooks_duplicated_on_switch(dialer: Any, webhook_receiver: Any) -> None:
    dialer.app.state.faults.update({"duplicate_webhooks": True})
    dialer.app.state.dialer.script("13812345670", ["unsatisfied"])
    httpx.post(
        f"{dialer.url}/api/v1/callbacks",
        headers=AUTH,
        json=_task("13812345670", "w-1", callback_url=webhook_receiver.url + "/hook"),
    )
    got = webhook_receiver.wait_for(2)
    assert len(got) == 2 and got[0]["body"] == got[1]["body"]
    event = got[0]["body"]
    assert event["outcome"] == "unsatisfied" and event["note"]
    raw = json.dumps(event, ensure_ascii=False).encode()
    assert verify_signature("sandbox-webhook-secret", raw, got[0]["headers"]["X-Dialer-Signature"])
    assert not verify_signature("other", raw, got[0]["headers"]["X-Dialer-Signature"])

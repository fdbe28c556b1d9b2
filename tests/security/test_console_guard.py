"""The console's wall and sessions, attacked as a hostile website, a careless admin and a guesser would.

Each test reproduces one finding of the security review and checks it no longer works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backroom.schedules.console.guard import client_address
from tests.fixtures.console import CONSOLE_URL, ConsoleHarness, console_bots, console_environ, console_settings


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    """A console without users (everyone is the local admin), as `backroom serve` starts by default."""
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    runner = Runner(console_settings(tmp_path, users=False, console={"max_body_mb": 1}), bots=console_bots())
    yield TestClient(create_app(runner), base_url=CONSOLE_URL, follow_redirects=False), runner


def test_dns_rebinding_host_is_refused(open_console: tuple[TestClient, Any]) -> None:
    client, _ = open_console
    assert client.get("/api/v1/bots").status_code == 200
    rebound = client.get("/api/v1/bots", headers={"Host": "attacker.example"})
    assert rebound.status_code == 421
    assert client.get("/", headers={"Host": "attacker.example:8600"}).status_code == 421


def test_cross_origin_pause_is_refused_even_without_users(open_console: tuple[TestClient, Any]) -> None:
    client, runner = open_console
    forged = client.post("/api/v1/bots/echo/pause", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    as_form = client.post(
        "/api/v1/bots/echo/pause",
        content="x=1",
        headers={"Origin": "null", "Content-Type": "text/plain"},
    )
    assert as_form.status_code == 403
    assert not runner.is_paused("echo")


def test_a_user_less_console_needs_the_csrf_token_for_every_change(open_console: tuple[TestClient, Any]) -> None:
    client, runner = open_console
    no_token = client.post("/api/v1/bots/echo/pause")
    assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["detail"]
    bearer_means_nothing = client.post("/api/v1/bots/echo/pause", headers={"Authorization": "Bearer anything"})
    assert bearer_means_nothing.status_code == 403
    assert not runner.is_paused("echo")
    token = client.get("/api/v1/session").json()["csrf"]
    same_origin = client.post("/api/v1/bots/echo/pause", headers={"X-CSRF-Token": token, "Origin": CONSOLE_URL})
    assert same_origin.status_code == 200 and runner.is_paused("echo")


def test_oversized_bodies_are_refused_before_they_are_read(open_console: tuple[TestClient, Any]) -> None:
    client, _ = open_console
    token = client.get("/api/v1/session").json()["csrf"]
    big = b"x" * (1024 * 1024 + 1)
    declared = client.post("/api/v1/bots/echo/runs", content=big, headers={"X-CSRF-Token": token})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"y" * (512 * 1024)

    streamed = client.post("/api/v1/bots/echo/runs", content=chunks(), headers={"X-CSRF-Token": token})
    assert streamed.status_code == 413


def test_logout_ends_the_session_on_the_server(console_harness: ConsoleHarness) -> None:
    browser = console_harness.login("otto")
    stolen = dict(browser.cookies)
    assert browser.get("/api/v1/runs").status_code == 200
    browser.post("/logout", data={"csrf": browser.csrf})
    thief = TestClient(console_harness.app, base_url=CONSOLE_URL, cookies=stolen)
    assert thief.get("/api/v1/runs").status_code == 401


def test_sign_out_everywhere(console_harness: ConsoleHarness) -> None:
    first, second = console_harness.login("vera"), console_harness.login("vera")
    assert second.get("/api/v1/runs").status_code == 200
    viewer_tries = first.post("/api/v1/users/ada/sign-out", headers={"X-CSRF-Token": first.csrf})
    assert viewer_tries.status_code == 403
    admin = console_harness.client("ada")
    ended = admin.post("/api/v1/users/vera/sign-out")
    assert ended.status_code == 200 and ended.json()["sessions_ended"] >= 2
    assert first.get("/api/v1/runs").status_code == 401
    assert second.get("/api/v1/runs").status_code == 401
    entries = console_harness.runner.history.audit_log(limit=5)
    assert any(e.action == "sign-out-everywhere" and e.target == "vera" for e in entries)


def test_a_changed_password_ends_old_sessions(console_harness: ConsoleHarness) -> None:
    browser = console_harness.login("otto")
    auth = console_harness.app.state.console.auth
    user = auth._users["otto"]
    try:
        auth._users["otto"] = user.model_copy(update={"password_hash": "$argon2id$v=19$m=1024,t=1,p=1$new$new"})
        assert browser.get("/api/v1/runs").status_code == 401
    finally:
        auth._users["otto"] = user


def test_forged_forwarded_for_does_not_dodge_the_login_throttle(console_harness: ConsoleHarness) -> None:
    from tests.fixtures.console import extract_csrf

    console_harness.now[0] += 301  # forget other tests' failures (the harness is shared)
    history = console_harness.runner.history

    def throttled_entries() -> int:
        return sum(1 for e in history.audit_log(limit=1000) if e.outcome == "throttled")

    before = throttled_entries()
    client = console_harness.client()
    statuses = []
    for attempt in range(8):
        csrf = extract_csrf(client.get("/login").text)
        response = client.post(
            "/login",
            data={"name": "ada", "password": "wrong", "csrf": csrf, "next": "/"},
            headers={"X-Forwarded-For": f"10.9.8.{attempt}"},
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert throttled_entries() - before == 1, "a flood of refused log-ins writes one audit entry per window"
    console_harness.now[0] += 301  # the window passes on the console's clock
    csrf = extract_csrf(client.get("/login").text)
    again = client.post("/login", data={"name": "ada", "password": "wrong", "csrf": csrf, "next": "/"})
    assert again.status_code == 401


def test_client_address_believes_only_trusted_proxies() -> None:
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("10.0.0.5", "1.2.3.4, 10.0.0.7", ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("192.0.2.9", "1.2.3.4", ["10.0.0.0/8"]) == "192.0.2.9"


def test_invalid_tokens_are_throttled(console_harness: ConsoleHarness) -> None:
    console_harness.now[0] += 61  # forget other tests' failures (the harness is shared)
    client = console_harness.client()
    codes = [client.get("/api/v1/runs", headers={"Authorization": f"Bearer wrong-{i}"}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    console_harness.now[0] += 61


def test_audit_detail_cannot_break_out_of_its_attribute(console_harness: ConsoleHarness) -> None:
    console_harness.runner.history.audit(
        "ada", "trigger", "echo", detail={"text": '" onmouseover="alert(1)" x="'}, source="test"
    )
    page = console_harness.login("ada").get("/audit").text
    assert 'onmouseover="alert(1)"' not in page
    assert "&#34; onmouseover=" in page or "&quot; onmouseover=" in page


def test_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner
    from tests.fixtures.console import extract_csrf

    settings = console_settings(tmp_path)
    settings.console.public_url = "https://backroom.example.com"
    app = create_app(Runner(settings, bots=console_bots()), environ=console_environ())
    client = TestClient(app, base_url="https://backroom.example.com")
    response = client.get("/login")
    assert extract_csrf(response.text)
    assert "secure" in response.headers["set-cookie"].lower()

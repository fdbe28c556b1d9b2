"""A hostile website against a console without users, in a real Chromium.

Before: a page on another origin paused a bot by auto-submitting a form, and a DNS-rebound name
(attacker.example → 127.0.0.1) made any website same-origin with the console, and so its admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.console import console_bots, console_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVIL_PAGE = """<!doctype html><html><body>
<form method="POST" action="{target}/api/v1/bots/echo/pause" enctype="text/plain">
<input name="x" value="1"></form>
<script>document.forms[0].submit()</script></body></html>"""


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    from backroom.sandbox.server import start
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    runner = Runner(console_settings(tmp_path, users=False), bots=console_bots())
    server = start(create_app(runner))
    try:
        yield server.url, runner
    finally:
        server.stop()


@pytest.fixture
def evil_site(open_console: tuple[str, Any]) -> Iterator[str]:
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    from backroom.sandbox.server import start

    evil = FastAPI()

    @evil.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(EVIL_PAGE.format(target=open_console[0]))

    server = start(evil, host="127.0.0.2")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def chromium(chromium_available: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from backroom.bots.sdk.browser import CHROMIUM_ARGS, chromium_executable

    rules = "--host-resolver-rules=MAP attacker.example 127.0.0.1"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=[*CHROMIUM_ARGS, rules])
        try:
            yield browser
        finally:
            browser.close()


def test_cross_origin_form_cannot_pause_a_bot(chromium: Any, open_console: tuple[str, Any], evil_site: str) -> None:
    _, runner = open_console
    page = chromium.new_page()
    page.goto(evil_site)
    page.wait_for_url("**/api/v1/bots/echo/pause", timeout=15_000)
    assert "cross-origin request refused" in page.content()
    assert not runner.is_paused("echo")


def test_dns_rebinding_gets_nothing(chromium: Any, open_console: tuple[str, Any]) -> None:
    url, runner = open_console
    port = url.rsplit(":", 1)[1]
    page = chromium.new_page()
    response = page.goto(f"http://attacker.example:{port}/api/v1/bots")
    assert response is not None and response.status == 421
    status = page.evaluate("fetch('/api/v1/bots/echo/pause', {method: 'POST'}).then(r => r.status)")
    assert status == 421
    assert not runner.is_paused("echo")
    own = page.goto(f"{url}/api/v1/bots")
    assert own is not None and own.status == 200, "the console itself still answers on its own address"

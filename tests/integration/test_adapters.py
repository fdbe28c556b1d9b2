"""The shared adapters every bot gets from its context: HTTP with retries, a browser with evidence."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from backroom.bots.sdk.testing import make_context
from backroom.sandbox.faults import FaultMiddleware, Faults
from backroom.sandbox.server import running


def make_app() -> tuple[object, Faults, list]:
    seen: list = []

    async def hello(request):
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"ok": True})

    async def page(request):
        return HTMLResponse("<html><body><h1>账单列表</h1><button id='save'>保存</button></body></html>")

    faults = Faults()
    app = FaultMiddleware(
        Starlette(routes=[Route("/hello", hello, methods=["GET", "POST"]), Route("/page", page)]), faults
    )
    return app, faults, seen


def test_http_retries_429_honouring_retry_after_and_5xx(tmp_path) -> None:
    app, faults, seen = make_app()
    with running(app) as server:
        ctx = make_context(
            tmp_path,
            systems={"billing": {"kind": "http", "url": server.url, "token": "env:BILLING_TOKEN"}},
            environ={"BILLING_TOKEN": "tkn-123456"},
        )
        faults.update({"fail_next": 2, "error_status": 503})
        with ctx.http("billing") as client:
            assert client.post("/hello").json() == {"ok": True}
            assert faults.counters["503"] == 2
            faults.update({"rate_limit_every": 1, "retry_after_s": 0.6})
            started = time.monotonic()
            # every request is limited for the first 0.7 s, then allowed again
            import threading

            threading.Timer(0.7, lambda: faults.update({"rate_limit_every": 0})).start()
            assert client.get("/hello").status_code == 200
            assert time.monotonic() - started >= 0.6
        assert seen[-1] == "Bearer tkn-123456"


def test_http_gives_up_after_configured_retries(tmp_path) -> None:
    app, faults, _ = make_app()
    with running(app) as server:
        ctx = make_context(tmp_path, systems={"billing": {"kind": "http", "url": server.url, "retries": 1}})
        faults.update({"fail_next": 5, "error_status": 502})
        with ctx.http("billing") as client:
            assert client.get("/hello").status_code == 502
        assert faults.counters["502"] == 2


@pytest.mark.browser
def test_browser_keeps_screenshot_and_html_when_a_step_fails(tmp_path, chromium_available) -> None:
    app, _, _ = make_app()
    with running(app) as server:
        ctx = make_context(tmp_path)
        with pytest.raises(Exception, match="Timeout"), ctx.browser() as page:
            page.goto(f"{server.url}/page")
            assert page.locator("h1").inner_text() == "账单列表"
            page.click("#no-such-button", timeout=500)
        shot = ctx.artifacts_dir / "failure.png"
        html = ctx.artifacts_dir / "failure.html"
        assert shot.stat().st_size > 1000 and shot.read_bytes()[:4] == b"\x89PNG"
        assert "账单列表" in html.read_text(encoding="utf-8")

"""Every console page in zh-CN, at a desktop width and at 390 px (what a WeCom alert link opens on a
phone), in a real Chromium: Chinese throughout (no English the catalogue knows), and at 390 px the page
itself never scrolls sideways (wide tables scroll inside their own box). Screenshots go to
test-artifacts/console/zh-CN/ for a person to look at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backroom.schedules.counts import COUNT_LABELS
from backroom.schedules.i18n import ZH
from tests.fixtures.console import ConsoleHarness, password_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = (
    Path(os.environ.get("BACKROOM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    / "console"
    / "zh-CN"
)
WIDTHS = {"desktop": 1280, "phone": 390}
KNOWN_ENGLISH = {k for k, v in ZH.items() if v != k and re.search(r"[A-Za-z]{2}", k)} | {
    en for en, _ in COUNT_LABELS.values()
}


@pytest.fixture(scope="module")
def console_url(console_harness: ConsoleHarness) -> Iterator[str]:
    from backroom.sandbox.server import start

    server = start(console_harness.app)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_available: None) -> Iterator[object]:
    from backroom.bots.sdk.browser import launch

    with launch() as chromium:
        yield chromium


def test_every_page_in_chinese_at_desktop_and_phone_width(
    browser: object, console_url: str, console_harness: ConsoleHarness
) -> None:
    h = console_harness
    warned = h.runner.history.create_run("echo", trigger="schedule")
    h.runner.history.update_run(warned.id, status="with_warnings", counts={"documents": 6, "fail": 3, "pass": 3})
    failed = h.runner.history.create_run("failer", trigger="manual", triggered_by="otto")
    h.runner.history.update_run(failed.id, status="failed", error="FileNotFoundError: [Errno 2] no such file")
    pages = {
        "home": "/",
        "bot": "/bots/ticker",
        "runs": "/runs",
        "run-with-warnings": f"/runs/{warned.id}",
        "run-failed": f"/runs/{failed.id}",
        "audit": "/audit",
        "queues": "/queues",
        "not-found": "/bots/nobody",
    }
    problems: list[str] = []
    shots: list[Path] = []
    for device, width in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": 844}, locale="zh-CN")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{console_url}/login")
        page.screenshot(path=str(_shot(shots, f"login-{device}")), full_page=True)
        page.fill("input[name=name]", "ada")
        page.fill("input[name=password]", password_of("ada"))
        page.click("button[type=submit]")
        page.wait_for_url(f"{console_url}/")
        for name, path in pages.items():
            page.goto(f"{console_url}{path}")
            assert page.evaluate("document.documentElement.lang") == "zh-CN", path
            lines = [ln.strip(" ▶←→·*:：") for ln in page.inner_text("main").splitlines()]
            problems += [f"{device} {path}: {ln!r}" for ln in lines if ln in KNOWN_ENGLISH]
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{device} {path}: the page scrolls sideways by {overflow} px")
            page.screenshot(path=str(_shot(shots, f"{name}-{device}")), full_page=True)
        context.close()
    assert problems == [], "\n".join(problems)
    assert all(p.stat().st_size > 5_000 for p in shots)  # real renderings, not blank pages


def _shot(shots: list[Path], name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    shots.append(path)
    return path

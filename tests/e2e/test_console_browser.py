"""The console in a real Chromium: log in, run a bot from its form and watch the log stream, download
the report, cancel a long run, and a viewer refused. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fixtures.console import ConsoleHarness, password_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = (
    Path(os.environ.get("BACKROOM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "console"
)


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


def _page(browser: object, locale: str = "en-US") -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale=locale, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    return context.new_page()


def _login(page: object, url: str, user: str) -> None:
    page.goto(f"{url}/")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=name]", user)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password_of(user))  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}/")  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    assert path.stat().st_size > 10_000
    return path


def test_operator_runs_a_bot_from_its_form_and_watches_it(
    console_harness: ConsoleHarness, console_url: str, browser: object, tmp_path: Path
) -> None:
    page = _page(browser)
    page.goto(f"{console_url}/")
    _shot(page, "01-login")
    _login(page, console_url, "otto")
    _shot(page, "02-home")
    page.click("a.botname[href='/bots/ticker']")
    page.wait_for_url(f"{console_url}/bots/ticker")
    assert page.input_value("#p-label") == "tick"

    # a bad value first: the error shows next to its field, nothing runs
    page.fill("#p-steps", "5000")
    page.evaluate("document.getElementById('p-steps').removeAttribute('max')")
    page.click("#run-now")
    page.wait_for_selector(".error[data-field=steps]")
    assert "less than or equal to 1000" in page.inner_text(".field.has-error")
    _shot(page, "03-bot-invalid")

    statement = tmp_path / "statement.csv"
    statement.write_text("date,amount\n2026-11-23,100.50\n", encoding="utf-8")
    page.fill("#p-steps", "16")
    page.fill("#p-interval", "0.25")
    page.fill("#p-report_date", "2026-11-23")
    page.select_option("#p-mode", "thorough")
    page.check("#p-shout")
    page.set_input_files("#p-statement_file", str(statement))
    _shot(page, "04-bot-form")
    page.click("#run-now")
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]

    # the log streams in while the run is going
    page.wait_for_selector("#log >> text=TICK 3 of 16")
    live_status = page.get_attribute("#status .badge", "class")
    assert "s-running" in live_status
    assert page.is_visible("#live")
    _shot(page, "05-run-live")
    page.wait_for_selector("#status .s-succeeded", timeout=30_000)
    expect(page.locator("#finished")).not_to_have_text("—")  # the page reloaded with the final record
    assert "TICK 16 of 16" in page.inner_text("#log")
    expect(page.locator("img.shot")).to_have_js_property("naturalWidth", 320)  # the screenshot shows inline
    _shot(page, "06-run-succeeded")

    with page.expect_download() as info:
        page.click("a.artifact:has-text('report.xlsx')")
    saved = tmp_path / "report.xlsx"
    info.value.save_as(saved)
    assert zipfile.is_zipfile(saved)
    from openpyxl import load_workbook

    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0] == ("step", "label") and rows[-1] == (16, "TICK")
    page.click("nav a[href='/runs']")
    page.wait_for_url(f"{console_url}/runs")
    assert run_id[:8] in page.inner_html("table") or run_id in page.inner_html("table")
    _shot(page, "06b-runs")
    run = console_harness.runner.history.get_run(run_id)
    assert run.status == "succeeded" and Path(run.params["statement_file"]).read_text().startswith("date,amount")
    page.context.close()


def test_operator_cancels_a_long_run(console_harness: ConsoleHarness, console_url: str, browser: object) -> None:
    page = _page(browser)
    _login(page, console_url, "otto")
    page.goto(f"{console_url}/bots/ticker")
    page.fill("#p-steps", "400")
    page.fill("#p-interval", "0.2")
    page.click("#run-now")
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f]{32}$"))
    page.wait_for_selector("#log >> text=tick 2 of 400")
    page.click("#cancel")
    page.wait_for_selector("#status .s-cancelled", timeout=20_000)
    expect(page.locator("#finished")).not_to_have_text("—")  # the page reloaded with the final record
    assert "cancel requested" in page.inner_text("#log")
    assert not page.is_visible("#cancel")
    _shot(page, "07-run-cancelled")
    run = console_harness.runner.history.get_run(page.url.rsplit("/", 1)[1])
    assert run.status == "cancelled"
    page.context.close()


def test_viewer_is_refused_and_admin_sees_it_in_the_chinese_audit_log(
    console_harness: ConsoleHarness, console_url: str, browser: object
) -> None:
    page = _page(browser)
    _login(page, console_url, "vera")
    page.goto(f"{console_url}/bots/noop")
    assert page.locator("#run-now").count() == 0 and page.locator("#pause-toggle").count() == 0
    # a hand-made post from the viewer's session is refused all the same
    csrf = page.get_attribute("input[name=csrf]", "value")
    response = page.request.post(f"{console_url}/bots/noop/run", form={"csrf": csrf})
    assert response.status == 403
    page.set_content(response.text())
    page.add_style_tag(url=f"{console_url}/static/console.css")
    _shot(page, "08-viewer-refused")
    page.goto(f"{console_url}/audit")
    assert "Forbidden" in page.inner_text("h1")
    page.context.close()

    admin = _page(browser, locale="zh-CN")
    _login(admin, console_url, "ada")
    assert "机器人" in admin.inner_text("nav")
    _shot(admin, "09-home-zh")
    admin.goto(f"{console_url}/audit")
    first_denied = admin.locator("tr.bad").first
    assert "vera" in first_denied.inner_text() and "拒绝" in first_denied.inner_text()
    _shot(admin, "10-audit-zh")
    admin.goto(f"{console_url}/bots/echo")
    assert "跳过法定节假日" in admin.inner_text("body")
    _shot(admin, "11-bot-zh")
    admin.context.close()

"""Web dashboards with no API, read with a real browser (Playwright + Chromium).

Logs in through the form, follows the navigation link, picks each day of the window in the date
box, reads the table *by header names* (so reordered columns still read correctly) and keeps a
screenshot of the page as evidence for the report. A table that lacks a mapped header raises
:class:`LayoutError` naming the missing column(s) and the headers found, with a screenshot and the
page HTML kept as artifacts. A session that expires mid-run is logged into again once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from backroom.bots.systems.metric_sources.base import (
    LayoutError,
    MetricSource,
    MetricSourceError,
    PullResult,
    SourceConfig,
    Window,
)
from backroom.bots.systems.metric_sources.values import FieldSpec, RowOptions, check_columns, rows_to_samples

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from backroom.bots.sdk.context import Context

__all__ = ["DashboardSource", "Options", "pull", "read_table"]


class Options(RowOptions):
    """Where the dashboard's pieces are. The login defaults are plain HTML conventions; what is
    particular to one dashboard (its navigation, its date box, its table's headers) has no default:
    the config names it, so no site's layout is built into the adapter."""

    login_path: str = "/login"
    username_field: str = "input[name=username]"
    password_field: str = "input[name=password]"
    login_button: str = "button[type=submit]"
    nav_link: str | None = None  # link text followed after login (None: open dashboard_path)
    dashboard_path: str = "/"
    date_input: str | None = None  # filled with each day; None: read the page as is
    query_button: str = "button[type=submit]"  # pressed after filling date_input
    table: str = "table"
    max_days: int = Field(default=3, ge=1, le=62)  # read at most the window's last N days
    minutes_field: str | None = None
    interval_minutes: int = 60
    fields: dict[str, str | FieldSpec]  # metric -> the table's header (no default: every board differs)


def read_table(page: Page, selector: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header texts and rows (dicts by header) of the first table matching ``selector``."""
    data: dict[str, Any] = page.eval_on_selector(
        selector,
        """t => ({
            headers: Array.from(t.querySelectorAll('thead th, tr:first-child th')).map(h => h.innerText.trim()),
            rows: Array.from(t.querySelectorAll('tbody tr')).map(r =>
                Array.from(r.querySelectorAll('td')).map(c => c.innerText.trim()))
        })""",
    )
    headers = list(dict.fromkeys(data["headers"]))
    return headers, [dict(zip(headers, row, strict=False)) for row in data["rows"] if row]


def _login(page: Page, base: str, options: Options, user: str, password: str) -> None:
    page.goto(base + options.login_path)
    page.fill(options.username_field, user)
    page.fill(options.password_field, password)
    page.click(options.login_button)
    page.wait_for_load_state()
    if page.url.rstrip("/").endswith(options.login_path.rstrip("/")):
        raise MetricSourceError("dashboard login was refused (check the username and password references)")


def _open_day(page: Page, base: str, options: Options, day: dt.date) -> None:
    if options.date_input:
        page.fill(options.date_input, day.isoformat())
        page.click(options.query_button)
    else:
        page.goto(f"{base}{options.dashboard_path}")
    page.wait_for_load_state()


def _pull_sync(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    from backroom.bots.sdk.browser import capture_failure, open_page

    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    if not source.system:
        raise MetricSourceError(f"{where}: kind 'dashboard' needs 'system' naming a [systems.*] table")
    system = ctx.system(source.system)
    base = (system.url or "").rstrip("/")
    user = ctx.secret(system.username) if system.username and ":" in system.username else (system.username or "")
    password = ctx.secret(system.password) if system.password else ""
    tz = ZoneInfo(source.timezone) if source.timezone else ctx.timezone
    first = window.start.astimezone(tz).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    days = [last - dt.timedelta(days=i) for i in range((last - first).days + 1)][: options.max_days][::-1]
    result = PullResult()
    evidence_dir = ctx.artifacts_dir
    with open_page(evidence_dir, timezone=str(tz)) as page:
        _login(page, base, options, user, password)
        if options.nav_link:
            page.get_by_role("link", name=options.nav_link).click()
            page.wait_for_load_state()
        else:
            page.goto(base + options.dashboard_path)
        relogins = 0
        for day in days:
            if options.login_path not in page.url:
                _open_day(page, base, options, day)
            if options.login_path in page.url:  # the session expired mid-run: log in again
                relogins += 1
                if relogins > 3:
                    raise MetricSourceError(f"{where}: the dashboard keeps ending the session")
                ctx.log.info("%s: session expired, logging in again", where)
                _login(page, base, options, user, password)
                page.goto(f"{base}{options.dashboard_path}")
                _open_day(page, base, options, day)
            try:
                page.wait_for_selector(options.table, timeout=10_000)
                headers, rows = read_table(page, options.table)
                check_columns(options, headers, f"{where} dashboard table ({day})")
            except LayoutError:
                capture_failure(page, evidence_dir, f"dashboard-{source.name}-layout")
                raise
            except Exception as exc:
                capture_failure(page, evidence_dir, f"dashboard-{source.name}-failure")
                raise MetricSourceError(
                    f"{where}: no table {options.table!r} on the dashboard for {day}: {exc}"
                ) from exc
            samples, issues = rows_to_samples(rows, options, tz, f"{where} {day}", date=day)
            result.samples.extend(s for s in samples if window.start <= s.start < window.end)
            result.issues.extend(issues)
        shot = ctx.artifact(f"dashboard-{source.name}-{days[-1].isoformat()}.png")
        page.screenshot(path=str(shot), full_page=True)
        result.evidence.append(shot)
    return result


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    return await asyncio.to_thread(_pull_sync, ctx, source, window)


class DashboardSource(MetricSource):
    """A web dashboard read with a browser (``kind = "dashboard"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

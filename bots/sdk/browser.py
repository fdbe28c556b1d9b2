"""Launching a real browser for bots that must use screens built for people.

Debian's Chromium is preferred (``/usr/bin/chromium``; Playwright cannot download its own browser on
closed networks); Playwright's bundled Chromium is the fall-back where it is installed. The flags
keep Chromium from phoning home, which on a closed network means dozens of refused connections.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import ApplicationError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = [
    "CHROMIUM_ARGS",
    "AsyncChromium",
    "capture_failure",
    "chromium_executable",
    "launch",
    "open_page",
    "start_async",
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def chromium_executable() -> str | None:
    """Path of a system Chromium, or None to let Playwright use its own browser."""
    configured = os.environ.get("BACKROOM_CHROMIUM")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    return found


def _cannot_start(exc: Exception) -> ApplicationError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ApplicationError(
        f"cannot start Chromium: {first} (install Debian's chromium or run 'playwright install chromium')"
    )


@contextmanager
def launch(headless: bool = True) -> Iterator[Browser]:
    """A running Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(headless=headless, executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        except Exception as exc:
            raise _cannot_start(exc) from None
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class AsyncChromium:
    """A Chromium started for asyncio code (adapters that drive several pages at once), with one context
    in the run's language and time zone; :meth:`close` ends both."""

    playwright: Any
    browser: Any
    context: Any

    async def close(self) -> None:
        try:
            await self.browser.close()
        finally:
            await self.playwright.stop()


async def start_async(*, timezone: str, headless: bool = True, locale: str = "zh-CN") -> AsyncChromium:
    """Start Chromium for asyncio code: the one place besides :func:`launch` where a browser starts, so
    flags, executable and failure message are the same everywhere, and the time zone is the configured one."""
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    try:
        browser = await playwright.chromium.launch(
            headless=headless, executable_path=chromium_executable(), args=CHROMIUM_ARGS
        )
    except Exception as exc:
        await playwright.stop()
        raise _cannot_start(exc) from None
    context = await browser.new_context(locale=locale, timezone_id=timezone, accept_downloads=True)
    return AsyncChromium(playwright, browser, context)


def capture_failure(page: Page, folder: Path, stem: str = "failure") -> list[Path]:
    """Keep a screenshot and the page HTML as evidence of what the bot saw when it failed."""
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[Path] = []
    shot = folder / f"{stem}.png"
    html = folder / f"{stem}.html"
    try:
        page.screenshot(path=str(shot), full_page=True)
        kept.append(shot)
    except Exception:
        pass
    try:
        html.write_text(page.content(), encoding="utf-8")
        kept.append(html)
    except Exception:
        pass
    return kept


@contextmanager
def open_page(evidence_folder: Path | None = None, *, timezone: str, headless: bool = True) -> Iterator[Page]:
    """A fresh page; if the block raises, its screenshot and HTML are kept in ``evidence_folder``."""
    with launch(headless=headless) as browser:
        context = browser.new_context(accept_downloads=True, locale="zh-CN", timezone_id=timezone)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        except BaseException:
            if evidence_folder is not None:
                capture_failure(page, evidence_folder)
            raise
        finally:
            context.close()

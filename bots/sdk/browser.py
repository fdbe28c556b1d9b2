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
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["CHROMIUM_ARGS", "capture_failure", "chromium_executable", "launch", "open_page"]

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


@contextmanager
def launch(headless: bool = True) -> Iterator[Browser]:
    """A running Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        executable = chromium_executable()
        browser = pw.chromium.launch(
            headless=headless,
            executable_path=executable,
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()


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
def open_page(evidence_folder: Path | None = None, *, headless: bool = True) -> Iterator[Page]:
    """A fresh page; if the block raises, its screenshot and HTML are kept in ``evidence_folder``."""
    with launch(headless=headless) as browser:
        context = browser.new_context(accept_downloads=True, locale="zh-CN", timezone_id="Asia/Shanghai")
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

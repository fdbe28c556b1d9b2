"""``backroom setup``: what Backroom needs outside Python, installed the way this machine allows.

* a Chromium for Playwright — Debian's ``chromium`` package where apt is available (Playwright cannot
  download its own browser on closed networks), else ``playwright install chromium``;
* CJK fonts, so screenshots of Chinese pages and generated invoices are legible;
* Tesseract with its Simplified Chinese data, the optional comparison OCR engine.

It installs only what is missing, and says what it found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from backroom.bots.sdk.browser import chromium_executable

__all__ = ["ensure_system_packages", "missing_debian_packages"]

_CJK_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/wqy")


def _tesseract_has_chinese() -> bool:
    if not shutil.which("tesseract"):
        return False
    done = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    return "chi_sim" in (done.stdout + done.stderr)


def missing_debian_packages() -> list[str]:
    """Debian packages whose job is not yet done on this machine."""
    missing = []
    if chromium_executable() is None:
        missing.append("chromium")
    if not any(Path(d).is_dir() for d in _CJK_FONT_DIRS):
        missing.append("fonts-noto-cjk")
    if not _tesseract_has_chinese():
        missing += ["tesseract-ocr", "tesseract-ocr-chi-sim"]
    return missing


def _playwright_browser_present() -> bool:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            return os.path.exists(pw.chromium.executable_path)
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def ensure_system_packages(*, check_only: bool = False, out: Any = None) -> int:
    say = out.print if out is not None else print
    missing = missing_debian_packages()
    if not missing:
        say(f"browser: {chromium_executable()}; CJK fonts and Tesseract (chi_sim): present — nothing to install")
        return 0
    if check_only:
        say("missing: " + " ".join(missing))
        return 1
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        say("installing Debian packages: " + " ".join(missing))
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=False, env=env)
        missing = missing_debian_packages()
        if not missing:
            say(f"browser: {chromium_executable()}; fonts and Tesseract installed")
            return 0
    if "chromium" in missing and not _playwright_browser_present():
        say("installing Playwright's Chromium (playwright install chromium)")
        done = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
        if done.returncode != 0:
            say("could not install a browser: install Debian's chromium, or run 'playwright install chromium'")
            return 1
    others = [m for m in missing if m != "chromium"]
    if others:
        say("still missing (optional; install them with your package manager): " + " ".join(others))
    return 0

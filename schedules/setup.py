"""``backroom setup``: what Backroom needs outside Python, installed the way this machine allows.

Playwright cannot download its browser on closed networks, so Debian's ``chromium`` package is
preferred (with CJK fonts, so screenshots of Chinese pages are legible); elsewhere Playwright's own
Chromium is installed with ``playwright install chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

from bots.systems.browser import chromium_executable

__all__ = ["ensure_system_packages"]

DEBIAN_PACKAGES = ["chromium", "fonts-noto-cjk"]


def _playwright_browser_present() -> bool:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            return os.path.exists(pw.chromium.executable_path)
    except Exception:
        return False


def ensure_system_packages(*, check_only: bool = False, out: Any = None) -> int:
    say = out.print if out is not None else print
    browser = chromium_executable()
    fonts = any(os.path.isdir(p) for p in ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/wqy"))
    if browser and fonts:
        say(f"browser: {browser}; CJK fonts: present — nothing to install")
        return 0
    if _playwright_browser_present() and not shutil.which("apt-get"):
        say("browser: Playwright's own Chromium — nothing to install")
        return 0
    if check_only:
        say(f"missing: {'' if browser else 'chromium '}{'' if fonts else 'CJK fonts'}")
        return 1
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        say("installing Debian packages: " + " ".join(DEBIAN_PACKAGES))
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEBIAN_PACKAGES], check=False, env=env
        )
        if done.returncode == 0 and chromium_executable():
            say(f"browser: {chromium_executable()}")
            return 0
    say("installing Playwright's Chromium (playwright install chromium)")
    done = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
    return 0 if done.returncode == 0 else 1

"""Fetching statements from a corporate online bank with a real browser (Playwright).

Banks rarely offer an API to mid-sized companies; their portals want a password and an SMS code.
This adapter logs in (password by secret reference), reads the one-time code from a configured
source, queries an account and date range, downloads the statement and checks that the download
is complete: the file parses and holds as many lines, and the closing balance, that the portal's
result page announced.

``[systems.bank]`` (kind = "browser"; "bank-portal" is the older spelling):

* ``url``, ``username``, ``password = "env:BANK_PASSWORD"``;
* ``otp_source``: ``url:/api/otp?username={username}`` (JSON ``code`` or plain text; relative to
  ``url`` or absolute — an SMS gateway's API), ``file:/var/sms/latest.txt`` (the newest 6-digit
  code in a file an SMS forwarder writes) or a secret reference ``env:NAME`` / ``keyring:...``;
* ``format``: xlsx | csv | mt940 | camt053 (default xlsx); ``otp_timeout`` seconds (default 60);
* ``profile``: the portal's pages and the words on them (:class:`PortalProfile`). Every bank's
  portal differs, so there is no default.

Fields are found by their visible labels (账号, 起始日期...), which survive portal redesigns better
than element ids do; the profile names the labels, the few result elements, and the paths.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from backroom.bots.sdk.errors import ApplicationError, ConfigError, TransientError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.bank_portal.base import BankPortal, FetchedStatement, verify_download

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["BrowserBankPortal", "PortalProfile"]

_CODE = re.compile(r"\b(\d{6})\b")


class PortalProfile(BaseModel):
    """One bank portal's pages, by the words a person sees on them. Button names are regular
    expressions (``确认|提交`` accepts either); paths are relative to the system's ``url``."""

    model_config = ConfigDict(extra="forbid")

    login_path: str  # the login form; a page whose URL contains it means "session lost"
    login_refused: str  # a URL part that means the password was refused
    user_label: str
    password_label: str
    login_button: str
    code_label: str  # the one-time code's input
    code_button: str
    accounts_path: str  # the account list; reaching it means the login (and the code) worked
    account_cells: str  # CSS selector of the account numbers on that page
    statement_path: str  # the statement query form, with {account}
    account_label: str
    start_label: str
    end_label: str
    format_label: str
    query_button: str
    count_cell: str  # CSS selector of the announced number of lines
    closing_cell: str  # CSS selector of the announced closing balance
    download_button: str  # CSS selector of the download control


class BrowserBankPortal(BankPortal):
    """A portal driven by the labels on its pages (the kind this module's docstring describes)."""

    def __init__(
        self,
        settings: SystemSettings,
        secret: Callable[[str], str],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not settings.url:
            raise ConfigError("[systems.bank] needs url")
        self.settings = settings
        self.secret = secret
        self.base = settings.url.rstrip("/")
        self.options = settings.options
        self._raw_profile = settings.options.get("profile")
        self._clock, self._sleep = clock, sleep  # tests move a clock instead of waiting for the code

    @property
    def profile(self) -> PortalProfile:
        """The portal's profile, checked when the browser flow first needs it."""
        if not self._raw_profile:
            raise ConfigError("[systems.bank] needs profile: the portal's pages and labels (PortalProfile)")
        try:
            return PortalProfile.model_validate(self._raw_profile)
        except ValidationError as exc:
            raise ConfigError(f"[systems.bank] profile is not usable: {exc}") from None

    # -- one-time code --------------------------------------------------------------------------
    def one_time_code(self, username: str, not_before: float) -> str:
        source = str(self.options.get("otp_source", ""))
        if not source:
            raise ConfigError("[systems.bank] needs otp_source (url:..., file:... or a secret reference)")
        deadline = self._clock() + float(self.options.get("otp_timeout", 60))
        while True:
            code = self._read_code(source, username, not_before)
            if code:
                return code
            if self._clock() > deadline:
                raise TransientError(f"no one-time code arrived from {source.split('?')[0]} in time")
            self._sleep(0.5)

    def _read_code(self, source: str, username: str, not_before: float) -> str | None:
        if source.startswith("url:"):
            import httpx

            target = source[4:].format(username=username)
            if target.startswith("/"):
                target = self.base + target
            response = httpx.get(target, timeout=self.settings.timeout)
            if response.status_code == 404:
                return None
            response.raise_for_status()
            try:
                return str(json.loads(response.text)["code"])
            except (ValueError, KeyError, TypeError):
                m = _CODE.search(response.text)
                return m.group(1) if m else None
        if source.startswith("file:"):
            path = Path(source[5:])
            if not path.exists() or path.stat().st_mtime < not_before - 1:
                return None
            codes = _CODE.findall(path.read_text(encoding="utf-8", errors="replace"))
            return codes[-1] if codes else None
        return self.secret(source)

    # -- the browser flow -----------------------------------------------------------------------
    def login(self, page: Page) -> None:
        p = self.profile
        username = self.settings.username or ""
        if not self.settings.password:
            raise ConfigError("[systems.bank] needs password (a secret reference)")
        page.goto(f"{self.base}{p.login_path}")
        page.get_by_label(p.user_label).fill(username)
        page.get_by_label(p.password_label).fill(self.secret(self.settings.password))
        started = time.time()
        page.get_by_role("button", name=re.compile(p.login_button)).click()
        page.wait_for_load_state()
        if p.login_refused in page.url:
            raise ApplicationError("the bank portal rejected the username or password")
        page.get_by_label(p.code_label).fill(self.one_time_code(username, started))
        page.get_by_role("button", name=re.compile(p.code_button)).click()
        page.wait_for_load_state()
        if p.accounts_path not in page.url:
            raise TransientError("the one-time code was not accepted (expired or already used)")

    def accounts(self, page: Page) -> list[str]:
        p = self.profile
        page.goto(f"{self.base}{p.accounts_path}")
        return [t.strip() for t in page.locator(p.account_cells).all_inner_texts()]

    def fetch(
        self, page: Page, account: str, start: dt.date, end: dt.date, folder: Path, fmt: str | None = None
    ) -> FetchedStatement:
        """Query, download and verify one statement; logs in again once if the session expired."""
        p = self.profile
        fmt = fmt or str(self.options.get("format", "xlsx"))
        for attempt in (1, 2):
            page.goto(f"{self.base}{p.statement_path.format(account=account)}")
            if p.login_path in page.url:
                if attempt == 2:
                    raise TransientError("the bank portal keeps ending the session")
                self.login(page)
                continue
            page.get_by_label(p.account_label).select_option(account)
            page.get_by_label(p.start_label).fill(start.isoformat())
            page.get_by_label(p.end_label).fill(end.isoformat())
            page.get_by_label(p.format_label).select_option(fmt)
            page.get_by_role("button", name=re.compile(p.query_button)).click()
            page.wait_for_load_state()
            if p.login_path in page.url:
                if attempt == 2:
                    raise TransientError("the bank portal keeps ending the session")
                self.login(page)
                continue
            announced = int(page.locator(p.count_cell).inner_text().strip())
            closing_text = page.locator(p.closing_cell).inner_text().strip()
            with page.expect_download() as info:
                page.locator(p.download_button).click()
            download = info.value
            if download.failure():
                raise TransientError(f"the statement download failed: {download.failure()}")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / download.suggested_filename
            download.save_as(target)
            result = FetchedStatement(
                target, account, start, end, announced, Decimal(closing_text) if closing_text else None
            )
            verify_download(result)
            return result
        raise TransientError("could not fetch the statement")  # pragma: no cover - loop always returns/raises

"""A record form driven the way a person does it: search, open, edit, save, confirm.

Controls are found by their visible labels and roles (a field's label, a button whose name
contains the Save text), not by ids or positions, so a moved button or a renamed input does not
break the bot. Every label, path and text comes from a :class:`FormProfile` the config fills in
(``[systems.NAME.options.profile]``); there is no default, each system's screens differ.
After Save, the page shows either the confirmation (``role=status``) or the system's validation
error (``role=alert``); the error becomes a :class:`FormRejected` with the system's own words, and is
never retried. A page that comes back from the login screen (the session expired) logs in again
and repeats the record once.

Async Playwright, so that several pages of one logged-in browser context can work in parallel.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.form.base import FormAdapter, FormRejected

if TYPE_CHECKING:
    from playwright.async_api import Page

__all__ = ["FormProfile", "LabelledForm"]


class FormProfile(BaseModel):
    """The screens of one system's record form, by the words a person sees on them."""

    model_config = ConfigDict(extra="forbid")

    login_path: str  # the login form; a page whose URL contains it means "session lost"
    login_user_label: str
    login_password_label: str
    login_button: str
    search_path: str  # the list filtered to one record, with {key}
    record_link: str  # CSS selector of the record's link in that list, with {key}
    edit_button: str
    new_link: str  # the link that opens an empty form
    key_label: str  # the key's input on an empty form
    save_button: str  # text the Save button's name contains
    saved_text: str  # text of the confirmation after a successful Save
    stale_texts: list[str] = Field(default_factory=list)  # alerts that mean "reload and retry", not "bad data"
    key_field: str
    record_path: str  # the read API's address of one record, with {key}
    fields: dict[str, str]  # field -> its label on the edit screen
    selects: list[str] = Field(default_factory=list)  # fields that are drop-downs (chosen by label)


class _SessionLost(TransientError):
    pass


class LabelledForm(FormAdapter):
    """One system's form (``kind = "browser"``) for the pages of one logged-in browser context."""

    def __init__(self, settings: SystemSettings, secret: Callable[[str], str]) -> None:
        if not (settings.url and settings.username and settings.password):
            raise ConfigError("a browser form needs url, username and password (a secret reference)")
        raw = settings.options.get("profile")
        if not raw:
            raise ConfigError("a browser form needs options.profile: its screens' labels and paths (FormProfile)")
        try:
            self.profile = FormProfile.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"the browser form's options.profile is not usable: {exc}") from None
        self.base, self.username = settings.url.rstrip("/"), settings.username
        self._password_ref = settings.password
        self._secret = secret
        self._login_lock = asyncio.Lock()
        self._logins = 0

    @classmethod
    def from_settings(
        cls,
        settings: SystemSettings,
        secret: Callable[[str], str],
        *,
        evidence: Path | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> Self:
        return cls(settings, secret)  # the pages are opened by the caller (migrate's form target)

    @property
    def key_field(self) -> str:
        return self.profile.key_field

    @property
    def fields(self) -> list[str]:
        return list(self.profile.fields)

    def record_path(self, key: str) -> str:
        return self.profile.record_path.format(key=key)

    def _on_login(self, page: Page) -> bool:
        return self.profile.login_path in page.url

    async def login(self, page: Page) -> None:
        p = self.profile
        async with self._login_lock:
            await self._goto(page, p.login_path)
            await page.get_by_label(p.login_user_label).fill(self.username)
            await page.get_by_label(p.login_password_label).fill(self._secret(self._password_ref))
            await page.get_by_role("button", name=p.login_button).click()
            await page.wait_for_load_state()
            if self._on_login(page):
                alert = await page.get_by_role("alert").all_inner_texts()
                raise TransientError(f"form login failed: {' '.join(alert) or 'still on the login page'}")
            self._logins += 1

    async def _goto(self, page: Page, path: str) -> None:
        try:
            resp = await page.goto(self.base + path, wait_until="domcontentloaded")
        except Exception as exc:
            raise TransientError(f"form page {path} did not load: {exc}") from None
        if (resp is not None and resp.status >= 500) or (resp is not None and resp.status == 429):
            raise TransientError(f"form page {path} answered {resp.status}")
        if self._on_login(page) and not path.startswith(self.profile.login_path):
            raise _SessionLost("the form's session expired")

    async def _ready(self, page: Page, wanted: Any) -> None:
        """Wait for ``wanted`` — or the login screen, which means the session ended (no 15 s timeout)."""
        await wanted.or_(page.get_by_role("button", name=self.profile.login_button)).first.wait_for()
        if self._on_login(page):
            raise _SessionLost("the form's session expired")

    async def _click(self, page: Page, wanted: Any) -> None:
        await self._ready(page, wanted)
        await wanted.click()

    async def save(self, page: Page, key: str, values: Mapping[str, Any]) -> str:
        """Create or update one record; returns "inserted" or "updated", or raises FormRejected."""
        from playwright.async_api import Error as PlaywrightError

        for attempt in range(2):
            try:
                return await self._save_once(page, key, values)
            except PlaywrightError as exc:
                raise TransientError(f"form page misbehaved for {key}: {str(exc).splitlines()[0]}") from None
            except _SessionLost:
                if attempt:
                    raise
                await self.login(page)
        raise AssertionError("unreachable")

    async def _save_once(self, page: Page, key: str, values: Mapping[str, Any]) -> str:
        # Playwright waits for the navigation a click starts and for each control to appear, so no
        # explicit load waits are needed between steps (each one costs a round trip on a busy box).
        p = self.profile
        await self._goto(page, p.search_path.format(key=key))
        link = page.locator(p.record_link.format(key=key))
        if await link.count():
            await link.first.click()
            await self._click(page, page.get_by_role("button", name=p.edit_button))
            created = False
        else:
            await self._click(page, page.get_by_role("link", name=p.new_link))
            await self._ready(page, page.get_by_label(p.key_label))
            await page.get_by_label(p.key_label).fill(key)
            created = True
        save = page.get_by_role("button", name=re.compile(re.escape(p.save_button)))
        await self._ready(page, save)
        for name, value in values.items():
            label = p.fields[name]
            text = "" if value is None else str(value)
            control = page.get_by_label(label, exact=True)
            if name in p.selects:
                await control.select_option(label=text)
            else:
                await control.fill(text)
        await save.click()
        answer = page.get_by_role("status").or_(page.get_by_role("alert"))
        await answer.first.wait_for()
        if self._on_login(page):
            raise _SessionLost("the form's session expired during save")
        status = page.get_by_role("status")
        if await status.count() and p.saved_text in (await status.first.inner_text()):
            return "inserted" if created else "updated"
        alert = page.get_by_role("alert")
        if await alert.count():
            message = " ".join(t.strip() for t in await alert.all_inner_texts())
            if any(sign in message for sign in p.stale_texts):
                # another page logged in again meanwhile: this form's token is stale, not the data
                raise _SessionLost(f"the form went stale: {message}")
            raise FormRejected(message)
        raise TransientError(f"the form showed neither a confirmation nor an error after Save ({page.url})")

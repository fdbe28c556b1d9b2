"""Writing to the CRM through its web form, the way an agent does: search, open, edit, save, confirm.

Controls are found by their visible labels and roles (``姓名``, a button whose name contains
``保存``), not by ids or positions, so a moved button or a renamed input does not break the bot.
After Save, the page shows either the confirmation (``role=status``) or the CRM's validation error
(``role=alert``); the error becomes a :class:`~bots.errors.BusinessError` with the CRM's own words,
and is never retried. A page that comes back from the login screen (the session expired) logs in
again and repeats the record once.

Async Playwright, so that several pages of one logged-in browser context can work in parallel.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import BusinessError, TransientError

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

__all__ = ["CRM_FIELDS", "CrmForm", "FormRejected"]

#: CRM form field → its label on the edit screen.
CRM_FIELDS = {
    "name": "姓名",
    "phone": "手机号",
    "email": "电子邮箱",
    "level": "客户等级",
    "city": "城市",
    "last_bill_no": "最近账单号",
    "last_bill_month": "最近账期",
    "last_bill_amount": "最近账单金额",
    "last_bill_status": "账单状态",
    "note": "备注",
}
_SELECTS = {"level", "last_bill_status"}
#: what the CRM says when a form's CSRF token belongs to an older session (retry, do not reject)
_STALE_PAGE = ("页面已过期", "CSRF")


class FormRejected(BusinessError):
    """The CRM refused the record after Save; ``message`` is what the screen said."""


class SessionLost(TransientError):
    pass


class CrmForm:
    """One browser context logged into the CRM; ``save(page, no, values)`` per record."""

    def __init__(self, context: BrowserContext, base_url: str, username: str, password: str) -> None:
        self.context, self.base, self.username, self.password = context, base_url.rstrip("/"), username, password
        self._login_lock = asyncio.Lock()
        self._logins = 0

    async def login(self, page: Page) -> None:
        async with self._login_lock:
            await self._goto(page, "/login")
            await page.get_by_label("账号").fill(self.username)
            await page.get_by_label("密码").fill(self.password)
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_load_state()
            if "/login" in page.url:
                alert = await page.get_by_role("alert").all_inner_texts()
                raise TransientError(f"CRM login failed: {' '.join(alert) or 'still on the login page'}")
            self._logins += 1

    async def _goto(self, page: Page, path: str) -> None:
        try:
            resp = await page.goto(self.base + path, wait_until="domcontentloaded")
        except Exception as exc:
            raise TransientError(f"CRM page {path} did not load: {exc}") from None
        if (resp is not None and resp.status >= 500) or (resp is not None and resp.status == 429):
            raise TransientError(f"CRM page {path} answered {resp.status}")
        if "/login" in page.url and not path.startswith("/login"):
            raise SessionLost("CRM session expired")

    async def _ready(self, page: Page, wanted: Any) -> None:
        """Wait for ``wanted`` — or the login screen, which means the session ended (no 15 s timeout)."""
        await wanted.or_(page.get_by_role("button", name="登录")).first.wait_for()
        if "/login" in page.url:
            raise SessionLost("CRM session expired")

    async def _click(self, page: Page, wanted: Any) -> None:
        await self._ready(page, wanted)
        await wanted.click()

    async def save(self, page: Page, customer_no: str, values: Mapping[str, Any]) -> str:
        """Create or update one customer; returns "inserted" or "updated", or raises FormRejected."""
        from playwright.async_api import Error as PlaywrightError

        for attempt in range(2):
            try:
                return await self._save_once(page, customer_no, values)
            except PlaywrightError as exc:
                raise TransientError(f"CRM page misbehaved for {customer_no}: {str(exc).splitlines()[0]}") from None
            except SessionLost:
                if attempt:
                    raise
                await self.login(page)
        raise AssertionError("unreachable")

    async def _save_once(self, page: Page, customer_no: str, values: Mapping[str, Any]) -> str:
        # Playwright waits for the navigation a click starts and for each control to appear, so no
        # explicit load waits are needed between steps (each one costs a round trip on a busy box).
        await self._goto(page, f"/customers?q={customer_no}")
        link = page.locator(f'a.customer[data-no="{customer_no}"]')
        if await link.count():
            await link.first.click()
            await self._click(page, page.get_by_role("button", name="编辑"))
            created = False
        else:
            await self._click(page, page.get_by_role("link", name="新建客户"))
            await self._ready(page, page.get_by_label("客户编号"))
            await page.get_by_label("客户编号").fill(customer_no)
            created = True
        await self._ready(page, page.get_by_role("button", name=re.compile("保存")))
        for name, value in values.items():
            label = CRM_FIELDS[name]
            text = "" if value is None else str(value)
            control = page.get_by_label(label, exact=True)
            if name in _SELECTS:
                await control.select_option(label=text)
            else:
                await control.fill(text)
        await page.get_by_role("button", name=re.compile("保存")).click()
        answer = page.get_by_role("status").or_(page.get_by_role("alert"))
        await answer.first.wait_for()
        if "/login" in page.url:
            raise SessionLost("CRM session expired during save")
        status = page.get_by_role("status")
        if await status.count() and "保存成功" in (await status.first.inner_text()):
            return "inserted" if created else "updated"
        alert = page.get_by_role("alert")
        if await alert.count():
            message = " ".join(t.strip() for t in await alert.all_inner_texts())
            if any(sign in message for sign in _STALE_PAGE):
                # another page logged in again meanwhile: this form's token is stale, not the data
                raise SessionLost(f"CRM form went stale: {message}")
            raise FormRejected(message)
        raise TransientError(f"CRM showed neither a confirmation nor an error after Save ({page.url})")

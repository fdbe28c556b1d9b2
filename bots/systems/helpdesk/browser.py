"""Browser backend of :class:`~backroom.bots.systems.helpdesk.base.Helpdesk`, for helpdesks with no API.

It logs in, searches, opens a ticket, fills fields, comments and changes status through the web
pages, driven by Playwright (async API) on the one Chromium the SDK launches. Where each page is
and where each control sits comes from a :class:`BrowserProfile`, a table the config fills in
(``[systems.NAME.options.profile]``): every site lays its screens out differently, so there is no
default profile, and ``[systems.NAME.options.selectors]`` may override single selectors on top
of it. A comma in a selector accepts either layout (``#save-fields, #btn-update``).
A lost session sends the bot back to the login form once; a step that still fails leaves a
screenshot and the page's HTML in the run's artifacts, named after the step.

The profile's contract for the history list: each ``history_item`` element carries the
transaction as ``data-id``, ``data-type``, ``data-created``, ``data-creator``, ``data-field``,
``data-old`` and ``data-new`` attributes, with any content in a ``<pre>``.

Searching understands the simple TicketSQL the tickets bot writes (``Status = 'x' AND ... id = N``):
the status goes into the page's search box, the rest is checked on each opened ticket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.helpdesk.base import (
    ChangeRefused,
    Helpdesk,
    HelpdeskError,
    HistoryEntry,
    TicketChanged,
    TicketNotFound,
    TicketRecord,
    parse_time,
)

__all__ = ["SELECTOR_KEYS", "BrowserHelpdesk", "BrowserProfile"]

#: every control the adapter looks for; a profile's ``selectors`` must name each one.
SELECTOR_KEYS = (
    # login screen
    "login_user",
    "login_password",
    "login_submit",
    "login_error",
    # list / search screen
    "search_box",
    "search_submit",
    "result_link",
    "next_page",
    # ticket screen
    "status",
    "queue",
    "priority",
    "created",
    "resolved",
    "last_updated",
    "requestor",
    "title",
    "version",
    "field_input",  # with {name}
    "field_inputs",  # every custom field input; its id is field_id_prefix + the field's name
    "queue_select",
    "priority_input",
    "save_fields",
    "comment_box",
    "comment_submit",
    "status_button",  # with {status}
    "message",
    "history_item",
)


class BrowserProfile(BaseModel):
    """The pages and controls of one helpdesk's web UI (a table the config fills in)."""

    model_config = ConfigDict(extra="forbid")

    login_path: str  # the login form; a page whose URL contains it means "session lost"
    home_path: str  # the page with the search box
    ticket_path: str  # one ticket, with {id}
    title_prefix: str = ""  # a regular expression removed from the ticket's title to get the subject
    field_id_prefix: str = ""  # custom field inputs' id = prefix + field name
    conflict_text: str  # what the site says when a save lost a race with another person
    selectors: dict[str, str]

    @model_validator(mode="after")
    def _every_selector(self) -> Self:
        missing = [k for k in SELECTOR_KEYS if k not in self.selectors]
        if missing:
            raise ValueError(f"the profile's selectors lack {', '.join(missing)}")
        return self


class _SessionLost(HelpdeskError):
    """The site answered a form with its login page: the session expired in between."""


class BrowserHelpdesk(Helpdesk):
    """One browser, one page, one step at a time (a lock serializes the bot's concurrent tasks)."""

    def __init__(
        self,
        settings: SystemSettings,
        secret: Callable[[str], str],
        *,
        evidence: Path | None = None,
        headless: bool = True,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        if not settings.url:
            raise ConfigError("a browser helpdesk needs url = the address of its login page's site")
        if not settings.username or not settings.password:
            raise ConfigError("a browser helpdesk needs username and password (a secret reference)")
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self._secret = secret
        self.profile = _profile(settings)
        self.selectors = {**self.profile.selectors, **settings.options.get("selectors", {})}
        self.evidence = evidence
        self.headless = headless
        self._lock = asyncio.Lock()
        self.timezone = timezone  # the pages' clock: the run's configured zone (open_system passes it)
        self._chromium: Any = None
        self.page: Any = None
        self.logins = 0

    @classmethod
    def from_settings(
        cls,
        settings: SystemSettings,
        secret: Callable[[str], str],
        *,
        evidence: Path | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> Self:
        return cls(settings, secret, evidence=evidence, timezone=timezone)

    # -- plumbing -------------------------------------------------------------------------
    def sel(self, key: str, **fmt: str) -> str:
        return self.selectors[key].format(**fmt)

    def _on_login(self, url: str) -> bool:
        return self.profile.login_path in url

    def _ticket_path(self, ticket_id: int) -> str:
        return self.profile.ticket_path.format(id=ticket_id)

    async def _start(self) -> None:
        if self.page is not None:
            return
        from backroom.bots.sdk.browser import start_async

        self._chromium = await start_async(timezone=self.timezone, headless=self.headless)
        self.page = await self._chromium.context.new_page()
        self.page.set_default_timeout(self.settings.timeout * 1000)

    async def aclose(self) -> None:
        if self._chromium is not None:
            await self._chromium.close()
        self._chromium = self.page = None

    async def _login(self) -> None:
        page = self.page
        if not self._on_login(page.url):
            await page.goto(f"{self.base}{self.profile.login_path}")
        await page.fill(self.sel("login_user"), self.settings.username or "")
        await page.fill(self.sel("login_password"), self._secret(self.settings.password or ""))
        await page.click(self.sel("login_submit"))
        await page.wait_for_load_state()
        if await page.locator(self.sel("login_error")).count():
            raise HelpdeskError("the helpdesk refused the bot's login (check username and password reference)")
        self.logins += 1

    async def _open(self, path: str) -> None:
        """Go to ``path``, logging in (again) when the site sends us to its login form."""
        await self._start()
        response = await self.page.goto(f"{self.base}{path}")
        if self._on_login(self.page.url):
            await self._login()
            # load the page again even when the login form sent us there: only this answer says
            # whether the page exists (a 404 after a redirect would otherwise read as the login's 200)
            response = await self.page.goto(f"{self.base}{path}")
            if self._on_login(self.page.url):
                raise _SessionLost(f"session expired again while opening {path}")
        if response is not None and response.status == 404:
            raise TicketNotFound(f"helpdesk page {path} does not exist")
        if response is not None and response.status in (429, 500, 502, 503, 504):
            raise TransientError(f"helpdesk page {path} answered {response.status}")

    async def _step(self, name: str, action: Callable[[], Any]) -> Any:
        """Run one step; a session lost on submit means log in and redo it once (the site refused
        the stale form, so nothing was applied). On failure keep a screenshot + HTML, re-raise."""
        async with self._lock:
            try:
                for attempt in range(3):
                    try:
                        return await action()
                    except _SessionLost:
                        if attempt == 2:
                            raise
                        await self._login()
            except Exception:
                await self._evidence(name)
                raise

    async def _evidence(self, name: str) -> None:
        if self.evidence is None or self.page is None:
            return
        self.evidence.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]", "_", f"helpdesk-{name}-{dt.datetime.now():%H%M%S%f}")
        try:
            await self.page.screenshot(path=str(self.evidence / f"{stem}.png"), full_page=True)
            (self.evidence / f"{stem}.html").write_text(await self.page.content(), encoding="utf-8")
        except Exception:  # evidence is best effort; the step's own error matters more
            pass

    # -- reading --------------------------------------------------------------------------
    async def _text(self, name: str) -> str:
        locator = self.page.locator(self.sel(name))
        return (await locator.first.inner_text()).strip() if await locator.count() else ""

    async def _read(self, ticket_id: int) -> TicketRecord:
        await self._open(self._ticket_path(ticket_id))
        page = self.page
        fields: dict[str, str] = {}
        prefix = self.profile.field_id_prefix
        for element in await page.locator(self.sel("field_inputs")).all():
            name = (await element.get_attribute("id") or "").removeprefix(prefix)
            fields[name] = await element.input_value()
        title = await self._text("title")
        subject = re.sub(self.profile.title_prefix, "", title) if self.profile.title_prefix else title
        version = await page.locator(self.sel("version")).first.get_attribute("value")
        priority = await self._text("priority")
        return TicketRecord(
            id=ticket_id,
            subject=subject,
            status=await self._text("status"),
            queue=await self._text("queue"),
            priority=int(priority) if priority.lstrip("-").isdigit() else 0,
            created=parse_time(await self._text("created")),
            resolved=parse_time(await self._text("resolved")),
            last_updated=parse_time(await self._text("last_updated")),
            requestor=await self._text("requestor"),
            fields={k: v for k, v in fields.items() if v},
            etag=version,
        )

    async def get(self, ticket_id: int) -> TicketRecord:
        return await self._step(f"open-{ticket_id}", lambda: self._read(ticket_id))

    async def search(self, query: str) -> list[TicketRecord]:
        statuses = re.findall(r"Status\s*=\s*'([^']+)'", query, re.IGNORECASE)
        only = re.search(r"\bid\s*=\s*(\d+)", query)
        queue = re.search(r"Queue\s*=\s*'([^']+)'", query, re.IGNORECASE)

        async def ids(status: str) -> list[int]:
            if only:
                return [int(only.group(1))]
            await self._open(self.profile.home_path)
            await self.page.fill(self.sel("search_box"), status)
            await self.page.click(self.sel("search_submit"))
            await self.page.wait_for_load_state()
            found: list[int] = []
            while True:
                if self._on_login(self.page.url):
                    raise _SessionLost("session expired while listing search results")
                for link in await self.page.locator(self.sel("result_link")).all():
                    href = await link.get_attribute("href") or ""
                    if m := re.search(r"(\d+)$", href):
                        found.append(int(m.group(1)))
                nxt = self.page.locator(self.sel("next_page"))
                if not await nxt.count():
                    return found
                await nxt.first.click()
                await self.page.wait_for_load_state()

        wanted: list[int] = []
        for status in (statuses or [""]) if not only else [""]:  # "Status = 'new' OR Status = 'open'": each
            wanted.extend(i for i in await self._step("search", lambda s=status: ids(s)) if i not in wanted)
        out = []
        for tid in wanted:
            record = await self.get(tid)
            if statuses and record.status not in statuses:
                continue
            if queue and record.queue != queue.group(1):
                continue
            out.append(record)
        return out

    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[HistoryEntry]:
        async def read() -> list[HistoryEntry]:
            await self._open(self._ticket_path(ticket_id))
            entries = []
            for item in await self.page.locator(self.sel("history_item")).all():
                attr = item.get_attribute
                pre = item.locator("pre")
                entries.append(
                    HistoryEntry(
                        id=int(await attr("data-id") or 0),
                        type=await attr("data-type") or "",
                        created=parse_time(await attr("data-created")),
                        creator=await attr("data-creator") or "",
                        field=await attr("data-field") or "",
                        old=await attr("data-old") or "",
                        new=await attr("data-new") or "",
                        content=(await pre.first.inner_text()) if with_content and await pre.count() else "",
                    )
                )
            return entries

        return await self._step(f"history-{ticket_id}", read)

    # -- writing --------------------------------------------------------------------------
    async def _check_version(self, ticket_id: int, if_match: str | None) -> None:
        if if_match is None:
            return
        current = await self.page.locator(self.sel("version")).first.get_attribute("value")
        if current != if_match:
            raise TicketChanged(f"ticket {ticket_id} changed since it was read (version {if_match} -> {current})")

    async def _after_submit(self, ticket_id: int) -> None:
        await self.page.wait_for_load_state()
        if self._on_login(self.page.url):
            raise _SessionLost(f"session expired while saving ticket {ticket_id}")
        message = await self._text("message")
        if self.profile.conflict_text in message:
            raise TicketChanged(f"ticket {ticket_id} was changed by someone else while the bot saved it")

    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        progress = {"saved": False}  # a redo after a lost session must not re-check our own change

        async def apply() -> str | None:
            await self._open(self._ticket_path(ticket_id))
            if progress["saved"]:
                await self.page.click(self.sel("status_button", status=str(changes["Status"])))
                await self._after_submit(ticket_id)
                return await self.page.locator(self.sel("version")).first.get_attribute("value")
            await self._check_version(ticket_id, if_match)
            needs_save = False
            for name, value in (changes.get("CustomFields") or {}).items():
                await self.page.fill(self.sel("field_input", name=name), "" if value is None else str(value))
                needs_save = True
            if "Queue" in changes:
                await self.page.select_option(self.sel("queue_select"), str(changes["Queue"]))
                needs_save = True
            if "Priority" in changes:
                await self.page.fill(self.sel("priority_input"), str(changes["Priority"]))
                needs_save = True
            if needs_save:
                await self.page.click(self.sel("save_fields"))
                await self._after_submit(ticket_id)
                progress["saved"] = "Status" in changes
            if "Status" in changes:
                await self.page.click(self.sel("status_button", status=str(changes["Status"])))
                await self._after_submit(ticket_id)
            return await self.page.locator(self.sel("version")).first.get_attribute("value")

        await self._step(f"update-{ticket_id}", apply)
        return await self._confirm(ticket_id, changes)

    # -- backroom check --online ----------------------------------------------------------------
    def check_online(self, needs: dict[str, Any] | None = None) -> list[str] | None:
        async def go() -> list[str]:
            try:
                return await self._check(needs or {})
            finally:
                await self.aclose()

        return asyncio.run(go())

    async def _missing(self, keys: list[tuple[str, dict[str, str]]], where: str) -> list[str]:
        problems = []
        for key, fmt in keys:
            if not await self.page.locator(self.sel(key, **fmt)).count():
                shown = f"{key} ({', '.join(f'{k}={v}' for k, v in fmt.items())})" if fmt else key
                problems.append(f"selector {shown} = {self.sel(key, **fmt)!r} finds nothing on {where}")
        return problems

    async def _check(self, needs: dict[str, Any]) -> list[str]:
        """Log in, open the search page and a ticket, and try every selector the bot will use there."""
        await self._start()
        problems: list[str] = []
        login = f"the login page {self.profile.login_path}"
        await self.page.goto(f"{self.base}{self.profile.login_path}")
        problems += await self._missing([(k, {}) for k in ("login_user", "login_password", "login_submit")], login)
        if problems:
            await self._evidence("check-login")
            return problems
        try:
            await self._login()
            await self._open(self.profile.home_path)
        except HelpdeskError as exc:
            return [str(exc)]
        home = f"the search page {self.profile.home_path}"
        problems += await self._missing([("search_box", {}), ("search_submit", {})], home)
        statuses = [s for s in needs.get("statuses") or [] if s]
        tickets: list[int] = []
        if not problems:
            for status in statuses[:2] or [""]:
                await self._open(self.profile.home_path)
                await self.page.fill(self.sel("search_box"), status)
                await self.page.click(self.sel("search_submit"))
                await self.page.wait_for_load_state()
                for link in await self.page.locator(self.sel("result_link")).all():
                    if m := re.search(r"(\d+)$", await link.get_attribute("href") or ""):
                        tickets.append(int(m.group(1)))
                if tickets:
                    break
        if not tickets:
            problems.append(f"no ticket found through {home} to try the ticket page's selectors on")
            await self._evidence("check-search")
            return problems
        await self._open(self._ticket_path(tickets[0]))
        where = f"ticket page {self._ticket_path(tickets[0])}"
        keys = ["status", "queue", "title", "version", "field_inputs", "save_fields", "comment_box"]
        keys += ["comment_submit", "history_item", "queue_select"]
        wanted: list[tuple[str, dict[str, str]]] = [(k, {}) for k in keys]
        wanted += [("field_input", {"name": name}) for name in needs.get("custom_fields") or {}]
        wanted += [("status_button", {"status": s}) for s in needs.get("set_statuses") or []]
        problems += await self._missing(wanted, where)
        if problems:
            await self._evidence("check-ticket")
        return problems

    async def _confirm(self, ticket_id: int, changes: dict[str, Any]) -> str | None:
        """Read the ticket's page back: a page that took the form but kept a value is ChangeRefused."""
        from backroom.bots.systems.helpdesk.rt import not_applied

        current = await self.get(ticket_id)
        kept = not_applied(changes, current)
        if kept:
            shown = ", ".join(f"{name} = {asked!r} (the page shows {now!r})" for name, asked, now in kept)
            raise ChangeRefused(
                f"ticket {ticket_id}: the helpdesk's page did not take {shown}",
                ticket_id=ticket_id,
                refused=kept,
                said="the page kept the old value",
                current=current,
            )
        return current.etag

    async def comment(self, ticket_id: int, text: str) -> None:
        async def apply() -> None:
            await self._open(self._ticket_path(ticket_id))
            await self.page.fill(self.sel("comment_box"), text)
            await self.page.click(self.sel("comment_submit"))
            await self._after_submit(ticket_id)

        await self._step(f"comment-{ticket_id}", apply)


def _profile(settings: SystemSettings) -> BrowserProfile:
    """The system's screen profile from ``options.profile``; the error says what is missing."""
    raw = settings.options.get("profile")
    if not raw:
        raise ConfigError(
            "a browser helpdesk needs options.profile: the table of its pages and selectors "
            "(see BrowserProfile); there is no default, every helpdesk's screens differ"
        )
    try:
        return BrowserProfile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"the browser helpdesk's options.profile is not usable: {exc}") from None

"""Browser backend of :class:`~backroom.bots.systems.helpdesk.base.Helpdesk`, for helpdesks with no API.

It logs in, searches, opens a ticket, fills fields, comments and changes status through the web
pages, driven by Playwright (async API) on the one Chromium the SDK launches. Where each page is
and where each control sits comes from a :class:`BrowserProfile`, a table the config fills in
(``[systems.NAME.options.profile]``): every site lays its screens out differently, so there is no
default profile, and ``[systems.NAME.options.selectors]`` may override single selectors on top
of it. A comma in a selector accepts either layout (``#save-fields, #btn-update``).
A lost session sends the bot back to the login form once; a step that still fails leaves a
screenshot and the page's HTML in the run's artifacts, named after the step.

Sites differ in more than selectors, and each difference is a profile setting, not code:
where the login form shows (its own URL, or any page showing ``login_form``) and what proves a login
worked (``login_success``); which page shows a ticket, which one edits it (``update_path``), where a
comment is typed (``comment_path``) and where the history is (``history_path``); whether status is a
button per status or a select list saved with the other fields (``status_control``); whether custom
fields are named by their input's id or by a row's label (``field_rows``); what the concurrency token
is (``version`` and the attribute read from it, the first or last match, e.g. the last transaction);
and how history items map to transactions (:class:`HistoryMap`). Shipped profiles: ``"rt5"`` (Request
Tracker 5, :mod:`.rt5_profile`); the sandbox helpdesk's is ``backroom.sandbox.demo_tickets``.

Searching understands the simple TicketSQL the tickets bot writes (``Status = 'x' AND ... id = N``):
with ``search_path`` the whole query goes to the site's own search page; otherwise the status goes
into the page's search box. Either way the status and queue are checked again on each opened ticket.

A selector that finds nothing fails at once, naming the selector, with a screenshot and the page's
HTML in the run's artifacts; every write is read back from the ticket's page before it counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
)

__all__ = ["SELECTOR_KEYS", "BrowserHelpdesk", "BrowserProfile", "HistoryMap"]

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


#: selectors some layouts need instead of others (see BrowserProfile.required_selectors)
OPTIONAL_KEYS = (
    "login_form",  # present on any page showing the login form (sites that show it at the asked URL)
    "login_success",  # present once logged in; without it, "no login_error" counts as success
    "status_select",  # status_control = "select": the status list, saved with save_fields
    "field_rows",  # custom fields named by a label: each row ...
    "field_row_label",  # ... its label inside the row (a trailing colon is dropped)
    "field_row_value",  # ... its value inside the row (an input's value or the element's text)
)


class HistoryMap(BaseModel):
    """Where each part of a transaction sits inside one ``history_item`` element.

    A source ``@name`` reads the item's attribute ``name``; any other text is a selector inside the
    item whose text is read; an empty one leaves the part empty. ``types`` derive the type from the
    ``description`` text where the markup has no type attribute: the first regular expression that
    matches wins, and its named groups ``field``, ``old`` and ``new`` fill those parts.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = "@data-id"
    type: str = "@data-type"
    created: str = "@data-created"
    creator: str = "@data-creator"
    field: str = "@data-field"
    old: str = "@data-old"
    new: str = "@data-new"
    content: str = "pre"
    description: str = ""
    types: list[tuple[str, str]] = Field(default_factory=list)


class BrowserProfile(BaseModel):
    """The pages and controls of one helpdesk's web UI (a table the config fills in)."""

    model_config = ConfigDict(extra="forbid")

    login_path: str  # the login form; a page whose URL contains it means "session lost"
    home_path: str  # the page with the search box
    ticket_path: str  # one ticket, with {id}: what it shows is what a read returns
    update_path: str = ""  # the page whose form changes fields/queue/status, with {id}; default ticket_path
    comment_path: str = ""  # the page with the comment box, with {id}; default ticket_path
    history_path: str = ""  # the page listing the history, with {id}; default ticket_path
    search_path: str = ""  # a results page taking the whole TicketSQL as {query}; default: the search box
    status_control: Literal["button", "select"] = "button"
    version_attribute: str = "value"  # the attribute of the ``version`` element that is the token
    version_pick: Literal["first", "last"] = "first"
    empty_values: list[str] = Field(default_factory=list)  # texts the pages show for "no value"
    timezone: str = ""  # the zone of times the pages show without one; default the run's zone
    title_prefix: str = ""  # a regular expression removed from the ticket's title to get the subject
    field_id_prefix: str = ""  # custom field inputs' id = prefix + field name
    conflict_text: str = ""  # what the site says when a save lost a race with another person
    history: HistoryMap = Field(default_factory=HistoryMap)
    selectors: dict[str, str]

    def required_selectors(self) -> list[str]:
        """The selectors this layout uses: the sandbox's full set, with RT-like layouts swapping some."""
        keys = list(SELECTOR_KEYS)
        if self.search_path:
            keys = [k for k in keys if k not in ("search_box", "search_submit", "next_page")]
        if self.status_control == "select":
            keys = [k if k != "status_button" else "status_select" for k in keys]
        if "field_rows" in self.selectors:
            keys = [k for k in keys if k != "field_inputs"] + ["field_row_label", "field_row_value"]
        return keys

    @model_validator(mode="after")
    def _every_selector(self) -> Self:
        missing = [k for k in self.required_selectors() if k not in self.selectors]
        if missing:
            raise ValueError(f"the profile's selectors lack {', '.join(missing)}")
        for pattern, _ in self.history.types:
            re.compile(pattern)
        return self


class _SessionLost(HelpdeskError):
    """The site answered a form with its login page: the session expired in between."""


class _SelectorMissing(HelpdeskError):
    """A control the profile names is not on the page (its evidence is kept when it is raised)."""


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
        self.page_loads = 0  # pages opened and forms submitted (the web UI's "requests")
        self._doing = "check"  # the step under way, in evidence names
        self._said = ""  # the page's message after the last submit (RT's per-field results)

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

    def _ticket_path(self, ticket_id: int) -> str:
        return self.profile.ticket_path.format(id=ticket_id)

    def _path(self, which: str, ticket_id: int) -> str:
        """``update_path``/``comment_path``/``history_path`` for a ticket; the ticket's page where unset."""
        return (getattr(self.profile, which) or self.profile.ticket_path).format(id=ticket_id)

    async def _at_login(self) -> bool:
        """On the login form: its URL, or (sites that show it at any asked URL) its ``login_form``."""
        if self.profile.login_path in self.page.url:
            return True
        return "login_form" in self.selectors and await self.page.locator(self.sel("login_form")).count() > 0

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
        if not await self._at_login():
            await self._to_login_form()
        await (await self._need("login_user")).fill(self.settings.username or "")
        await (await self._need("login_password")).fill(self._secret(self.settings.password or ""))
        await self._submit("login_submit")
        refused = "the helpdesk refused the bot's login (check username and password reference)"
        if await page.locator(self.sel("login_error")).count():
            raise HelpdeskError(refused)
        if "login_success" in self.selectors and not await page.locator(self.sel("login_success")).count():
            raise HelpdeskError(f"{refused}: no login_success = {self.sel('login_success')!r} after logging in")
        if "login_form" in self.selectors and await self._at_login():
            raise HelpdeskError(f"{refused}: the login form is still shown")
        self.logins += 1

    async def _to_login_form(self) -> None:
        """Show the login form: the start page's, where the site shows it at any URL (RT logs in from
        there, back to that page; a login posted on a bare login URL leads nowhere), else its own page."""
        if "login_form" in self.selectors:
            await self.page.goto(f"{self.base}{self.profile.home_path}")
            if await self._at_login():
                return
        await self.page.goto(f"{self.base}{self.profile.login_path}")

    async def _open(self, path: str) -> None:
        """Go to ``path``, logging in (again) when the site shows us its login form."""
        await self._start()
        self.page_loads += 1
        response = await self.page.goto(f"{self.base}{path}")
        if await self._at_login():
            await self._login()
            # load the page again even when the login form sent us there: only this answer says
            # whether the page exists (a 404 after a redirect would otherwise read as the login's 200)
            response = await self.page.goto(f"{self.base}{path}")
            if await self._at_login():
                raise _SessionLost(f"session expired again while opening {path}")
        if response is not None and response.status == 404:
            raise TicketNotFound(f"helpdesk page {path} does not exist")
        if response is not None and response.status in (429, 500, 502, 503, 504):
            raise TransientError(f"helpdesk page {path} answered {response.status}")

    async def _need(self, key: str, **fmt: str) -> Any:
        """The control ``key`` on the current page; none there fails now, naming it, with evidence
        (rather than a generic timeout after the page's whole wait)."""
        locator = self.page.locator(self.sel(key, **fmt))
        if await locator.count():
            return locator.first
        kept = await self._evidence(f"{self._doing}-missing-{key}")
        shown = f"{key} ({', '.join(f'{k}={v}' for k, v in fmt.items())})" if fmt else key
        where = f"; screenshot and HTML: {', '.join(str(p) for p in kept)}" if kept else ""
        raise _SelectorMissing(f"selector {shown} = {self.sel(key, **fmt)!r} finds nothing on {self.page.url}{where}")

    async def _submit(self, key: str, **fmt: str) -> None:
        """Click a form's button and wait for the answer page itself (not the page the click left):
        its message is the site's verdict, and a read-back must not overtake the write."""
        control = await self._need(key, **fmt)
        async with self.page.expect_navigation():
            await control.click()

    async def _step(self, name: str, action: Callable[[], Any]) -> Any:
        """Run one step; a session lost on submit means log in and redo it once (the site refused
        the stale form, so nothing was applied). On failure keep a screenshot + HTML, re-raise."""
        async with self._lock:
            self._doing = name
            try:
                for attempt in range(3):
                    try:
                        return await action()
                    except _SessionLost:
                        if attempt == 2:
                            raise
                        await self._login()
            except _SelectorMissing:
                raise  # its evidence is kept already
            except Exception:
                await self._evidence(name)
                raise

    async def _evidence(self, name: str) -> list[Path]:
        if self.evidence is None or self.page is None:
            return []
        self.evidence.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]", "_", f"helpdesk-{name}-{dt.datetime.now():%H%M%S%f}")
        kept = [self.evidence / f"{stem}.png", self.evidence / f"{stem}.html"]
        try:
            await self.page.screenshot(path=str(kept[0]), full_page=True)
            kept[1].write_text(await self.page.content(), encoding="utf-8")
        except Exception:  # evidence is best effort; the step's own error matters more
            pass
        return [p for p in kept if p.exists()]

    # -- reading --------------------------------------------------------------------------
    async def _element_value(self, element: Any) -> str:
        """An input's or select's value, any other element's text; a profile's "no value" text is ''."""
        tag = (await element.evaluate("e => e.tagName")).lower()
        raw = await element.input_value() if tag in ("input", "select", "textarea") else await element.inner_text()
        return self._clean(raw)

    async def _text(self, name: str) -> str:
        locator = self.page.locator(self.sel(name))
        return await self._element_value(locator.first) if await locator.count() else ""

    def _time(self, text: str | None) -> dt.datetime | None:
        """A time as the page shows it (ISO-like, with or without a zone: then the pages' zone)."""
        found = _TIME.search((text or "").replace("\xa0", " "))
        if not found or found.group(0).startswith("1970-01-01"):
            return None
        when = dt.datetime.fromisoformat(found.group(0).replace(" ", "T").replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(self.profile.timezone or self.timezone))

    async def _version(self) -> str | None:
        await self._need("version")
        locator = self.page.locator(self.sel("version"))
        chosen = locator.last if self.profile.version_pick == "last" else locator.first
        return await chosen.get_attribute(self.profile.version_attribute)

    async def _fields(self) -> dict[str, str]:
        """Every custom field on the page; in one round trip to the page where the selectors are plain
        CSS (a page has dozens of fields, and each Playwright call is a round trip)."""
        try:
            if "field_rows" in self.selectors:
                pairs = await self.page.locator(self.sel("field_rows")).evaluate_all(
                    _ROWS_JS, [self.sel("field_row_label"), self.sel("field_row_value")]
                )
                named = [(str(label).strip().removesuffix(":").strip(), value) for label, value in pairs]
            else:
                pairs = await self.page.locator(self.sel("field_inputs")).evaluate_all(_INPUTS_JS)
                named = [(str(ident).removeprefix(self.profile.field_id_prefix), value) for ident, value in pairs]
        except Exception:  # a selector only Playwright understands (:has-text...): element by element
            return await self._fields_one_by_one()
        return {name: self._clean(str(value)) for name, value in named}

    def _clean(self, raw: str) -> str:
        text = " ".join(raw.replace("\xa0", " ").split())
        return "" if text in self.profile.empty_values else text

    async def _fields_one_by_one(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        if "field_rows" in self.selectors:
            for row in await self.page.locator(self.sel("field_rows")).all():
                label = row.locator(self.sel("field_row_label"))
                value = row.locator(self.sel("field_row_value"))
                if await label.count() and await value.count():
                    name = (await label.first.inner_text()).strip().removesuffix(":").strip()
                    fields[name] = await self._element_value(value.first)
            return fields
        prefix = self.profile.field_id_prefix
        for element in await self.page.locator(self.sel("field_inputs")).all():
            name = (await element.get_attribute("id") or "").removeprefix(prefix)
            fields[name] = await self._element_value(element)
        return fields

    async def _read(self, ticket_id: int) -> TicketRecord:
        await self._open(self._ticket_path(ticket_id))
        title = await self._element_value(await self._need("title"))
        await self._need("status")
        subject = re.sub(self.profile.title_prefix, "", title) if self.profile.title_prefix else title
        priority = await self._text("priority")
        fields = await self._fields()
        return TicketRecord(
            id=ticket_id,
            subject=subject,
            status=await self._text("status"),
            queue=await self._text("queue"),
            priority=int(priority) if priority.lstrip("-").isdigit() else 0,
            created=self._time(await self._text("created")),
            resolved=self._time(await self._text("resolved")),
            last_updated=self._time(await self._text("last_updated")),
            requestor=await self._text("requestor"),
            fields={k: v for k, v in fields.items() if v},
            etag=await self._version(),
        )

    async def get(self, ticket_id: int) -> TicketRecord:
        return await self._step(f"open-{ticket_id}", lambda: self._read(ticket_id))

    async def _result_ids(self) -> list[int]:
        """Ticket ids linked from the results page shown now, following ``next_page``."""
        found: list[int] = []
        while True:
            if await self._at_login():
                raise _SessionLost("session expired while listing search results")
            for link in await self.page.locator(self.sel("result_link")).all():
                href = await link.get_attribute("href") or ""
                if (m := re.search(r"(\d+)$", href)) and int(m.group(1)) not in found:
                    found.append(int(m.group(1)))
            nxt = self.page.locator(self.sel("next_page")) if "next_page" in self.selectors else None
            if nxt is None or not await nxt.count():
                return found
            async with self.page.expect_navigation():
                await nxt.first.click()

    async def _search_ids(self, query: str, status: str) -> list[int]:
        if self.profile.search_path:
            await self._open(self.profile.search_path.format(query=quote(query, safe="")))
            return await self._result_ids()
        await self._open(self.profile.home_path)
        await (await self._need("search_box")).fill(status)
        await self._submit("search_submit")
        return await self._result_ids()

    async def search(self, query: str) -> list[TicketRecord]:
        statuses = re.findall(r"Status\s*=\s*'([^']+)'", query, re.IGNORECASE)
        only = re.search(r"\bid\s*=\s*(\d+)", query)
        queue = re.search(r"Queue\s*=\s*'([^']+)'", query, re.IGNORECASE)

        wanted: list[int] = []
        if only and not self.profile.search_path:
            wanted = [int(only.group(1))]
        else:
            # the site's own search takes the whole query once; a search box, each status
            rounds = [""] if self.profile.search_path else (statuses or [""])
            for status in rounds:
                found = await self._step("search", lambda s=status: self._search_ids(query, s))
                wanted.extend(i for i in found if i not in wanted)
        out = []
        for tid in wanted:
            record = await self.get(tid)
            if statuses and record.status not in statuses:
                continue
            if queue and record.queue != queue.group(1):
                continue
            out.append(record)
        return out

    async def _part(self, item: Any, source: str) -> str:
        if not source:
            return ""
        if source.startswith("@"):
            return await item.get_attribute(source[1:]) or ""
        inside = item.locator(source)
        return await self._element_value(inside.first) if await inside.count() else ""

    async def _entry(self, item: Any, with_content: bool) -> HistoryEntry:
        how = self.profile.history
        parts = {k: await self._part(item, getattr(how, k)) for k in ("id", "type", "field", "old", "new")}
        if how.types:
            description = await self._part(item, how.description)
            for pattern, kind in how.types:
                if m := re.search(pattern, description):
                    parts["type"] = kind
                    parts.update({k: v for k, v in m.groupdict().items() if v is not None})
                    break
        content = ""
        if with_content and how.content and await item.locator(how.content).count():
            content = (await item.locator(how.content).first.inner_text()).strip()
        creator = (await self._part(item, how.creator)).split(" (")[0].strip()
        return HistoryEntry(
            id=int(re.sub(r"\D", "", parts["id"]) or 0),
            type=parts["type"],
            created=self._time(await self._part(item, how.created)),
            creator=creator,
            field=parts["field"],
            old=parts["old"],
            new=parts["new"],
            content=content,
        )

    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[HistoryEntry]:
        async def read() -> list[HistoryEntry]:
            await self._open(self._path("history_path", ticket_id))
            items = await self.page.locator(self.sel("history_item")).all()
            return [await self._entry(item, with_content) for item in items]

        return await self._step(f"history-{ticket_id}", read)

    # -- writing --------------------------------------------------------------------------
    async def _check_version(self, ticket_id: int, if_match: str | None) -> None:
        if if_match is None:
            return
        current = await self._version()
        if current != if_match:
            raise TicketChanged(f"ticket {ticket_id} changed since it was read (version {if_match} -> {current})")

    async def _after_submit(self, ticket_id: int) -> None:
        self.page_loads += 1
        await self.page.wait_for_load_state()
        if await self._at_login():
            raise _SessionLost(f"session expired while saving ticket {ticket_id}")
        message = await self._text("message")
        self._said = message
        if self.profile.conflict_text and self.profile.conflict_text in message:
            raise TicketChanged(f"ticket {ticket_id} was changed by someone else while the bot saved it")

    async def _set(self, key: str, value: str, **fmt: str) -> None:
        """Type into an input, or choose in a select list (by value or label)."""
        control = await self._need(key, **fmt)
        if (await control.evaluate("e => e.tagName")).lower() == "select":
            await control.select_option(value, force=True)  # styled lists hide the native select
        else:
            await control.fill(value)

    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        from backroom.bots.systems.helpdesk.rt import not_applied

        # a redo after a lost session must not re-check our own change, nor post a form that landed
        progress = {"saved": False, "posted": False}
        by_select = self.profile.status_control == "select"
        form_path = self._path("update_path", ticket_id)

        async def apply() -> None:
            if progress["posted"]:
                # the last form went out and the login page came back: the site may have saved it
                # before the session ran out, so what the ticket shows decides, not an assumption
                progress["posted"] = False
                shown = await self._read(ticket_id)
                if not not_applied(changes, shown):
                    return
                form_part = {k: v for k, v in changes.items() if k != "Status"}
                if "Status" in changes and not by_select and not not_applied(form_part, shown):
                    progress["saved"] = True  # the fields form landed: only the status button is left
            if progress["saved"]:
                await self._open(form_path)
                progress["posted"] = True
                await self._submit("status_button", status=str(changes["Status"]))
                await self._after_submit(ticket_id)
                return
            if form_path != self._ticket_path(ticket_id) and if_match is not None:
                await self._open(self._ticket_path(ticket_id))  # the token is shown with the ticket
                await self._check_version(ticket_id, if_match)
                await self._open(form_path)
            else:
                await self._open(form_path)
                await self._check_version(ticket_id, if_match)
            needs_save = False
            for name, value in (changes.get("CustomFields") or {}).items():
                await self._set("field_input", "" if value is None else str(value), name=name)
                needs_save = True
            if "Queue" in changes:
                await self._set("queue_select", str(changes["Queue"]))
                needs_save = True
            if "Priority" in changes:
                await self._set("priority_input", str(changes["Priority"]))
                needs_save = True
            if "Status" in changes and by_select:
                await self._set("status_select", str(changes["Status"]))
                needs_save = True
            if needs_save:
                progress["posted"] = True
                await self._submit("save_fields")
                await self._after_submit(ticket_id)
                progress["posted"] = False
                progress["saved"] = "Status" in changes and not by_select
            if "Status" in changes and not by_select:
                progress["posted"] = True
                await self._submit("status_button", status=str(changes["Status"]))
                await self._after_submit(ticket_id)
                progress["posted"] = False

        self._said = ""
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
        """Log in, search, open a ticket's pages, and try every selector the bot will use there."""
        await self._start()
        problems: list[str] = []
        login = f"the login page {self.profile.login_path}"
        await self._to_login_form()
        problems += await self._missing([(k, {}) for k in ("login_user", "login_password", "login_submit")], login)
        if problems:
            await self._evidence("check-login")
            return problems
        try:
            await self._login()
            await self._open(self.profile.search_path.format(query="") or self.profile.home_path)
        except HelpdeskError as exc:
            return [str(exc)]
        home = f"the search page {self.profile.search_path or self.profile.home_path}"
        if not self.profile.search_path:
            problems += await self._missing([("search_box", {}), ("search_submit", {})], home)
        statuses = [s for s in needs.get("statuses") or [] if s]
        tickets: list[int] = []
        if not problems:
            for status in statuses[:2] or [""]:
                query = f"Status = '{status}'" if status else "id > 0"
                try:
                    tickets = await self._search_ids(query, status)
                except HelpdeskError as exc:
                    return [str(exc)]
                if tickets:
                    break
        if not tickets:
            problems.append(f"no ticket found through {home} to try the ticket page's selectors on")
            await self._evidence("check-search")
            return problems
        pages: dict[str, list[tuple[str, dict[str, str]]]] = {}

        def want(path: str, *keys: tuple[str, dict[str, str]]) -> None:
            pages.setdefault(path, []).extend(keys)

        tid = tickets[0]
        fields = "field_rows" if "field_rows" in self.selectors else "field_inputs"
        shown = ["status", "queue", "title", "version", fields]
        want(self._ticket_path(tid), *((k, {}) for k in shown))
        form = self._path("update_path", tid)
        want(form, ("save_fields", {}), ("queue_select", {}))
        want(form, *(("field_input", {"name": name}) for name in needs.get("custom_fields") or {}))
        if self.profile.status_control == "select":
            want(form, ("status_select", {}))
        else:
            want(form, *(("status_button", {"status": s}) for s in needs.get("set_statuses") or []))
        want(self._path("comment_path", tid), ("comment_box", {}), ("comment_submit", {}))
        want(self._path("history_path", tid), ("history_item", {}))
        for path, keys in pages.items():
            await self._open(path)
            found = await self._missing(keys, f"ticket page {path}")
            if found:
                await self._evidence("check-ticket")
            problems += found
        return problems

    async def _confirm(self, ticket_id: int, changes: dict[str, Any]) -> str | None:
        """Read the ticket's page back: a page that took the form but kept a value is ChangeRefused."""
        from backroom.bots.systems.helpdesk.rt import not_applied

        current = await self.get(ticket_id)
        kept = not_applied(changes, current)
        if kept:
            shown = ", ".join(f"{name} = {asked!r} (the page shows {now!r})" for name, asked, now in kept)
            said = self._said or "the page kept the old value"
            raise ChangeRefused(
                f"ticket {ticket_id}: the helpdesk's page did not take {shown}: {said}",
                ticket_id=ticket_id,
                refused=kept,
                said=said,
                current=current,
            )
        return current.etag

    async def comment(self, ticket_id: int, text: str) -> None:
        wanted = " ".join(text.split())
        posted = {"yes": False}

        async def shown() -> bool:
            await self._open(self._path("history_path", ticket_id))
            items = await self.page.locator(self.sel("history_item")).all()
            entries = [await self._entry(item, True) for item in items]
            return any(e.type == "Comment" and wanted in " ".join(e.content.split()) for e in entries)

        async def apply() -> None:
            # a comment posted just as the session ran out may have landed: never post it twice
            if posted["yes"] and await shown():
                return
            await self._open(self._path("comment_path", ticket_id))
            await (await self._need("comment_box")).fill(text)
            posted["yes"] = True
            await self._submit("comment_submit")
            await self._after_submit(ticket_id)

        await self._step(f"comment-{ticket_id}", apply)
        # confirmed only when the history shows it (a site may answer the form and keep nothing)
        if not any(wanted in " ".join(c.split()) for c in await self.comments(ticket_id)):
            raise HelpdeskError(f"ticket {ticket_id}: the comment does not show in its history after saving it")


#: (label, value) of each custom field row; value: an input's, a select's or the element's text
_ROWS_JS = """(rows, [labelSel, valueSel]) => rows.flatMap(row => {
    const label = row.querySelector(labelSel), value = row.querySelector(valueSel);
    if (!label || !value) return [];
    const tag = value.tagName.toLowerCase();
    return [[label.innerText, ['input', 'select', 'textarea'].includes(tag) ? value.value : value.innerText]];
})"""
_INPUTS_JS = """els => els.map(e => [e.id, ['input', 'select', 'textarea'].includes(e.tagName.toLowerCase())
    ? e.value : e.innerText])"""

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def _profile(settings: SystemSettings) -> BrowserProfile:
    """The system's screen profile from ``options.profile``: a table, or the name of a shipped one
    (``"rt5"``); the error says what is missing."""
    raw = settings.options.get("profile")
    if not raw:
        raise ConfigError(
            "a browser helpdesk needs options.profile: the table of its pages and selectors "
            '(see BrowserProfile), or a shipped profile\'s name ("rt5"; or base = "rt5" in the table to change some '
            "of its settings); there is no default, "
            "every helpdesk's screens differ"
        )
    if isinstance(raw, str):
        raw = {"base": raw}
    if isinstance(raw, dict) and "base" in raw:  # a shipped profile, with this table's settings on top
        from backroom.bots.systems.helpdesk.rt5_profile import SHIPPED

        base = raw["base"]
        if base not in SHIPPED:
            raise ConfigError(f"options.profile = {base!r} is not a shipped profile (known: {', '.join(SHIPPED)})")
        over = {k: v for k, v in raw.items() if k != "base"}
        raw = {**SHIPPED[base], **over, "selectors": {**SHIPPED[base]["selectors"], **over.get("selectors", {})}}
    try:
        return BrowserProfile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"the browser helpdesk's options.profile is not usable: {exc}") from None

"""Request Tracker 5 REST2 backend of :class:`~backroom.bots.systems.helpdesk.base.Helpdesk`.

Authentication (``auth`` in ``[systems.NAME]``, see README "Request Tracker"):

* ``token`` (the default when ``token`` is set): ``Authorization: token <TOKEN>`` on every request.
  RT checks it with bcrypt each time (0.4-0.5 s at RT's default ``$BcryptCost`` of 12).
* ``basic``: ``username``/``password`` on every request, the same bcrypt cost per request.
* ``session``: one login to ``/NoAuth/Login.html`` per run; REST2 then accepts the session cookie
  (RT lets the web UI's session use REST2), so bcrypt runs once per run. Writes carry a
  ``Referer`` of RT's own URL, which RT's CSRF check wants for cookie-authenticated writes.

Searches use TicketSQL with ``fields=`` so one page brings the columns the bot needs; updates send
``If-Match`` with the ETag read earlier, so a ticket a human changed in between is detected (HTTP 412
→ :class:`TicketChanged`) instead of overwritten. RT answers a PUT with 200 and a list of messages
even when it applied nothing (an invalid status, an unknown custom field) and sends no ETag, so an
update reads the ticket back: what it returns is the version RT holds, and a value RT kept is
:class:`ChangeRefused` with RT's own words. 429/502/503/504 are retried by the shared httpx transport
(``Retry-After`` honoured); a 500 is retried here for GET and PUT only, which are idempotent.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx

from backroom.bots.sdk.errors import TransientError
from backroom.bots.sdk.ratelimit import RateLimiter
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

__all__ = ["AUTH_MODES", "DEFAULT_LIFECYCLE", "RTHelpdesk", "not_applied"]

_SEARCH_FIELDS = "Subject,Status,Queue,Owner,Priority,Created,LastUpdated,Resolved,Requestor,CustomFields"
AUTH_MODES = ("token", "basic", "session")
#: the statuses of RT's stock lifecycle "default" (REST2 does not list a lifecycle's statuses)
DEFAULT_LIFECYCLE = ("new", "open", "stalled", "resolved", "rejected", "deleted")


class _RTForbidden(HelpdeskError):
    """RT answered 403: the bot's user lacks a right (RT says the same for a queue that does not exist)."""


def _auth_mode(settings: SystemSettings) -> str:
    mode = str(settings.options.get("auth") or ("token" if settings.token else "basic"))
    if mode not in AUTH_MODES:
        raise HelpdeskError(f"[systems] auth = {mode!r}: expected one of {', '.join(AUTH_MODES)}")
    if mode == "token" and not settings.token:
        raise HelpdeskError("[systems] auth = 'token' needs token = 'env:...' (an RT auth token)")
    if mode in ("basic", "session") and not (settings.username and settings.password):
        raise HelpdeskError(f"[systems] auth = {mode!r} needs username and password = 'env:...'")
    return mode


class RTHelpdesk(Helpdesk):
    """An RT5 REST2 client. Create one per run; ``await aclose()`` at the end."""

    def __init__(
        self, settings: SystemSettings, secret: Callable[[str], str], *, client: httpx.AsyncClient | None = None
    ) -> None:
        from backroom.bots.sdk.http import make_async_client

        self.auth = _auth_mode(settings)
        options = {**settings.options, "auth_scheme": settings.options.get("auth_scheme", "token")}
        update: dict[str, Any] = {"options": options}
        if self.auth != "token":
            update["token"] = None  # basic and session never send the token
        self.settings = settings.model_copy(update=update)
        self._secret = secret
        self.client = client or make_async_client(self.settings, secret)
        if self.auth == "basic":
            self.client.auth = httpx.BasicAuth(settings.username or "", secret(settings.password or ""))
        self.base_url = (settings.url or "").rstrip("/")
        self.limiter = RateLimiter(settings.rate_limit)
        self.per_page = int(settings.options.get("per_page", 100))
        self.server_errors_retried = 0
        self.requests = 0  # HTTP requests sent (the cost figure of a run)
        self.logins = 0
        self._login_lock = asyncio.Lock()
        self._logged_in = False

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _login(self) -> None:
        """``auth = "session"``: log in once through RT's login form; the cookie serves REST2 after."""
        async with self._login_lock:
            if self._logged_in:
                return
            await self.limiter.wait()
            self.requests += 1
            self.logins += 1
            try:
                response = await self.client.post(
                    "/NoAuth/Login.html",
                    data={"user": self.settings.username, "pass": self._secret(self.settings.password or "")},
                    headers={"Referer": f"{self.base_url}/"},
                )
                # RT answers its login page either way (a user without a home page lands on it again):
                # whether the session is logged in is what REST2 says with the cookie
                self.requests += 1
                probe = await self.client.get("/REST/2.0/queues/all", params={"per_page": 1}, follow_redirects=False)
            except httpx.HTTPError as exc:
                raise TransientError(f"helpdesk login failed: {type(exc).__name__}") from exc
            if response.status_code >= 500 or probe.status_code >= 500:
                raise TransientError(f"helpdesk login answered {response.status_code}/{probe.status_code}")
            if probe.status_code != 200 or "json" not in probe.headers.get("content-type", ""):
                raise HelpdeskError(
                    f"helpdesk refused the login of user {self.settings.username!r} at"
                    f" {self.base_url}/NoAuth/Login.html (wrong username or password?)"
                )
            self._logged_in = True

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.auth == "session":
            await self._login()
            if method not in ("GET", "HEAD"):
                kwargs["headers"] = {**kwargs.get("headers", {}), "Referer": f"{self.base_url}/"}
        attempts = 3 if method in ("GET", "PUT") else 1
        for attempt in range(attempts):
            await self.limiter.wait()
            self.requests += 1
            try:
                response = await self.client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise TransientError(f"helpdesk {method} {path} failed: {type(exc).__name__}") from exc
            if response.status_code == 500 and attempt + 1 < attempts:
                self.server_errors_retried += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            break
        if response.status_code == 404:
            raise TicketNotFound(f"helpdesk has no {path}")
        if response.status_code == 412:
            raise TicketChanged(f"{path} changed since it was read (If-Match failed)")
        if response.status_code in (429, 500, 502, 503, 504):
            raise TransientError(f"helpdesk {method} {path} answered {response.status_code} after retries")
        if response.status_code == 401:
            what = {"token": "the token", "basic": "the username/password", "session": "the session"}[self.auth]
            raise HelpdeskError(f"helpdesk rejected {what} (401, auth = {self.auth!r}); check [systems] credentials")
        if response.status_code == 403:
            raise _RTForbidden(
                f"helpdesk {method} {path} answered 403 Forbidden: the bot's RT user lacks a right"
                " (see README 'Request Tracker' for the rights it needs)"
            )
        if response.status_code >= 400:
            raise HelpdeskError(f"helpdesk {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response

    def _json(self, response: httpx.Response) -> Any:
        """The body as JSON; an HTML page (a login or CSRF page, a wrong ``url``) is a named error."""
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "?")
            raise HelpdeskError(
                f"helpdesk {response.request.method} {response.request.url.path} answered {kind}, not JSON"
                f" (is [systems] url RT's base URL? RT served: {response.text[:120]!r})"
            ) from None

    @staticmethod
    def _record(data: dict[str, Any], etag: str | None = None) -> TicketRecord:
        queue = data.get("Queue") or {}
        owner = data.get("Owner") or {}
        requestors = data.get("Requestor") or []
        fields = {cf["name"]: (cf.get("values") or [""])[0] for cf in data.get("CustomFields") or [] if "name" in cf}
        return TicketRecord(
            id=int(data["id"]),
            subject=data.get("Subject", ""),
            status=data.get("Status", ""),
            queue=queue.get("Name") or str(queue.get("id", "")) if isinstance(queue, dict) else str(queue),
            owner=owner.get("id", "") if isinstance(owner, dict) else str(owner),
            priority=int(data.get("Priority") or 0),
            created=parse_time(data.get("Created")),
            last_updated=parse_time(data.get("LastUpdated")),
            resolved=parse_time(data.get("Resolved")),
            requestor=requestors[0].get("id", "") if requestors else "",
            fields=fields,
            etag=etag,
        )

    async def search(self, query: str) -> list[TicketRecord]:
        """Every ticket matching the TicketSQL ``query``, following pages."""
        out: list[TicketRecord] = []
        page = 1
        while True:
            response = await self._call(
                "GET",
                "/REST/2.0/tickets",
                params={
                    "query": query,
                    "fields": _SEARCH_FIELDS,
                    "fields[Queue]": "Name",
                    "page": page,
                    "per_page": self.per_page,
                    "orderby": "id",
                },
            )
            data = self._json(response)
            out.extend(self._record(item) for item in data.get("items", []))
            more = bool(data.get("next_page")) or page < int(data.get("pages") or page)
            if not more or not data.get("items"):
                return out
            page += 1

    async def get(self, ticket_id: int) -> TicketRecord:
        # RT names a ticket's queue only when asked (else {"id": "1"}); search asks the same way
        response = await self._call("GET", f"/REST/2.0/ticket/{ticket_id}", params={"fields[Queue]": "Name"})
        return self._record(self._json(response), response.headers.get("etag"))

    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        headers = {"If-Match": if_match} if if_match else {}
        response = await self._call("PUT", f"/REST/2.0/ticket/{ticket_id}", json=changes, headers=headers)
        current = await self.get(ticket_id)  # confirm: RT says 200 for changes it did not make
        kept = not_applied(changes, current)
        if kept:
            said = self._json(response) if response.content else []
            words = "; ".join(str(m) for m in said) if isinstance(said, list) else str(said)
            why = words or "RT gave no reason: is the custom field applied to the ticket's queue?"
            shown = ", ".join(f"{name} = {asked!r} (RT kept {now!r})" for name, asked, now in kept)
            raise ChangeRefused(
                f"ticket {ticket_id}: RT refused {shown}: {why}",
                ticket_id=ticket_id,
                refused=kept,
                said=why,
                current=current,
            )
        return current.etag

    async def comment(self, ticket_id: int, text: str) -> None:
        await self._call(
            "POST", f"/REST/2.0/ticket/{ticket_id}/comment", json={"Content": text, "ContentType": "text/plain"}
        )

    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[HistoryEntry]:
        entries: list[HistoryEntry] = []
        page = 1
        while True:
            response = await self._call(
                "GET",
                f"/REST/2.0/ticket/{ticket_id}/history",
                params={"fields": "Type,Created,Creator,Field,OldValue,NewValue", "page": page, "per_page": 100},
            )
            data = self._json(response)
            for item in data.get("items", []):
                creator = item.get("Creator") or {}
                entries.append(
                    HistoryEntry(
                        id=int(item["id"]),
                        type=item.get("Type", ""),
                        created=parse_time(item.get("Created")),
                        creator=creator.get("id", "") if isinstance(creator, dict) else str(creator),
                        field=item.get("Field") or "",
                        old=item.get("OldValue") or "",
                        new=item.get("NewValue") or "",
                    )
                )
            if not data.get("next_page") and page >= int(data.get("pages") or page):
                break
            page += 1
        if with_content:
            wanted = [e for e in entries if e.type in ("Create", "Correspond", "Comment")]
            texts = await asyncio.gather(*(self._content(e.id) for e in wanted))
            for entry, text in zip(wanted, texts, strict=True):
                entry.content = text
        return entries

    async def comments(self, ticket_id: int) -> list[str]:
        """Only the comments' texts: the history without content, then the comments' attachments."""
        entries = await self.history(ticket_id, with_content=False)
        return list(await asyncio.gather(*(self._content(e.id) for e in entries if e.type == "Comment")))

    async def _content(self, transaction_id: int) -> str:
        response = await self._call(
            "GET", f"/REST/2.0/transaction/{transaction_id}/attachments", params={"fields": "Content,ContentType"}
        )
        parts = []
        for item in self._json(response).get("items", []):
            if not str(item.get("ContentType", "text/plain")).startswith("text/"):
                continue
            raw = item.get("Content") or ""
            try:
                parts.append(base64.b64decode(raw).decode("utf-8"))
            except ValueError:
                parts.append(raw)
        return "\n".join(parts)

    # -- backroom check --online ----------------------------------------------------------------
    def check_online(self, needs: dict[str, Any] | None = None) -> list[str] | None:
        from backroom.bots.systems.helpdesk.rt_check import check_rt

        async def go() -> list[str]:
            try:
                return await check_rt(self, needs or {})
            finally:
                await self.aclose()

        return asyncio.run(go())


def not_applied(changes: dict[str, Any], current: TicketRecord) -> list[tuple[str, str, str]]:
    """The requested values ``current`` does not show, as (field, asked, kept): Status, Queue by name,
    Owner, custom fields.

    Priority is not compared: RT may show it as a word (``Low``) where a number was sent.
    """
    kept: list[tuple[str, str, str]] = []
    if "Status" in changes and current.status != str(changes["Status"]):
        kept.append(("Status", str(changes["Status"]), current.status))
    queue = changes.get("Queue")
    if queue is not None and not str(queue).isdigit() and current.queue != str(queue):
        kept.append(("Queue", str(queue), current.queue))
    if "Owner" in changes and current.owner != str(changes["Owner"]):
        kept.append(("Owner", str(changes["Owner"]), current.owner))
    for name, value in (changes.get("CustomFields") or {}).items():
        wanted = "" if value is None else str(value[0] if isinstance(value, list) and value else value)
        if current.field_value(name) != wanted.strip():
            kept.append((name, wanted, current.field_value(name)))
    return kept

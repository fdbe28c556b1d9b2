"""Request Tracker 5 REST2 backend of :class:`~backroom.bots.systems.helpdesk.base.Helpdesk`.

Auth is RT's ``Authorization: token <TOKEN>``. Searches use TicketSQL with ``fields=`` so one page
brings the columns the bot needs; updates send ``If-Match`` with the ETag read earlier, so a ticket a
human changed in between is detected (HTTP 412 → :class:`TicketChanged`) instead of overwritten.
RT answers a PUT with 200 and a list of messages even when it applied nothing (an invalid status,
an unknown custom field) and sends no ETag, so an update reads the ticket back: what it returns is
the version RT holds, and a value RT kept is :class:`ChangeRefused` with RT's own words.
429/502/503/504 are retried by the shared httpx transport (``Retry-After`` honoured); a 500 is
retried here for GET and PUT only, which are idempotent.
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

__all__ = ["RTHelpdesk", "not_applied"]

_SEARCH_FIELDS = "Subject,Status,Queue,Owner,Priority,Created,LastUpdated,Resolved,Requestor,CustomFields"


class RTHelpdesk(Helpdesk):
    """An RT5 REST2 client. Create one per run; ``await aclose()`` at the end."""

    def __init__(
        self, settings: SystemSettings, secret: Callable[[str], str], *, client: httpx.AsyncClient | None = None
    ) -> None:
        from backroom.bots.sdk.http import make_async_client

        options = {**settings.options, "auth_scheme": settings.options.get("auth_scheme", "token")}
        self.settings = settings.model_copy(update={"options": options})
        self.client = client or make_async_client(self.settings, secret)
        self.limiter = RateLimiter(settings.rate_limit)
        self.per_page = int(settings.options.get("per_page", 100))
        self.server_errors_retried = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempts = 3 if method in ("GET", "PUT") else 1
        for attempt in range(attempts):
            await self.limiter.wait()
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
            raise HelpdeskError("helpdesk rejected the token (401); check [systems] token reference")
        if response.status_code >= 400:
            raise HelpdeskError(f"helpdesk {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response

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
            data = response.json()
            out.extend(self._record(item) for item in data.get("items", []))
            more = bool(data.get("next_page")) or page < int(data.get("pages") or page)
            if not more or not data.get("items"):
                return out
            page += 1

    async def get(self, ticket_id: int) -> TicketRecord:
        # RT names a ticket's queue only when asked (else {"id": "1"}); search asks the same way
        response = await self._call("GET", f"/REST/2.0/ticket/{ticket_id}", params={"fields[Queue]": "Name"})
        return self._record(response.json(), response.headers.get("etag"))

    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        headers = {"If-Match": if_match} if if_match else {}
        response = await self._call("PUT", f"/REST/2.0/ticket/{ticket_id}", json=changes, headers=headers)
        current = await self.get(ticket_id)  # confirm: RT says 200 for changes it did not make
        kept = not_applied(changes, current)
        if kept:
            said = response.json() if response.content else []
            words = "; ".join(str(m) for m in said) if isinstance(said, list) else str(said)
            why = words or "no reason given"
            raise ChangeRefused(f"ticket {ticket_id}: the helpdesk kept {', '.join(kept)} ({why})")
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
            data = response.json()
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

    async def _content(self, transaction_id: int) -> str:
        response = await self._call(
            "GET", f"/REST/2.0/transaction/{transaction_id}/attachments", params={"fields": "Content,ContentType"}
        )
        parts = []
        for item in response.json().get("items", []):
            if not str(item.get("ContentType", "text/plain")).startswith("text/"):
                continue
            raw = item.get("Content") or ""
            try:
                parts.append(base64.b64decode(raw).decode("utf-8"))
            except ValueError:
                parts.append(raw)
        return "\n".join(parts)


def not_applied(changes: dict[str, Any], current: TicketRecord) -> list[str]:
    """The requested values ``current`` does not show (Status, Queue by name, Owner, custom fields).

    Priority is not compared: RT may show it as a word (``Low``) where a number was sent.
    """
    kept = []
    if "Status" in changes and current.status != str(changes["Status"]):
        kept.append(f"Status {current.status!r} (asked {changes['Status']!r})")
    queue = changes.get("Queue")
    if queue is not None and not str(queue).isdigit() and current.queue != str(queue):
        kept.append(f"Queue {current.queue!r} (asked {queue!r})")
    if "Owner" in changes and current.owner != str(changes["Owner"]):
        kept.append(f"Owner {current.owner!r} (asked {changes['Owner']!r})")
    for name, value in (changes.get("CustomFields") or {}).items():
        wanted = "" if value is None else str(value[0] if isinstance(value, list) and value else value)
        if current.field_value(name) != wanted.strip():
            kept.append(f"{name} {current.field_value(name)!r} (asked {wanted!r})")
    return kept

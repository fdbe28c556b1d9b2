"""The helpdesk interface: what the tickets bot needs from any helpdesk.

One interface, one module per backend (``rt`` speaks RT5 REST2, ``browser`` drives a web UI
described by a profile), chosen by ``kind`` in ``[systems.NAME]`` through the registry
(``open_system(ctx, name, Helpdesk)``). The interface is asynchronous so the bot can keep many
tickets in flight while a rate limiter keeps it polite.

Errors are pure: a problem with a *ticket* is a business error (skip it, report it), a problem
with the *helpdesk* is an application error. Backends convert at their boundary (HTTP 404 and 412,
a page that says "changed by someone else") into these:

    BusinessError
    └── TicketError            about one ticket
        ├── TicketNotFound     no ticket with that id
        ├── TicketChanged      someone else changed it since we read it (If-Match failed)
        └── ChangeRefused      the helpdesk did not apply a value (RT answers 200 and says why)
    ApplicationError
    └── HelpdeskError          the helpdesk answered something the adapter cannot use
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.systems.base import SystemAdapter

__all__ = [
    "ChangeRefused",
    "Helpdesk",
    "HelpdeskError",
    "HistoryEntry",
    "TicketChanged",
    "TicketError",
    "TicketNotFound",
    "TicketRecord",
    "parse_time",
]


class HelpdeskError(ApplicationError):
    """The helpdesk answered something the adapter cannot use."""


class TicketError(BusinessError):
    """A problem with one ticket (the data), not with the helpdesk: skip it and go on."""


class TicketNotFound(TicketError):
    """No ticket with that id."""


class TicketChanged(TicketError):
    """The ticket changed since it was read (a human touched it): skip it, never overwrite."""


class ChangeRefused(TicketError):
    """The helpdesk kept a value the bot asked to change (an invalid status, an unknown field).

    It carries what a caller needs to report and to record only what was confirmed: the ticket,
    each refused ``(field, asked, kept)``, the helpdesk's own words, and the ticket as read back
    after the write (``current``, so the values that *did* land are known).
    """

    def __init__(
        self,
        message: str,
        *,
        ticket_id: int = 0,
        refused: list[tuple[str, str, str]] | None = None,
        said: str = "",
        current: TicketRecord | None = None,
    ) -> None:
        super().__init__(message)
        self.ticket_id = ticket_id
        self.refused = refused or []
        self.said = said
        self.current = current


def parse_time(value: str | None) -> dt.datetime | None:
    """RT's ISO times (``2026-11-24T10:00:00Z``); RT's 'not set' (1970-01-01) becomes None."""
    if not value or value.startswith("1970-01-01"):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class TicketRecord:
    """A ticket as the bot sees it, whatever the backend."""

    id: int
    subject: str
    status: str
    queue: str
    owner: str = ""
    priority: int = 0
    created: dt.datetime | None = None
    last_updated: dt.datetime | None = None
    resolved: dt.datetime | None = None
    requestor: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    etag: str | None = None

    def field_value(self, name: str) -> str:
        return (self.fields.get(name) or "").strip()

    def amount(self, name: str = "Amount") -> Decimal | None:
        raw = self.field_value(name).replace(",", "")
        try:
            return Decimal(raw) if raw else None
        except ArithmeticError:
            return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "status": self.status,
            "queue": self.queue,
            "owner": self.owner,
            "priority": self.priority,
            "requestor": self.requestor,
            "created": self.created.isoformat() if self.created else None,
            "last_updated": self.last_updated.isoformat() if self.last_updated else None,
            "resolved": self.resolved.isoformat() if self.resolved else None,
            "fields": dict(sorted(self.fields.items())),
        }


@dataclass
class HistoryEntry:
    """One transaction of a ticket's history (creation, comment, field change...)."""

    id: int
    type: str
    created: dt.datetime | None
    creator: str
    field: str = ""
    old: str = ""
    new: str = ""
    content: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created": self.created.isoformat() if self.created else None,
            "creator": self.creator,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "content": self.content,
        }


class Helpdesk(SystemAdapter):
    """What every helpdesk backend offers. All methods are coroutines; writes return what the
    helpdesk confirmed (the new version tag), never what was sent."""

    KIND: ClassVar[str] = "helpdesk"

    @abc.abstractmethod
    async def search(self, query: str) -> list[TicketRecord]:
        """Every ticket matching the (simple) TicketSQL ``query``."""

    @abc.abstractmethod
    async def get(self, ticket_id: int) -> TicketRecord:
        """One ticket with its version tag; :class:`TicketNotFound` when there is none."""

    @abc.abstractmethod
    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        """Apply ``Status``/``Priority``/``Queue``/``Owner``/``CustomFields``; returns the new etag.

        With ``if_match``, a ticket changed since it was read raises :class:`TicketChanged`."""

    @abc.abstractmethod
    async def comment(self, ticket_id: int, text: str) -> None:
        """Add an internal comment."""

    @abc.abstractmethod
    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[HistoryEntry]:
        """The ticket's transactions, oldest first."""

    async def text(self, ticket_id: int) -> str:
        """The customer conversation: creation content and correspondence, oldest first."""
        history = await self.history(ticket_id)
        return "\n".join(e.content for e in history if e.type in ("Create", "Correspond") and e.content)

    async def comments(self, ticket_id: int) -> list[str]:
        """The internal comments' texts, oldest first (where the bot looks for its own markers)."""
        return [e.content for e in await self.history(ticket_id) if e.type == "Comment"]

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections or the browser."""

"""The helpdesk adapter interface: what the tickets bot needs from any helpdesk.

One interface, one module per backend (``helpdesk_rt`` speaks RT5 REST2, ``helpdesk_browser`` drives
a web UI), chosen by ``kind`` in ``[systems.NAME]`` through :func:`open_helpdesk`. The interface is
asynchronous so the bot can keep many tickets in flight while a rate limiter keeps it polite.

    HelpdeskError (ApplicationError)
    ├── TicketNotFound (BusinessError as well: the data is wrong, not the machinery)
    └── TicketChanged  someone else changed the ticket since we read it (If-Match failed)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from backroom.bots.sdk.errors import ApplicationError, BusinessError, ConfigError

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = [
    "HelpdeskAdapter",
    "HelpdeskError",
    "HistoryEntry",
    "RateLimiter",
    "TicketChanged",
    "TicketNotFound",
    "TicketRecord",
    "open_helpdesk",
    "parse_time",
]


class HelpdeskError(ApplicationError):
    """The helpdesk answered something the adapter cannot use."""


class TicketNotFound(HelpdeskError, BusinessError):
    """No ticket with that id."""


class TicketChanged(HelpdeskError, BusinessError):
    """The ticket changed since it was read (a human touched it): skip it, never overwrite."""


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


class HelpdeskAdapter(Protocol):
    """What every helpdesk backend offers. All methods are coroutines."""

    async def search(self, query: str) -> list[TicketRecord]: ...
    async def get(self, ticket_id: int) -> TicketRecord: ...
    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        """Apply ``Status``/``Priority``/``Queue``/``Owner``/``CustomFields``; returns the new etag."""
        ...

    async def comment(self, ticket_id: int, text: str) -> None: ...
    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[HistoryEntry]: ...
    async def text(self, ticket_id: int) -> str:
        """The customer conversation: creation content and correspondence, oldest first."""
        ...

    async def aclose(self) -> None: ...


class RateLimiter:
    """At most ``rate`` starts per second across all tasks (None = unlimited), evenly spaced."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()
        self.count = 0  # requests started through this limiter (benchmarks check the achieved rate)

    async def wait(self) -> None:
        self.count += 1
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def open_helpdesk(ctx: Context, system: str) -> HelpdeskAdapter:
    """The adapter for ``[systems.<system>]`` by its ``kind`` (``rt-rest`` or ``browser``)."""
    settings = ctx.system(system)
    if settings.kind in ("rt-rest", "rt", "helpdesk-rt"):
        from backroom.bots.systems.helpdesk_rt import RTHelpdesk

        return RTHelpdesk(settings, ctx.secret)
    if settings.kind in ("browser", "helpdesk-browser"):
        from backroom.bots.systems.helpdesk_browser import BrowserHelpdesk

        return BrowserHelpdesk(settings, ctx.secret, evidence=ctx.artifacts_dir)
    raise ConfigError(f"[systems.{system}] kind {settings.kind!r} is not a helpdesk; use 'rt-rest' or 'browser'")

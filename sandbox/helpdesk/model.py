"""The sandbox helpdesk's data: tickets, their transactions (history), users and tokens.

Kept in memory and guarded by one re-entrant lock; time comes from an injectable clock so tests move
it instead of sleeping. The REST API (:mod:`.rest`) and the web pages (:mod:`.pages`) both change
tickets only through :class:`Helpdesk`, so every change leaves a transaction, as RT's do.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CUSTOM_FIELDS",
    "QUEUES",
    "STATUSES",
    "Helpdesk",
    "Ticket",
    "TicketNotFound",
    "Transaction",
    "iso",
    "queue_id",
]

STATUSES = ["new", "open", "stalled", "resolved", "closed", "archived", "rejected"]
CUSTOM_FIELDS = [
    "Category",
    "CustomerName",
    "Mobile",
    "Landline",
    "IDCard",
    "OrderNo",
    "AccountNo",
    "Amount",
    "Product",
    "Urgency",
    "CallbackTime",
    "Escalated",
    "Regulator",
    "VIP",
    "Archived",
    "ReviewNeeded",
]
QUEUES = {1: "General", 2: "Complaints", 3: "Complaints-L2", 4: "Complaints-Archive"}


class TicketNotFound(LookupError):
    """No ticket has this id (the app answers 404 "Resource does not exist", as RT does)."""


def iso(value: dt.datetime | None) -> str | None:
    """RT's timestamp format: UTC, seconds, a trailing ``Z``."""
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Transaction:
    id: int
    ticket: int
    type: str
    created: dt.datetime
    creator: str
    content: str = ""
    field: str = ""
    old: str = ""
    new: str = ""


@dataclass
class Ticket:
    id: int
    subject: str
    queue: int
    status: str
    created: dt.datetime
    last_updated: dt.datetime
    requestor: str = ""
    owner: str = "Nobody"
    priority: int = 0
    resolved: dt.datetime | None = None
    cf: dict[str, str] = field(default_factory=dict)
    version: int = 1

    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class Helpdesk:
    """The in-memory state: tickets, transactions, users. Thread-safe; time from ``clock``."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tickets: dict[int, Ticket] = {}
        self.transactions: dict[int, Transaction] = {}
        self.by_ticket: dict[int, list[int]] = {}
        self.lock = threading.RLock()
        self.tokens: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self._next_tx = 1

    def now(self) -> dt.datetime:
        return self.clock()

    def ticket(self, tid: int) -> Ticket:
        """The ticket ``tid``; :class:`TicketNotFound` when there is none."""
        ticket = self.tickets.get(tid)
        if ticket is None:
            raise TicketNotFound(tid)
        return ticket

    def _tx(self, ticket: Ticket, type_: str, creator: str, **kw: str) -> Transaction:
        tx = Transaction(self._next_tx, ticket.id, type_, self.now(), creator, **kw)
        self._next_tx += 1
        self.transactions[tx.id] = tx
        self.by_ticket.setdefault(ticket.id, []).append(tx.id)
        ticket.last_updated = tx.created
        ticket.version += 1
        return tx

    def create(
        self,
        *,
        subject: str,
        queue: int,
        content: str,
        creator: str,
        requestor: str = "",
        status: str = "new",
        cf: dict[str, str] | None = None,
        created: dt.datetime | None = None,
        priority: int = 0,
    ) -> Ticket:
        with self.lock:
            tid = max(self.tickets, default=0) + 1
            when = created or self.now()
            ticket = Ticket(
                tid,
                subject,
                queue,
                status,
                when,
                when,
                requestor,
                priority=priority,
                cf={k: v for k, v in (cf or {}).items() if v not in (None, "")},
            )
            self.tickets[tid] = ticket
            tx = self._tx(ticket, "Create", creator, content=content)
            tx.created = when
            ticket.last_updated = when
            return ticket

    def update(self, tid: int, changes: dict[str, Any], creator: str) -> list[str]:
        """Apply RT-style changes (Status, Priority, Queue, Owner, Subject, CustomFields) with history."""
        with self.lock:
            ticket = self.tickets[tid]
            messages: list[str] = []
            for key, value in changes.items():
                if key == "CustomFields":
                    for name, cf_value in (value or {}).items():
                        if name not in CUSTOM_FIELDS:
                            raise ValueError(f"unknown custom field {name!r}")
                        new = "" if cf_value is None else str(cf_value[0] if isinstance(cf_value, list) else cf_value)
                        old = ticket.cf.get(name, "")
                        if new == old:
                            continue
                        if new:
                            ticket.cf[name] = new
                        else:
                            ticket.cf.pop(name, None)
                        self._tx(ticket, "CustomField", creator, field=name, old=old, new=new)
                        messages.append(f"{name} {new} added" if not old else f"{name} {old} changed to {new}")
                    continue
                attr = {
                    "Status": "status",
                    "Priority": "priority",
                    "Queue": "queue",
                    "Owner": "owner",
                    "Subject": "subject",
                }.get(key)
                if attr is None:
                    raise ValueError(f"field {key!r} cannot be updated")
                if key == "Status" and value not in STATUSES:
                    raise ValueError(f"status {value!r} is not in the lifecycle {STATUSES}")
                if key == "Queue":
                    value = queue_id(value)
                if key == "Priority":
                    value = int(value)
                old = getattr(ticket, attr)
                if old == value:
                    continue
                setattr(ticket, attr, value)
                if key == "Status":
                    ticket.resolved = self.now() if value == "resolved" else ticket.resolved
                self._tx(
                    ticket, "Status" if key == "Status" else "Set", creator, field=key, old=str(old), new=str(value)
                )
                messages.append(f"Ticket {tid}: {key} changed from '{old}' to '{value}'")
            return messages

    def add_message(self, tid: int, kind: str, content: str, creator: str) -> Transaction:
        with self.lock:
            return self._tx(self.tickets[tid], kind, creator, content=content)


def queue_id(value: Any) -> int:
    """A queue given by id or by name, as RT accepts both."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for qid, name in QUEUES.items():
        if name == value:
            return qid
    raise ValueError(f"unknown queue {value!r}")

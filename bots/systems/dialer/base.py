"""The call-platform (outbound dialer) interface, its records and its errors.

A callback is requested with an idempotency key (ticket + attempt number); the platform returns
the same task for the same key, so a re-run after a crash never rings a customer twice. Outcomes
come back by webhook (see ``bots.tickets.webhook``) or by polling :meth:`Dialer.outcomes`.
Webhook bodies are signed with HMAC-SHA256 (:func:`verify_signature`).

    BusinessError
    └── DoNotCall          the platform refuses the number (do-not-call list): skip the ticket
    ApplicationError
    └── DialerError        the platform answered something unusable
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar

from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.systems.base import SystemAdapter

__all__ = ["CallbackTask", "Dialer", "DialerError", "DoNotCall", "verify_signature"]


class DialerError(ApplicationError):
    """The call platform answered something unusable."""


class DoNotCall(BusinessError):
    """The platform refused the number: it is on the do-not-call list."""


@dataclass
class CallbackTask:
    id: str
    number: str
    ticket_ref: str
    idempotency_key: str
    status: str
    outcome: str | None = None
    note: str = ""
    completed: str | None = None
    created_now: bool = True  # False when the platform returned an existing task for the key

    @classmethod
    def from_json(cls, data: dict[str, Any], *, created_now: bool = True) -> CallbackTask:
        return cls(
            id=data["id"],
            number=data["number"],
            ticket_ref=str(data["ticket_ref"]),
            idempotency_key=data["idempotency_key"],
            status=data["status"],
            outcome=data.get("outcome"),
            note=data.get("note") or "",
            completed=data.get("completed"),
            created_now=created_now,
        )


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(signature) and hmac.compare_digest(expected, signature or "")


class Dialer(SystemAdapter):
    """What every call platform offers. All methods are coroutines; writes return what the
    platform confirmed (its task, with ``created_now`` False when the key already had one)."""

    KIND: ClassVar[str] = "dialer"

    @abc.abstractmethod
    async def request_callback(
        self,
        *,
        number: str,
        script: str,
        ticket_ref: str,
        key: str,
        allowed_hours: str,
        channel: str = "call",
        callback_url: str | None = None,
    ) -> CallbackTask:
        """Ask for one callback under idempotency ``key``; :class:`DoNotCall` if refused."""

    @abc.abstractmethod
    async def get(self, task_id: str) -> CallbackTask:
        """One task as the platform holds it now."""

    @abc.abstractmethod
    async def outcomes(self, since: int = 0, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
        """Outcome events after cursor ``since``; returns (events, next cursor)."""

    @abc.abstractmethod
    async def do_not_call(self) -> set[str]:
        """The platform's do-not-call numbers."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections."""

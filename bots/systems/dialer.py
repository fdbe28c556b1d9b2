"""Call-platform (outbound dialer) adapter over HTTP.

A callback is requested with an idempotency key (ticket + attempt number); the platform returns
the same task for the same key, so a re-run after a crash never rings a customer twice. Outcomes
come back by webhook (see ``bots.tickets.webhook``) or by polling :meth:`DialerClient.outcomes`.
Webhook bodies are signed with HMAC-SHA256 (:func:`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from backroom.bots.sdk.errors import ApplicationError, BusinessError, TransientError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.helpdesk_base import RateLimiter

__all__ = ["CallbackTask", "DialerClient", "DialerError", "DoNotCall", "verify_signature"]


class DialerError(ApplicationError):
    """The call platform answered something unusable."""


class DoNotCall(DialerError, BusinessError):
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


class DialerClient:
    """Async client for ``[systems.<dialer>]`` (kind ``dialer-http``)."""

    def __init__(
        self, settings: SystemSettings, secret: Callable[[str], str], *, client: httpx.AsyncClient | None = None
    ) -> None:
        from backroom.bots.sdk.http import make_async_client

        self.settings = settings
        self.client = client or make_async_client(settings, secret)
        self.limiter = RateLimiter(settings.rate_limit)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        await self.limiter.wait()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"dialer {method} {path} failed: {type(exc).__name__}") from exc
        if response.status_code in (429, 500, 502, 503, 504):
            raise TransientError(f"dialer {method} {path} answered {response.status_code}")
        return response

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
        body = {
            "number": number,
            "script": script,
            "ticket_ref": ticket_ref,
            "idempotency_key": key,
            "allowed_hours": allowed_hours,
            "channel": channel,
        }
        if callback_url:
            body["callback_url"] = callback_url
        response = await self._call("POST", "/api/v1/callbacks", json=body)
        if response.status_code == 409:
            raise DoNotCall(f"the call platform refuses {number[:3]}****{number[-2:]}: do-not-call list")
        if response.status_code >= 400:
            raise DialerError(f"dialer refused the callback ({response.status_code}): {response.text[:200]}")
        return CallbackTask.from_json(response.json(), created_now=response.status_code == 201)

    async def get(self, task_id: str) -> CallbackTask:
        response = await self._call("GET", f"/api/v1/callbacks/{task_id}")
        if response.status_code >= 400:
            raise DialerError(f"dialer has no task {task_id} ({response.status_code})")
        return CallbackTask.from_json(response.json(), created_now=False)

    async def outcomes(self, since: int = 0, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
        """Outcome events after cursor ``since``; returns (events, next cursor)."""
        response = await self._call("GET", "/api/v1/outcomes", params={"since": since, "limit": limit})
        if response.status_code >= 400:
            raise DialerError(f"dialer outcomes answered {response.status_code}")
        data = response.json()
        return data["items"], int(data["next"])

    async def do_not_call(self) -> set[str]:
        response = await self._call("GET", "/api/v1/dnc")
        if response.status_code >= 400:
            raise DialerError(f"dialer DNC list answered {response.status_code}")
        return set(response.json().get("numbers", []))

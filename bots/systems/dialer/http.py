"""The call platform over its HTTP API (``kind = "dialer-http"``): Bearer token, JSON bodies.

A 409 to a callback request means the number is on the do-not-call list (a business error, the
ticket is skipped); 429 and 5xx are transient; any other 4xx is an unusable answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from backroom.bots.sdk.errors import TransientError
from backroom.bots.sdk.ratelimit import RateLimiter
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.dialer.base import CallbackTask, Dialer, DialerError, DoNotCall

__all__ = ["HttpDialer"]


class HttpDialer(Dialer):
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

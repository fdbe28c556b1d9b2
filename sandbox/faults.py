"""Misbehaviour switches shared by every sandbox system.

Real systems are slow, rate-limit, fail intermittently and expire sessions; the sandbox does too
when told to, so the bots are forced to cope. Each app gets a :class:`Faults` object and the
:class:`FaultMiddleware`; tests flip switches directly (``app.state.faults.rate_limit_every = 3``)
or over HTTP (``POST /_sandbox/faults`` with a JSON object of switch values; ``GET`` shows them).

Paths under ``/_sandbox`` are never affected by the switches.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["FaultMiddleware", "Faults"]


@dataclass
class Faults:
    latency_ms: int = 0  # added to every request
    rate_limit_every: int = 0  # every Nth request answers 429 (0 = off)
    retry_after_s: float = 1.0  # Retry-After sent with the 429
    error_rate: float = 0.0  # probability of a 500/502 answer
    error_status: int = 502
    fail_next: int = 0  # the next N requests answer error_status
    session_ttl_s: float = 0.0  # web sessions expire after this many seconds (0 = never)
    layout_variant: int = 0  # 0 = normal pages; 1 = moved/renamed controls
    #: a web form is saved, then its session ends before the answer page: the bot sees the login
    #: form although its write landed (what a TTL running out mid-request does, on every write)
    session_ends_after_write: bool = False
    duplicate_webhooks: bool = False  # deliver every outbound webhook twice
    seed: int = 7
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._count = 0

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)} - {"counters"}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        for key, value in values.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    def reset(self) -> None:
        self.update(
            {
                "latency_ms": 0,
                "rate_limit_every": 0,
                "error_rate": 0.0,
                "fail_next": 0,
                "session_ttl_s": 0.0,
                "layout_variant": 0,
                "session_ends_after_write": False,
                "duplicate_webhooks": False,
            }
        )

    def decide(self) -> int | None:
        """The status to answer instead of the real one, or None to serve normally."""
        with self._lock:
            self._count += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.error_status
            if self.rate_limit_every and self._count % self.rate_limit_every == 0:
                return 429
            if self.error_rate and self._rng.random() < self.error_rate:
                return self.error_status
        return None

    def bump(self, name: str) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1


class FaultMiddleware:
    """Pure ASGI middleware applying :class:`Faults` and serving ``/_sandbox/faults``."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == "/_sandbox/faults":
            await self._control(scope, receive, send)
            return
        if path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        status = faults.decide()
        if status is not None:
            faults.bump(str(status))
            headers = [(b"content-type", b"application/json")]
            if status == 429:
                # whole seconds, as HTTP says (RFC 9110 §10.2.3); clients ignore "1.0"
                headers.append((b"retry-after", str(math.ceil(faults.retry_after_s)).encode()))
            body = json.dumps({"error": "sandbox fault", "status": status}).encode()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    async def _control(self, scope: dict, receive: Any, send: Any) -> None:
        status = 200
        if scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            try:
                payload = json.loads(body or b"{}")
                if payload.pop("reset", False):
                    self.faults.reset()
                self.faults.update(payload)
            except (ValueError, TypeError) as exc:
                status = 400
                out = json.dumps({"error": str(exc)}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": out})
                return
        out = json.dumps(self.faults.as_dict(), default=str).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": out})

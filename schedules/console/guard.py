"""The console's outer wall, checked before any route, cookie or body is looked at.

* **Host**: a request whose ``Host`` is not one of ours is refused. Without it, DNS rebinding lets any
  website talk to a console on 127.0.0.1 as if it were same-origin — and a console without users makes
  every visitor an admin.
* **Origin**: a state change (POST, PUT, PATCH, DELETE) sent by a browser from another origin is refused,
  whatever cookie or token it carries. Browsers send ``Origin`` on every such request; scripts send none
  and authenticate otherwise.
* **Body size**: a body over the limit is refused from its ``Content-Length``, and a chunked body is cut
  off as it reaches the limit, so a 200 MB post cannot swell the server before authentication.

It is a plain ASGI middleware so that it also covers the static files and the OpenAPI pages.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["RequestGuard", "allowed_hosts", "client_address"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _hostname(value: str) -> str:
    """The host part of a Host header or netloc, lower-cased, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind_host: str, public_url: str | None, extra: Iterable[str]) -> frozenset[str]:
    """Loopback names, the bind address (unless it is a wildcard), public_url's host, and configured ones."""
    hosts = {*_LOOPBACK_NAMES, *(h.lower() for h in extra)}
    if bind_host not in ("0.0.0.0", "::", ""):
        hosts.add(_hostname(bind_host))
    if public_url:
        hosts.add((urlsplit(public_url).hostname or "").lower())
    hosts.discard("")
    return frozenset(hosts)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy, then the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy (left-most entries are whatever the
    client chose to write, so they are never believed)."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in networks)

    address = peer or "?"
    if not networks or not is_trusted(address) or not forwarded_for:
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return address


class RequestGuard:
    """Refuses foreign hosts, cross-origin state changes and oversized bodies (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str], public_url: str | None, max_body: int) -> None:
        self.app = app
        self.hosts = hosts
        self.public_origin = _origin_of(public_url) if public_url else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            await _refuse(send, 421, "this console does not answer to that host name (console.allowed_hosts)")
            return
        if scope.get("method", "GET") in UNSAFE_METHODS and not self._same_origin(headers, scope, host):
            await _refuse(send, 403, "cross-origin request refused")
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _refuse(send, 413, f"request body over {self.max_body} bytes (console.max_body_mb)")
            return
        await self._within_limit(scope, receive, send)

    async def _within_limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, cutting a body off at the limit: the client gets 413 at once, and the app sees a
        disconnect (so it stops reading) and whatever it answers is dropped."""
        seen, started, refused = 0, False, False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    refused = True
                    if not started:
                        await _refuse(send, 413, f"request body over {self.max_body} bytes (console.max_body_mb)")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message.get("type") == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _same_origin(self, headers: dict[str, str], scope: Scope, host: str) -> bool:
        origin = headers.get("origin")
        if origin is None:
            referer = headers.get("referer")
            if referer is None:
                return True  # not a browser: it has to authenticate by token or CSRF header anyway
            origin = _origin_of(referer)
        if origin == "null":
            return False
        own = _origin_of(f"{scope.get('scheme', 'http')}://{host}")
        return _origin_of(origin) in {own, self.public_origin}


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip().lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}".lower()


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

"""httpx clients for configured systems: timeouts, retries with backoff, Retry-After honoured.

Retrying is httpx-retries' job (exponential backoff with jitter, ``Retry-After`` in seconds or as an
HTTP date, 429 and 5xx, connection errors); this module only decides the policy from config and
adds authentication. Non-idempotent methods are retried too, because the status codes retried here
mean the request was not processed (429, 502, 503, 504) — 500 is retried only for safe methods.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable

import httpx
from httpx_retries import Retry, RetryTransport

from backroom.bots.sdk.secrets import resolve_if_ref
from backroom.bots.sdk.system import SystemSettings

__all__ = ["make_async_client", "make_client", "retry_policy"]

_SAFE = ["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"]
_ALL = [*_SAFE, "POST", "PATCH"]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verified SSL context for every client: building one costs tens of milliseconds, which
    adds up to seconds when a bot opens a client per system for hundreds of systems. Same trust
    as httpx's default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR when set)."""
    return httpx.create_ssl_context()


def retry_policy(retries: int, *, backoff: float = 0.5, max_wait: float = 60.0) -> Retry:
    return Retry(
        total=retries,
        allowed_methods=_ALL,
        status_forcelist=[429, 502, 503, 504],
        backoff_factor=backoff,
        respect_retry_after_header=True,
        max_backoff_wait=max_wait,
        retry_on_exceptions=[httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError],
    )


def _auth_headers(system: SystemSettings, secret: Callable[[str], str]) -> dict[str, str]:
    # A header value may be a secret reference ("env:REDMINE_KEY"): resolved, never sent as written.
    headers = {name: resolve_if_ref(value, secret) for name, value in system.headers.items()}
    if system.token:
        token_header = system.options.get("token_header")  # e.g. "X-Redmine-API-Key": the bare token
        if token_header:
            headers.setdefault(str(token_header), secret(system.token))
        else:
            scheme = system.options.get("auth_scheme", "Bearer")
            headers.setdefault("Authorization", f"{scheme} {secret(system.token)}")
    return headers


def make_client(system: SystemSettings, secret: Callable[[str], str], **kwargs: object) -> httpx.Client:
    """A synchronous client bound to ``system.url`` with retries and authentication."""
    transport = RetryTransport(transport=httpx.HTTPTransport(verify=_ssl_context()), retry=retry_policy(system.retries))
    return httpx.Client(
        base_url=system.url or "",
        headers=_auth_headers(system, secret),
        timeout=httpx.Timeout(system.timeout, connect=min(10.0, system.timeout)),
        transport=transport,
        follow_redirects=True,
        **kwargs,  # type: ignore[arg-type]
    )


def make_async_client(system: SystemSettings, secret: Callable[[str], str], **kwargs: object) -> httpx.AsyncClient:
    """An asyncio client like :func:`make_client`, with a connection pool sized to ``concurrency``."""
    transport = RetryTransport(
        transport=httpx.AsyncHTTPTransport(
            verify=_ssl_context(),
            limits=httpx.Limits(max_connections=system.concurrency, max_keepalive_connections=system.concurrency),
        ),
        retry=retry_policy(system.retries),
    )
    return httpx.AsyncClient(
        base_url=system.url or "",
        headers=_auth_headers(system, secret),
        timeout=httpx.Timeout(system.timeout, connect=min(10.0, system.timeout)),
        transport=transport,
        follow_redirects=True,
        **kwargs,  # type: ignore[arg-type]
    )

"""The console's per-application state and the request helpers both the API and the pages use.

Identity is resolved the same way everywhere: an ``Authorization: Bearer`` token (scripts), else
the session cookie (people), which carries only the id of a session kept on the server
(:mod:`.sessions`). A session is valid for ``console.session_minutes`` after the log-in, whatever the
activity, and ends at log-out. Every cookie-authenticated state change needs the session's CSRF token —
on a console without users too, where a bearer token means nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from backroom.schedules.console.auth import ANONYMOUS, Auth, LoginThrottle, Role, User, csrf_matches, new_csrf_token
from backroom.schedules.console.guard import client_address
from backroom.schedules.console.i18n import Translator, negotiate
from backroom.schedules.console.sessions import SessionStore
from backroom.schedules.runner import Runner

__all__ = ["ConsoleState", "Denied", "console", "source_of"]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class ConsoleState:
    runner: Runner
    auth: Auth
    clock: Callable[[], float] = time.time
    extra: dict[str, Any] = field(default_factory=dict)
    throttle: LoginThrottle | None = None
    token_throttle: LoginThrottle | None = None
    sessions: SessionStore | None = None

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = LoginThrottle(self.clock)
        if self.token_throttle is None:
            self.token_throttle = LoginThrottle(self.clock, limit=10, window=60.0)
        if self.sessions is None:
            self.sessions = SessionStore(self.clock, max_age=self.session_seconds)

    @property
    def settings(self) -> Any:
        return self.runner.settings

    @property
    def history(self) -> Any:
        return self.runner.history

    @property
    def session_seconds(self) -> int:
        return self.settings.console.session_minutes * 60


class Denied(Exception):
    """A user lacks the role an action needs (rendered as 403 by the API and by the pages)."""

    def __init__(self, user: User, needed: Role, action: str) -> None:
        self.user, self.needed, self.action = user, needed, action
        super().__init__(f"{user.name} ({user.role}) may not {action}: needs role {needed}")


class LoginRequired(Exception):
    """No valid identity on a page request: the pages redirect to the login form."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired


def console(request: Request) -> ConsoleState:
    return request.app.state.console


def client_of(request: Request) -> str:
    """The client's address; ``X-Forwarded-For`` counts only when it comes from a configured trusted proxy."""
    peer = request.client.host if request.client else None
    proxies = console(request).settings.console.trusted_proxies
    return client_address(peer, request.headers.get("x-forwarded-for"), proxies)


def source_of(request: Request, channel: str) -> str:
    return f"{client_of(request)} ({channel})"


def session_user(request: Request) -> tuple[User | None, bool]:
    """The user of the session cookie, and whether an expired session was just dropped."""
    state = console(request)
    session, expired = state.sessions.get(request.session.get("sid"), state.auth.credential_stamp)
    if session is None:
        if request.session.get("sid"):
            request.session.clear()
        return None, expired
    return state.auth.user(session.user), False


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: str | None) -> bool:
    return csrf_matches(request.session.get("csrf"), given)


def translator(request: Request) -> Translator:
    return Translator(negotiate(request.headers.get("accept-language"), request.cookies.get("lang")))


def api_user(request: Request) -> User:
    """Identity for the API: bearer token, else session cookie (with CSRF header on changes); 401 if none."""
    state = console(request)
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and state.auth.enabled:
        client = client_of(request)
        if state.token_throttle.blocked(client, "(token)"):
            raise HTTPException(429, "too many invalid API tokens from this address; wait a minute")
        user = state.auth.by_token(header[7:].strip())
        if user is None:
            state.token_throttle.failed(client, "(token)")
            raise HTTPException(401, "invalid API token", headers={"WWW-Authenticate": "Bearer"})
        return user
    if not state.auth.enabled:
        if request.method not in SAFE_METHODS and not check_csrf(request, request.headers.get("x-csrf-token")):
            raise HTTPException(
                403, "a change needs the X-CSRF-Token header (GET /api/v1/session gives this session's token)"
            )
        return ANONYMOUS
    user, _expired = session_user(request)
    if user is None:
        raise HTTPException(
            401, "authentication required: send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    if request.method not in SAFE_METHODS and not check_csrf(request, request.headers.get("x-csrf-token")):
        raise HTTPException(403, "a session-authenticated change needs the X-CSRF-Token header")
    return user


def page_user(request: Request) -> User:
    """Identity for the pages: the session cookie; LoginRequired (→ redirect) if none."""
    state = console(request)
    if not state.auth.enabled:
        return ANONYMOUS
    user, expired = session_user(request)
    if user is None:
        raise LoginRequired(expired)
    return user


def require(request: Request, user: User, needed: Role, action: str, target: str, channel: str) -> None:
    """Raise :class:`Denied` (after writing an audit entry) when ``user`` lacks ``needed``."""
    if user.can(needed):
        return
    console(request).history.audit(
        user.name,
        action,
        target,
        source=source_of(request, channel),
        outcome="denied",
        detail={"role": user.role, "needed": needed, "path": request.url.path},
    )
    raise Denied(user, needed, action)

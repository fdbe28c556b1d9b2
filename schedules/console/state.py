"""The console's per-application state and the request helpers both the API and the pages use.

Identity is resolved the same way everywhere: an ``Authorization: Bearer`` token (scripts), else
the signed session cookie (people). A session is valid for ``console.session_minutes`` after the
log-in, whatever the activity; a cookie-authenticated state change needs the session's CSRF token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from backroom.schedules.console.auth import ANONYMOUS, Auth, LoginThrottle, Role, User, csrf_matches, new_csrf_token
from backroom.schedules.console.i18n import Translator, negotiate
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

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = LoginThrottle(self.clock)

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


def source_of(request: Request, channel: str) -> str:
    host = request.client.host if request.client else "?"
    return f"{host} ({channel})"


def session_user(request: Request) -> tuple[User | None, bool]:
    """The user of the session cookie, and whether an expired session was just dropped."""
    state = console(request)
    session = request.session
    name = session.get("user")
    if not name:
        return None, False
    login_at = float(session.get("login_at", 0))
    if state.clock() - login_at > state.session_seconds:
        session.clear()
        return None, True
    user = state.auth.user(name)
    if user is None:
        session.clear()
    return user, False


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
    if header[:7].lower() == "bearer ":
        if not state.auth.enabled:
            return ANONYMOUS
        user = state.auth.by_token(header[7:].strip())
        if user is None:
            raise HTTPException(401, "invalid API token", headers={"WWW-Authenticate": "Bearer"})
        return user
    if not state.auth.enabled:
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

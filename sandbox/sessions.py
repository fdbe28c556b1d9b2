"""Web sessions of the sandbox systems' HTML faces: a cookie, a CSRF token, an expiry on a clock."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable

from backroom.sandbox.faults import Faults

__all__ = ["SessionStore"]


class SessionStore:
    """Web sessions (cookie → created time) and CSRF tokens tied to a pre-login cookie."""

    def __init__(self, faults: Faults, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.faults = faults
        #: sessions age by this clock (aware UTC): tests move it rather than sleep through a TTL
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.secret = secrets.token_bytes(16)
        self.sessions: dict[str, tuple[str, dt.datetime]] = {}
        self.uses: dict[str, int] = {}
        self.lock = threading.Lock()
        #: besides ``faults.session_ttl_s``: a session also ends after this many pages (0 = never),
        #: which makes "the session expires mid-record" happen at the same step on any machine
        self.max_uses = 0
        self.logins = 0

    def csrf_for(self, anchor: str) -> str:
        return hmac.new(self.secret, anchor.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, anchor: str | None, token: str | None) -> bool:
        return bool(anchor and token) and hmac.compare_digest(self.csrf_for(anchor or ""), token or "")

    def open(self, user: str) -> str:
        sid = secrets.token_urlsafe(18)
        with self.lock:
            self.sessions[sid] = (user, self.clock())
            self.logins += 1
        return sid

    def user(self, sid: str | None) -> str | None:
        if not sid:
            return None
        with self.lock:
            found = self.sessions.get(sid)
            if found is None:
                return None
            ttl = self.faults.session_ttl_s
            used = self.uses[sid] = self.uses.get(sid, 0) + 1
            aged = (self.clock() - found[1]).total_seconds()
            if (ttl and aged > ttl) or (self.max_uses and used > self.max_uses):
                del self.sessions[sid]
                return None
        return found[0]

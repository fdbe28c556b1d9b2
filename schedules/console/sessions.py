"""Log-in sessions kept on the server, so that they can be ended.

The signed cookie carries only a random session id. A session ends at log-out, at its maximum age, when
an admin signs a user out everywhere, and when the user's password hash in the config changes (a
password change ends every session made with the old password). A stolen cookie therefore dies with the
session instead of living on for its full signed lifetime.

Sessions are held in memory: a restart of ``backroom serve`` signs everybody out, which is the safe
direction. Only one ``serve`` owns a database, so there is no second process to share them with.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Session", "SessionStore", "credential_stamp"]


def credential_stamp(password_hash: str | None) -> str:
    """A short fingerprint of the credential a session was made with (never the hash itself)."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    created: float
    stamp: str


class SessionStore:
    """Sessions by id, bounded in number: the oldest go first when ``limit`` is reached."""

    def __init__(self, clock: Callable[[], float], max_age: float, limit: int = 10_000) -> None:
        self.clock, self.max_age, self.limit = clock, max_age, limit
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: str, stamp: str) -> Session:
        session = Session(secrets.token_urlsafe(32), user, self.clock(), stamp)
        with self._lock:
            while len(self._sessions) >= self.limit:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None, current_stamp: Callable[[str], str | None]) -> tuple[Session | None, bool]:
        """The live session for ``session_id`` and whether it just expired.

        ``current_stamp(user)`` gives the stamp of the user's credential now (None: the user is gone).
        """
        if not session_id:
            return None, False
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            return None, False
        if self.clock() - session.created > self.max_age:
            self.end(session_id)
            return None, True
        if current_stamp(session.user) != session.stamp:
            self.end(session_id)
            return None, False
        return session, False

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def end_all(self, user: str) -> int:
        """End every session of ``user``; returns how many there were."""
        with self._lock:
            ids = [sid for sid, s in self._sessions.items() if s.user == user]
            for sid in ids:
                del self._sessions[sid]
        return len(ids)

    def count(self, user: str) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.user == user)

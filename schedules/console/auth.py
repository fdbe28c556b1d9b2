"""Who is asking, and may they: users, API tokens, roles, sessions and CSRF tokens.

Users come from ``[[console.users]]`` in config: a password *hash* (argon2) for the web pages, an
API token by secret *reference* for scripts. Three roles, each including the one before::

    viewer   ─ read everything but the audit log
    operator ─ + trigger, cancel, pause, resume
    admin    ─ + the audit log

With no users configured the console is a single-person tool: everyone is the ``local`` admin, which
is why :func:`check_bind` refuses to listen beyond loopback in that case.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backroom.bots.sdk.errors import MissingSecretError
from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.console.sessions import credential_stamp
from backroom.schedules.errors import UnsafeBind
from backroom.schedules.settings import ConsoleSettings, Settings

__all__ = [
    "ANONYMOUS",
    "ROLES",
    "Auth",
    "Role",
    "UnsafeBind",
    "User",
    "check_bind",
    "is_loopback",
    "role_allows",
]

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        return role_allows(self.role, needed)


ANONYMOUS = User("local", "admin")


def role_allows(have: str, needed: str) -> bool:
    """True when role ``have`` includes the rights of ``needed``."""
    return ROLES.index(have) >= ROLES.index(needed)  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings | ConsoleSettings) -> None:
    """Refuse a non-loopback address unless console users are configured.

    Without users every visitor is an admin, so such a console must only be reachable from this
    machine. Raise :class:`UnsafeBind` saying how to fix it.
    """
    console = settings.console if isinstance(settings, Settings) else settings
    if is_loopback(host):
        return
    usable = [u for u in console.users if u.password_hash or u.token]
    if not usable:
        raise UnsafeBind(
            f"refusing to serve the console on {host!r}: no [[console.users]] with a password_hash or token "
            "are configured, so anyone who can reach it would be an admin. Add users (backroom hash-password) "
            "or bind to 127.0.0.1."
        )


class Auth:
    """Checks passwords and tokens against the configured users."""

    def __init__(self, console: ConsoleSettings, *, environ: Mapping[str, str] | None = None) -> None:
        self.console = console
        self.enabled = bool(console.users)
        self._hasher = PasswordHasher()
        self._users = {u.name: u for u in console.users}
        self._resolver = SecretResolver(environ=environ)
        self._tokens: list[tuple[str, User]] = []
        self.token_problems: list[str] = []
        for u in console.users:
            if u.token:
                try:
                    self._tokens.append((self._resolver.resolve(u.token), User(u.name, u.role)))
                except MissingSecretError as exc:
                    self.token_problems.append(f"user {u.name!r}: token {exc}")
        # a real hash to verify against for unknown users, so timing does not reveal who exists
        self._dummy_hash = self._hasher.hash(secrets.token_hex(8))

    def session_secret(self) -> str:
        """The key that signs session cookies: from config when given, else random per start."""
        if self.console.secret_key:
            return self._resolver.resolve(self.console.secret_key)
        return secrets.token_urlsafe(32)

    def user(self, name: str | None) -> User | None:
        """The configured user called ``name`` with their current role (None if removed)."""
        if not self.enabled:
            return ANONYMOUS
        found = self._users.get(name or "")
        return User(found.name, found.role) if found else None

    def by_token(self, token: str) -> User | None:
        match = None
        for value, user in self._tokens:
            if hmac.compare_digest(value.encode(), token.encode()):
                match = user
        return match

    def by_password(self, name: str, password: str) -> User | None:
        found = self._users.get(name)
        stored = found.password_hash if found and found.password_hash else None
        try:
            self._hasher.verify(stored or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if found is None or stored is None:
            return None
        return User(found.name, found.role)

    def credential_stamp(self, name: str) -> str | None:
        """The stamp of ``name``'s current password hash (None: no such user): sessions made with an
        older password no longer match it."""
        found = self._users.get(name)
        return None if found is None else credential_stamp(found.password_hash)


class LoginThrottle:
    """Refuses log-ins after too many failures within ``window`` seconds, counted three ways:

    * per (address, user name) pair, after ``limit`` failures: one guesser against one account;
    * per address, after ``4 × limit``: one guesser trying many accounts;
    * per account, after ``4 × limit``: many addresses against one account (a botnet).

    The address is the one :func:`~.guard.client_address` gives, so a client cannot dodge the count (or
    lock others out) by writing its own ``X-Forwarded-For``. In memory, per process, bounded in size.
    """

    def __init__(self, clock: Callable[[], float], limit: int = 5, window: float = 300.0) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._noted: dict[tuple[str, str], float] = {}

    def _keys(self, address: str, name: str) -> list[tuple[tuple[str, str], int]]:
        return [((address, name), self.limit), ((address, "*"), 4 * self.limit), (("*", name), 4 * self.limit)]

    def _recent(self, key: tuple[str, str]) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def blocked(self, address: str, name: str) -> bool:
        return any(len(self._recent(key)) >= limit for key, limit in self._keys(address, name))

    def failed(self, address: str, name: str) -> None:
        for key, _ in self._keys(address, name):
            self._failures[key] = [*self._recent(key), self.clock()]
        if len(self._failures) > 10_000:  # forget the oldest pairs rather than grow without bound
            for old in list(self._failures)[:1000]:
                self._failures.pop(old, None)

    def succeeded(self, address: str, name: str) -> None:
        self._failures.pop((address, name), None)

    def first_refusal(self, address: str, name: str) -> bool:
        """True once per window for a blocked pair: the one refusal worth an audit entry (so that a
        flood of refused attempts cannot flood the audit log)."""
        key, now = (address, name), self.clock()
        if now - self._noted.get(key, -self.window) < self.window:
            return False
        if len(self._noted) > 10_000:
            self._noted.clear()
        self._noted[key] = now
        return True


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(session_token: str | None, given: str | None) -> bool:
    return bool(session_token) and bool(given) and hmac.compare_digest(str(session_token), str(given))


Clock = Callable[[], float]

"""Leader election among serve instances: a PostgreSQL advisory lock held on a dedicated connection.

    standby ── pg_try_advisory_lock every heartbeat ──► leader (the lock is held by this session)
    leader ── "select 1" every heartbeat on that connection ── fails ──► deposed (on_lost, never again)

PostgreSQL releases a session's advisory lock the moment the session ends (the leader killed, its
host gone once TCP keepalives give up), so a standby takes over within one heartbeat of that. The
lock only elects; what stops a deposed leader that has not noticed yet is the job store's fencing
token (:class:`~schedules.ownership.OwnerLease`), which the new leader bumps when it takes over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

__all__ = ["LEADER_LOCK_KEY", "Leadership"]

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 7247002  # advisory locks are per database: one leader per Backroom database


class Leadership:
    """This serve's candidacy: :meth:`wait` blocks until elected; ``on_lost`` is called once if deposed."""

    def __init__(self, conninfo: str, heartbeat_s: float, on_lost: Callable[[str], None]) -> None:
        self.conninfo = conninfo
        self.heartbeat_s = heartbeat_s
        self.on_lost = on_lost
        self._conn: psycopg.Connection | None = None
        self._held = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=max(2, int(self.heartbeat_s * 3)),
            keepalives=1,
            keepalives_idle=max(1, int(self.heartbeat_s * 2)),
            keepalives_interval=1,
            keepalives_count=3,
            application_name="backroom-serve-leader",
        )

    def try_acquire(self) -> bool:
        """One attempt to take the lock; True when this process is now the leader."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        row = self._conn.execute("select pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
        if row is None or not row[0]:
            return False
        self._held.set()
        self._thread = threading.Thread(target=self._beat, name="leader-heartbeat", daemon=True)
        self._thread.start()
        log.info("elected leader (advisory lock %d)", LEADER_LOCK_KEY)
        return True

    def wait(self, stop: threading.Event) -> bool:
        """Stand by until elected (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            try:
                if self.try_acquire():
                    return True
            except psycopg.Error as exc:
                log.warning("standby: could not reach the database for the leader lock: %s", exc)
                self._drop()
            stop.wait(self.heartbeat_s)
        return False

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            conn = self._conn
            try:
                assert conn is not None
                conn.execute("select 1")
            except Exception as exc:
                self._depose(f"the leader's database session failed: {exc}")
                return

    def _depose(self, reason: str) -> None:
        if not self._held.is_set():
            return
        self._held.clear()
        log.error("no longer the leader: %s", reason)
        self._drop()
        self.on_lost(reason)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the leader connection failed", exc_info=True)

    def release(self) -> None:
        """Step down (closing the session releases the lock)."""
        self._stop.set()
        self._held.clear()
        self._drop()

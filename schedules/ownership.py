"""The runner's hold on the job store, and every supervising process's lease: ownership that cannot split.

    acquire ── token N+1 (compare-and-swap on the token seen) ── renewed every lease/6 ──► held
    held ── a renewal or an enqueue finds another owner or token ───────────────────────► lost
    held ── no renewal succeeded before the lease's own end (database unreachable) ───► lost
    lost ── scheduling paused at once; acquire retried, refused while the other's lease runs ──► held

The database, not this object's idea of time, is what stops a runner that was frozen (SIGSTOP, a
VM pause, a long GC): every scheduled enqueue and every job-store write checks (owner, token) in its
own transaction (:meth:`SchedulerState.create_scheduled_runs`, :class:`~schedules.jobstore.BatchJobStore`),
so a runner that wakes up after a takeover writes nothing before it learns it lost.

:class:`SupervisorLease` is the other half: each process that supervises runs (``serve``,
``backroom run``) keeps a lease on its host:pid; the owner of the job store interrupts the runs of
a process whose lease expired, whatever host it ran on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator

from sqlalchemy.engine import Connection

from backroom.schedules.errors import RunnerBusy
from backroom.schedules.history import SchedulerState, process_owner

__all__ = ["OwnerLease", "SupervisorLease", "renew_interval"]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def renew_interval(lease_s: float) -> float:
    """How often a lease of ``lease_s`` is renewed: six chances before it runs out."""
    return max(0.2, lease_s / 6)


class OwnerLease:
    """This runner's owner lock on the job store, with its fencing token.

    ``on_lost(reason)`` is called once each time the lock is lost, from whichever thread found out
    (the control loop's renewal, the intake's enqueue, the scheduler's job-store write).
    """

    def __init__(
        self,
        state: SchedulerState,
        owner: str,
        lease_s: float,
        clock: Clock,
        on_lost: Callable[[str], None] = lambda _reason: None,
    ) -> None:
        self.state = state
        self.owner = owner
        self.lease_s = lease_s
        self.clock = clock
        self.on_lost = on_lost
        # True only while this process is the elected leader (schedules.distributed.leader): it may
        # take the lock from a previous holder whose lease still runs
        self.steal = False
        self.token: int | None = None
        self.expires_at: dt.datetime | None = None
        self.lost_reason: str | None = None
        self._next_attempt: dt.datetime | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self.token is not None and self.lost_reason is None

    @property
    def fence(self) -> tuple[str, int] | None:
        """(owner, token) while held — what an enqueue must still find in the database."""
        token = self.token
        return (self.owner, token) if token is not None and self.lost_reason is None else None

    def acquire(self) -> str | None:
        """Take the lock (RunnerBusy while another live holder's lease runs); the previous holder's host:pid.

        The previous holder is named only when it was another runner that had not released the
        lock: its runs are the ones left behind.
        """
        previous, _ = self.state.previous_owner()
        now = self.clock()
        token = self.state.acquire_owner_lock(self.owner, self.lease_s, now, force=self.steal)
        with self._lock:
            self.token, self.expires_at, self.lost_reason = token, now + dt.timedelta(seconds=self.lease_s), None
            self._next_attempt = now + dt.timedelta(seconds=renew_interval(self.lease_s))
        log.info("owner lock of the job store taken by %s (fencing token %d)", self.owner, token)
        return previous.split("#")[0] if previous and previous != self.owner else None

    def tick(self) -> bool:
        """Renew when due, or try to take the lock back once lost; True when it was just taken back."""
        now = self.clock()
        if self._next_attempt is not None and now < self._next_attempt:
            return False
        self._next_attempt = now + dt.timedelta(seconds=renew_interval(self.lease_s))
        if self.held:
            self._renew(now)
            return False
        try:
            self.acquire()
        except RunnerBusy:
            return False
        except Exception:
            log.warning("could not take the job store's owner lock back", exc_info=True)
            return False
        return True

    def _renew(self, now: dt.datetime) -> None:
        token = self.token
        assert token is not None
        try:
            ok = self.state.renew_owner_lock(self.owner, token, self.lease_s, now)
        except Exception:
            log.warning("could not renew the job store's owner lock", exc_info=True)
            if self.expires_at is not None and now >= self.expires_at:
                self.lose(f"its lease ran out ({self.lease_s:.0f} s) without a successful renewal")
            return
        if not ok:
            self.lose("another runner holds it now (or it was released)")
            return
        self.expires_at = now + dt.timedelta(seconds=self.lease_s)

    def check(self, conn: Connection) -> bool:
        """In the caller's transaction: is the lock still ours? Loses it (once) when it is not."""
        fence = self.fence
        if fence is None:
            return False
        if self.state.owner_holds(conn, *fence):
            return True
        self.lose("another runner holds it now (found on a write)")
        return False

    def lose(self, reason: str) -> None:
        """Mark the lock lost (idempotent) and tell ``on_lost``."""
        with self._lock:
            if self.token is None or self.lost_reason is not None:
                return
            self.lost_reason = reason
        log.error("lost the job store's owner lock (%s, token %s): scheduling stops", reason, self.token)
        self.on_lost(reason)

    def release(self) -> None:
        if self.token is not None:
            self.state.release_owner_lock(self.owner, self.token)


class SupervisorLease:
    """This process's lease as a supervisor of runs: its host:pid, alive while renewed."""

    def __init__(self, state: SchedulerState, lease_s: float, clock: Clock) -> None:
        self.state = state
        self.lease_s = lease_s
        self.clock = clock
        self.owner = process_owner()
        self.capabilities: str | None = None  # what a worker advertises with every renewal
        self._next: dt.datetime | None = None

    def renew(self, *, force: bool = False) -> None:
        """Extend the lease when due (``force``: now)."""
        now = self.clock()
        if not force and self._next is not None and now < self._next:
            return
        self.state.renew_process_lease(self.owner, self.lease_s, now, self.capabilities)
        self._next = now + dt.timedelta(seconds=renew_interval(self.lease_s))

    def drop(self) -> None:
        self.state.drop_process_lease(self.owner)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lease for the ``with`` block, renewed by a thread of its own (``backroom run``)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(renew_interval(self.lease_s)):
                try:
                    self.renew(force=True)
                except Exception:
                    log.warning("could not renew this process's lease", exc_info=True)

        self.renew(force=True)
        thread = threading.Thread(target=beat, name="supervisor-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

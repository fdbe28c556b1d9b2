"""Work-item queues between bots: a producer puts items, a consumer takes and ends them one by one.

    producer:  ctx.queue("callbacks").put({"ticket": 42}, key="ticket-42")   # never queued twice
    consumer:  class CallBack(Bot[...]): consumes = "callbacks"
               for item in ctx.items():
                   with item:                 # ends the item however the block ends:
                       call(item.payload)     #   normally            -> done
                                              #   BusinessError       -> business_failed (reported, not retried)
                                              #   any other Exception -> retried after a backoff, then failed

One bad item neither stops the batch nor is lost: the block's exception is recorded on the item and
the loop goes on. Items live in Backroom's own database (``backroom_work_items``, made by the
runner's migrations). Consumers take an item by writing a claim of their own on it: on PostgreSQL
and MariaDB the rows are picked ``FOR UPDATE SKIP LOCKED``, so two consumer runs at once never take
the same item; SQLite serialises writers, and the claim is written by one UPDATE. An item whose
consumer died is taken again once its lease has run out. Every state change is checked by its row
count: an item is ended only by the claim that took it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, Integer, String, Text, column, func, insert, or_, select, table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from backroom.bots.sdk.db import UTCDateTime
from backroom.bots.sdk.errors import ApplicationError, BusinessError

__all__ = ["ITEM_STATES", "WorkItem", "WorkQueue", "queue_names", "work_items"]

log = logging.getLogger(__name__)

ITEM_STATES = ("pending", "working", "done", "business_failed", "failed", "dropped")

#: The columns of ``backroom_work_items`` (defined by the runner's models and migrations; a test
#: holds that these names and those agree). A query-side view only: the SDK never creates the table.
work_items = table(
    "backroom_work_items",
    column("id", Integer),
    column("queue", String),
    column("ref", String),
    column("payload", JSON),
    column("state", String),
    column("attempts", Integer),
    column("available_at", UTCDateTime()),
    column("deadline", UTCDateTime()),
    column("created_at", UTCDateTime()),
    column("finished_at", UTCDateTime()),
    column("producer_run", String),
    column("consumer_run", String),
    column("claim", String),
    column("lease_until", UTCDateTime()),
    column("error", Text),
    column("outputs", JSON),
    column("sla_alerted", Boolean),
)
_T = work_items.c


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_DEADLOCK_CODES = {1213, 1205}  # MySQL/MariaDB: deadlock, lock wait timeout
_DEADLOCK_STATES = {"40P01", "40001"}  # PostgreSQL: deadlock, serialization failure

R = TypeVar("R")


def _retrying(attempt: Callable[[], R], tries: int = 6) -> R:
    """Run a short transaction again when the database chose it as a deadlock victim (InnoDB does, under load)."""
    for n in range(tries):
        try:
            return attempt()
        except OperationalError as exc:
            orig = exc.orig
            code = orig.args[0] if orig is not None and orig.args else None
            victim = code in _DEADLOCK_CODES or getattr(orig, "sqlstate", None) in _DEADLOCK_STATES
            if not victim or n == tries - 1:
                raise
            time.sleep(0.01 * (n + 1) * (1 + random.random()))
    raise AssertionError("unreachable")


def queue_names(engine: Engine) -> list[str]:
    """Every queue that holds items, sorted."""
    with engine.connect() as conn:
        return sorted(conn.scalars(select(_T.queue).distinct()))


class WorkItem:
    """One taken item. Use it as a context manager (module docstring) or end it with the methods."""

    def __init__(self, queue: WorkQueue, row: Any) -> None:
        self.queue = queue
        self.id: int = row.id
        self.ref: str = row.ref
        self.payload: Any = row.payload
        self.attempt: int = row.attempts
        self.claim: str = row.claim
        self.deadline: dt.datetime | None = row.deadline
        self.state = "working"

    def done(self, outputs: Any = None) -> None:
        self.queue._end(self, "done", outputs=outputs)

    def business_failed(self, reason: str) -> None:
        self.queue._end(self, "business_failed", error=reason)

    def application_failed(self, error: str) -> None:
        self.queue._app_failed(self, error)

    def __enter__(self) -> WorkItem:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if self.state != "working":  # ended inside the block already; an exception after that is the bot's
            return False
        if exc is None:
            self.done()
            return False
        from backroom.bots.sdk.context import RunCancelled

        if isinstance(exc, RunCancelled):  # the run stops: the item goes back untouched, the cancel goes on
            self.queue._release([self])
            return False
        if isinstance(exc, BusinessError):
            self.business_failed(f"{type(exc).__name__}: {exc}")
            return True
        if isinstance(exc, Exception):
            log.warning("item %s of %s failed (attempt %d): %s", self.ref, self.queue.name, self.attempt, exc)
            self.application_failed(f"{type(exc).__name__}: {exc}")
            return True
        return False  # KeyboardInterrupt, SystemExit: the run ends; the lease brings the item back


class WorkQueue:
    """One named queue on Backroom's database, as seen by one run (``run_id``) with one clock."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        run_id: str | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        lease: float = 900.0,
        max_attempts: int = 3,
        backoff: float = 60.0,
    ) -> None:
        if not name or len(name) > 100:
            raise ValueError(f"a queue name has 1 to 100 characters, got {name!r}")
        self.engine, self.name, self.run_id, self.clock = engine, name, run_id, clock
        self.lease, self.max_attempts, self.backoff = lease, max_attempts, backoff

    # -- producing -------------------------------------------------------------------------------
    def put(self, payload: Any, *, key: str, deadline: dt.datetime | None = None) -> bool:
        """Queue ``payload`` under reference ``key``; False (nothing queued) when ``key`` was queued before."""
        return self.put_many([(key, payload)], deadline=deadline) == 1

    def put_many(self, items: Iterable[tuple[str, Any]], *, deadline: dt.datetime | None = None) -> int:
        """Queue (key, payload) pairs; the number newly queued (keys already queued are left as they are)."""
        now = self.clock()
        rows = [self._row(str(key), payload, now, deadline) for key, payload in items]
        for row in rows:
            if not row["ref"] or len(row["ref"]) > 200:
                raise ValueError(f"a reference key has 1 to 200 characters, got {row['ref']!r}")
        added = 0
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            try:
                with self.engine.begin() as conn:
                    refs = [r["ref"] for r in chunk]
                    known = set(conn.scalars(select(_T.ref).where(_T.queue == self.name, _T.ref.in_(refs))))
                    fresh = list({r["ref"]: r for r in chunk if r["ref"] not in known}.values())
                    if fresh:
                        conn.execute(insert(work_items), fresh)
                added += len(fresh)
            except IntegrityError:  # a concurrent producer queued one of them meanwhile: one by one
                added += self._put_each(fresh)
        return added

    def _put_each(self, rows: list[dict[str, Any]]) -> int:
        added = 0
        for row in rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(work_items), [row])
                added += 1
            except IntegrityError:
                pass
        return added

    def _row(self, key: str, payload: Any, now: dt.datetime, deadline: dt.datetime | None) -> dict[str, Any]:
        return {
            "queue": self.name,
            "ref": key,
            "payload": payload,
            "state": "pending",
            "attempts": 0,
            "available_at": now,
            "deadline": deadline,
            "created_at": now,
            "producer_run": self.run_id,
            "sla_alerted": False,
        }

    # -- consuming -------------------------------------------------------------------------------
    def take(self, limit: int = 1) -> list[WorkItem]:
        """Claim up to ``limit`` available items for this run (pending and due, or whose lease ran out)."""
        now = self.clock()
        claim = uuid.uuid4().hex
        due = or_(
            (_T.state == "pending") & (_T.available_at <= now),
            (_T.state == "working") & (_T.lease_until < now),
        )
        claimed = {
            "state": "working",
            "claim": claim,
            "consumer_run": self.run_id,
            "attempts": _T.attempts + 1,
            "lease_until": now + dt.timedelta(seconds=self.lease),
        }
        pick = select(_T.id).where(_T.queue == self.name, due).order_by(_T.id).limit(limit)

        def attempt() -> list[Any]:
            locking = self.engine.dialect.name in ("postgresql", "mysql", "mariadb")
            options = {"isolation_level": "READ COMMITTED"} if locking else {}
            with self.engine.connect().execution_options(**options) as conn, conn.begin():
                if locking:  # the picked rows stay locked to this transaction; others skip them
                    ids = list(conn.scalars(pick.with_for_update(skip_locked=True)))
                    if not ids:
                        return []
                    conn.execute(update(work_items).where(_T.id.in_(ids)).values(**claimed))
                else:  # SQLite: one UPDATE with the pick inside it, under SQLite's single writer
                    conn.execute(update(work_items).where(_T.id.in_(pick.scalar_subquery()), due).values(**claimed))
                return list(conn.execute(select(work_items).where(_T.claim == claim).order_by(_T.id)).all())

        return [WorkItem(self, row) for row in _retrying(attempt)]

    def items(self, batch: int = 20) -> Iterator[WorkItem]:
        """Every item available now and while this loop runs, ``batch`` claimed at a time."""
        while True:
            taken = self.take(batch)
            if not taken:
                return
            for index, item in enumerate(taken):
                try:
                    yield item
                except GeneratorExit:
                    self._release(taken[index:])
                    raise
                if item.state == "working":  # neither a ``with`` nor a method ended it: nothing is assumed
                    item.application_failed("the consumer did not end the item")

    def _release(self, items: list[WorkItem]) -> None:
        """Give back items taken but not handed out (the consumer stopped early); their attempt is not counted."""
        for item in items:
            if item.state != "working":
                continue
            with self.engine.begin() as conn:
                conn.execute(
                    update(work_items)
                    .where(_T.id == item.id, _T.claim == item.claim, _T.state == "working")
                    .values(state="pending", claim=None, lease_until=None, attempts=_T.attempts - 1)
                )
            item.state = "pending"

    def _end(self, item: WorkItem, state: str, *, outputs: Any = None, error: str | None = None) -> None:
        if item.state != "working":
            raise ValueError(f"item {item.ref} was already ended ({item.state})")
        values: dict[str, Any] = {"state": state, "finished_at": self.clock(), "lease_until": None, "error": error}
        if outputs is not None:
            values["outputs"] = outputs
        self._write(item, values)
        item.state = state

    def _app_failed(self, item: WorkItem, error: str) -> None:
        if item.attempt >= self.max_attempts:
            self._end(item, "failed", error=f"{error} (attempt {item.attempt} of {self.max_attempts})")
            return
        delay = self.backoff * 2 ** (item.attempt - 1)
        values = {
            "state": "pending",
            "available_at": self.clock() + dt.timedelta(seconds=delay),
            "lease_until": None,
            "error": error,
        }
        self._write(item, values)
        item.state = "pending"

    def _write(self, item: WorkItem, values: dict[str, Any]) -> None:
        def attempt() -> int:
            with self.engine.begin() as conn:
                return conn.execute(
                    update(work_items)
                    .where(_T.id == item.id, _T.claim == item.claim, _T.state == "working")
                    .values(**values)
                ).rowcount

        done = _retrying(attempt)
        if done != 1:
            raise ApplicationError(f"item {item.ref} of queue {self.name} is no longer this run's (its lease ran out)")

    # -- looking -------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Items by state (every state present, zeros included)."""
        with self.engine.connect() as conn:
            found = dict(
                conn.execute(select(_T.state, func.count()).where(_T.queue == self.name).group_by(_T.state)).all()
            )
        return {state: int(found.get(state, 0)) for state in ITEM_STATES}

    def available(self) -> int:
        now = self.clock()
        due = or_(
            (_T.state == "pending") & (_T.available_at <= now),
            (_T.state == "working") & (_T.lease_until < now),
        )
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(_T.queue == self.name, due)) or 0)

    def overdue(self, *, mark: bool = False) -> list[dict[str, Any]]:
        """Unfinished items past their deadline not alerted yet; with ``mark``, flagged as alerted."""
        now = self.clock()
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(_T.id, _T.ref, _T.deadline, _T.state).where(
                    _T.queue == self.name,
                    _T.state.in_(("pending", "working")),
                    _T.deadline < now,
                    _T.sla_alerted.is_(False),
                )
            ).all()
            if mark and rows:
                conn.execute(update(work_items).where(_T.id.in_([r.id for r in rows])).values(sla_alerted=True))
        return [dict(r._mapping) for r in rows]

    def oldest_waiting(self) -> dt.datetime | None:
        """When the oldest unfinished item was queued (how far behind the consumer is)."""
        with self.engine.connect() as conn:
            return conn.scalar(
                select(func.min(_T.created_at)).where(_T.queue == self.name, _T.state.in_(("pending", "working")))
            )

    def list(self, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The queue's items (newest first), optionally of one state: what the console's queue page lists."""
        query = select(work_items).where(_T.queue == self.name)
        if state:
            query = query.where(_T.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_T.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def reported(self) -> list[dict[str, Any]]:
        """Items that ended badly (business-failed, failed), with their errors: what a report lists."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_T.ref, _T.state, _T.error, _T.attempts)
                .where(_T.queue == self.name, _T.state.in_(("business_failed", "failed")))
                .order_by(_T.id)
            ).all()
        return [dict(r._mapping) for r in rows]

    def retry(self, item_id: int) -> bool:
        """Put a failed or business-failed item back (a person decided); True when it was."""
        return self._set(item_id, ("failed", "business_failed", "dropped"), state="pending", attempts=0)

    def drop(self, item_id: int) -> bool:
        """Set a pending or failed item aside for good (a person decided); True when it was."""
        return self._set(item_id, ("pending", "failed", "business_failed"), state="dropped")

    def _set(self, item_id: int, allowed: tuple[str, ...], **values: Any) -> bool:
        values.update(available_at=self.clock(), claim=None, lease_until=None)
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(work_items)
                    .where(_T.id == item_id, _T.queue == self.name, _T.state.in_(allowed))
                    .values(**values)
                ).rowcount
            )

"""APScheduler's SQLAlchemy job store, with the batching a runner of thousands of jobs needs.

Two costs of the stock store are designed out here:

* Adding 10,000 jobs through ``scheduler.add_job`` commits once per job (about 100 s on SQLite). The
  runner syncs config into the store *before* the scheduler starts, writing every added, changed and
  removed job in one transaction (:meth:`BatchJobStore.replace_jobs`).
* When jobs fire, APScheduler updates (or deletes) each one in its own transaction and announces none
  of them until all are written: 1,000 fires in one second were announced seconds late. Here the
  per-fire updates and deletes are buffered and written in one transaction before the store is next
  read (APScheduler reads it right after each batch of fires to compute its next wake-up). If the
  process dies in between, a fire may be offered again at the next start; the runner's fire claim
  (one durable row per job and fire time) makes sure it still runs only once.

Only one scheduler may own a store (the runner enforces it), which is what makes buffering safe.
With a ``fence`` (the runner's :meth:`~schedules.ownership.OwnerLease.check`), every buffered write
checks in its own transaction that this runner still owns the store, and a runner that lost it
reads no due jobs: a runner frozen past its lease and taken over neither fires nor overwrites the
new owner's next run times when it wakes up.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

__all__ = ["BatchJobStore"]


class BatchJobStore(SQLAlchemyJobStore):
    """A SQLAlchemyJobStore that writes in batches. See the module docstring."""

    def __init__(self, *args: Any, fence: Callable[[Connection], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fence = fence
        self._buffer_lock = threading.RLock()
        self._updates: dict[str, Job] = {}
        self._removes: set[str] = set()

    # -- buffered writes ----------------------------------------------------------------------
    def update_job(self, job: Job) -> None:
        with self._buffer_lock:
            if job.id in self._removes:
                raise JobLookupError(job.id)
            self._updates[job.id] = job

    def remove_job(self, job_id: str) -> None:
        with self._buffer_lock:
            if job_id in self._removes:
                raise JobLookupError(job_id)
            self._updates.pop(job_id, None)
            self._removes.add(job_id)

    def flush(self) -> None:
        """Write buffered updates and deletes in one transaction."""
        with self._buffer_lock:
            if not self._updates and not self._removes:
                return
            updates = [
                {
                    "job_id": job.id,
                    "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                    "job_state": pickle.dumps(job.__getstate__(), self.pickle_protocol),
                }
                for job in self._updates.values()
            ]
            removes = list(self._removes)
            with self.engine.begin() as conn:
                if self.fence is not None and not self.fence(conn):
                    self._updates.clear()  # another runner owns the store: its writes, not ours, count
                    self._removes.clear()
                    return
                if updates:
                    conn.execute(
                        self.jobs_t.update()
                        .where(self.jobs_t.c.id == bindparam("job_id"))
                        .values(next_run_time=bindparam("next_run_time"), job_state=bindparam("job_state")),
                        updates,
                    )
                for start in range(0, len(removes), 500):
                    conn.execute(self.jobs_t.delete().where(self.jobs_t.c.id.in_(removes[start : start + 500])))
            self._updates.clear()
            self._removes.clear()

    # -- every read sees the buffered writes ----------------------------------------------------
    def add_job(self, job: Job) -> None:
        self.flush()
        super().add_job(job)

    def lookup_job(self, job_id: str) -> Job | None:
        self.flush()
        return super().lookup_job(job_id)

    def get_due_jobs(self, now: Any) -> list[Job]:
        self.flush()
        if self.fence is not None:
            with self.engine.begin() as conn:
                if not self.fence(conn):
                    return []
        return super().get_due_jobs(now)

    def get_next_run_time(self) -> Any:
        self.flush()
        return super().get_next_run_time()

    def get_all_jobs(self) -> list[Job]:
        self.flush()
        return super().get_all_jobs()

    def remove_all_jobs(self) -> None:
        with self._buffer_lock:
            self._updates.clear()
            self._removes.clear()
        super().remove_all_jobs()

    def shutdown(self) -> None:
        try:
            self.flush()
        finally:
            super().shutdown()

    # -- config sync ----------------------------------------------------------------------------
    def job_states(self) -> dict[str, float | None]:
        """job id → next run timestamp (None for a paused job), without unpickling any job."""
        self.flush()
        with self.engine.begin() as conn:
            rows = conn.execute(select(self.jobs_t.c.id, self.jobs_t.c.next_run_time)).all()
        return {job_id: next_run for job_id, next_run in rows}

    def replace_jobs(self, jobs: Sequence[Job], remove_ids: Iterable[str]) -> None:
        """Delete ``remove_ids`` and the ids of ``jobs``, then insert ``jobs`` — all in one transaction."""
        self.flush()
        remove = list(remove_ids) + [job.id for job in jobs]
        rows = [
            {
                "id": job.id,
                "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                "job_state": pickle.dumps(job.__getstate__(), self.pickle_protocol),
            }
            for job in jobs
        ]
        with self.engine.begin() as conn:
            for start in range(0, len(remove), 500):
                conn.execute(self.jobs_t.delete().where(self.jobs_t.c.id.in_(remove[start : start + 500])))
            if rows:
                conn.execute(self.jobs_t.insert(), rows)

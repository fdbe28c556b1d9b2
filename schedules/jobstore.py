"""APScheduler's SQLAlchemy job store, with the batch operations a config sync needs.

Adding 10,000 jobs through ``scheduler.add_job`` commits once per job (about 100 s on SQLite). The
runner syncs config into the store *before* the scheduler starts, so it can write every added,
changed and removed job in one transaction and touch only the jobs whose definition changed.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import select

__all__ = ["BatchJobStore"]


class BatchJobStore(SQLAlchemyJobStore):
    """A SQLAlchemyJobStore that can list ids and write many jobs in one transaction."""

    def job_states(self) -> dict[str, float | None]:
        """job id → next run timestamp (None for a paused job), without unpickling any job."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(self.jobs_t.c.id, self.jobs_t.c.next_run_time)).all()
        return {job_id: next_run for job_id, next_run in rows}

    def replace_jobs(self, jobs: Sequence[Job], remove_ids: Iterable[str]) -> None:
        """Delete ``remove_ids`` and the ids of ``jobs``, then insert ``jobs`` — all in one transaction."""
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

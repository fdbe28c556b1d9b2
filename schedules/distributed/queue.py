"""The procrastinate side: the app, its schema, and deferring one run as one job.

A run becomes exactly one job: the job's ``queueing_lock`` is the run id, so deferring the same run
twice (a leader's retry, a failover replaying queued runs) is refused by PostgreSQL while the first
job waits. Runs of a bot with ``max_instances = 1`` also share a procrastinate ``lock`` so that no
two of them execute at once on any workers.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as pexc
from sqlalchemy.engine import make_url

from backroom.schedules.errors import InvalidConfig
from backroom.schedules.settings import BotSettings, ConfigProblem, Settings

__all__ = [
    "RUN_TASK",
    "close_jobs",
    "close_jobs_of_dead_workers",
    "conninfo",
    "defer_run",
    "ensure_schema",
    "make_app",
    "queue_for",
    "runs_without_job",
]

log = logging.getLogger(__name__)

RUN_TASK = "backroom.run"
DEFAULT_QUEUE = "default"


def conninfo(settings: Settings) -> str:
    """A libpq connection string for the history database (which must be PostgreSQL)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        problem = ConfigProblem(
            str(settings.source or "<config>"),
            "execution.backend",
            f'"procrastinate" needs a PostgreSQL database, not {url.get_backend_name()!r}',
        )
        raise InvalidConfig([problem])
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_for(settings: Settings, bot: str) -> str:
    """The queue (capability) a bot's runs go to."""
    return settings.execution.queues.get(bot, DEFAULT_QUEUE)


def make_app(settings: Settings, *, sync: bool, task: Any = None) -> procrastinate.App:
    """A procrastinate app on the history database; ``task(run_id)`` is what a worker executes."""
    info = conninfo(settings)
    connector: Any
    if sync:
        connector = procrastinate.SyncPsycopgConnector(conninfo=info, min_size=1, max_size=4)
    else:
        connector = procrastinate.PsycopgConnector(conninfo=info)
    app = procrastinate.App(connector=connector)

    def _missing(run_id: str) -> None:  # serve only defers: it never executes
        raise RuntimeError(f"run {run_id} reached a process that does not execute runs")

    app.task(name=RUN_TASK)(task or _missing)
    return app


def ensure_schema(settings: Settings, app: procrastinate.App) -> bool:
    """Install procrastinate's schema (its own SQL) once; True when it was installed now."""
    with psycopg.connect(conninfo(settings)) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(7247001)")  # two processes installing at once
        row = conn.execute("select to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(app.schema_manager.get_schema())  # type: ignore[arg-type]
    log.info("procrastinate schema installed")
    return True


def defer_run(
    app: procrastinate.App, settings: Settings, run_id: str, bot: str, *, delay: dt.timedelta | None = None
) -> int | None:
    """Enqueue run ``run_id``; its job id, or None when a job for this run is already waiting."""
    options: dict[str, Any] = {"queue": queue_for(settings, bot), "queueing_lock": run_id}
    if settings.bots.get(bot, BotSettings()).max_instances == 1:
        options["lock"] = f"bot:{bot}"
    if delay is not None:
        options["schedule_in"] = {"seconds": max(0.0, delay.total_seconds())}
    try:
        return app.tasks[RUN_TASK].configure(**options).defer(run_id=run_id)
    except pexc.AlreadyEnqueued:
        log.info("run %s already has a job waiting: not enqueued twice", run_id[:8])
        return None


def close_jobs(app: procrastinate.App, run_ids: list[str]) -> None:
    """Mark the jobs of runs whose worker died ``failed`` (they stay ``doing`` otherwise, holding their lock)."""
    app.connector.execute_query(  # type: ignore[attr-defined]
        "update procrastinate_jobs set status = 'failed' where status = 'doing' and args->>'run_id' = any(%(run_ids)s)",
        run_ids=run_ids,
    )


def close_jobs_of_dead_workers(app: procrastinate.App, live_worker_s: float) -> int:
    """Mark ``failed`` every job ``doing`` on a worker whose heartbeat stopped; how many.

    A worker killed after taking a job and before marking its run running leaves that job
    ``doing`` with no run to interrupt: it would hold its bot's ``lock`` for ever, and no later run
    of that bot would start. Its run is still ``queued`` and is deferred again by the sweep
    (:func:`runs_without_job`). Should a worker only be late with its heartbeat, history still
    guards the run: it is marked running once, within ``max_instances``.
    """
    rows = app.connector.execute_query_all(  # type: ignore[attr-defined]
        "update procrastinate_jobs j set status = 'failed' where j.status = 'doing' "
        "and not exists (select 1 from procrastinate_workers w where w.id = j.worker_id "
        "  and w.last_heartbeat > now() - make_interval(secs => %(live)s)) returning j.id",
        live=live_worker_s,
    )
    if rows:
        log.warning("closed %d job(s) held by workers that are gone", len(rows))
    return len(rows)


def runs_without_job(app: procrastinate.App, older_than_s: float, live_worker_s: float) -> list[tuple[str, str]]:
    """(run id, bot) of queued runs that no job will start: none waiting, none taken by a live worker.

    A run is left so when a serve died between recording it and deferring it, or a worker died
    after taking its job and before starting it. Only runs queued over ``older_than_s`` ago count,
    so a run being deferred right now is not taken for one.
    """
    rows = app.connector.execute_query_all(  # type: ignore[attr-defined]
        "select r.id, r.bot from backroom_runs r "
        "where r.status = 'queued' "
        "and r.queued_at < (now() at time zone 'utc') - make_interval(secs => %(age)s) "
        "and not exists (select 1 from procrastinate_jobs j where j.queueing_lock = r.id and j.status = 'todo') "
        "and not exists (select 1 from procrastinate_jobs j join procrastinate_workers w on w.id = j.worker_id "
        "  where j.args->>'run_id' = r.id and j.status = 'doing' "
        "  and w.last_heartbeat > now() - make_interval(secs => %(live)s))",
        age=older_than_s,
        live=live_worker_s,
    )
    return [(row["id"], row["bot"]) for row in rows]

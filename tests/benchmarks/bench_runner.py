"""Runner benchmarks: isolated runs/s, burst lag, dispatch lag, start-up and sync of 10,000 jobs.

Each figure comes with a baseline measured in the same run (bare APScheduler doing the same thing).
Prints one JSON document. Usage::

    python -m tests.benchmarks.bench_runner [--runs 200] [--burst 1000] [--jobs 10000] [--postgres URL]

PostgreSQL figures are included when ``--postgres`` or ``BACKROOM_TEST_POSTGRES_URL`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from backroom.schedules.history import History
from backroom.schedules.runner import Runner
from backroom.schedules.settings import parse_settings

BOTS = ["tests.support.runner_bots"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settings_for(home: Path, database: str, **tables: Any):
    return parse_settings(
        {"home": str(home), "database": database, "bot_modules": BOTS, **tables}, home / "backroom.toml"
    )


def fresh_pg(url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


# -- 1. isolated runs per second ---------------------------------------------------------------
def bench_throughput(home: Path, runs: int) -> dict[str, Any]:
    settings = settings_for(
        home, f"sqlite:///{home / 'tp.db'}", max_parallel_runs=4, bots={"noop": {"max_instances": 4}}
    )
    runner = Runner(settings)
    runner.start(schedule=False, watch=False)
    try:
        for _ in range(10):  # warm-up
            runner.trigger("noop", {})
        runner.wait_idle(60)
        started = time.perf_counter()
        for _ in range(runs):
            runner.trigger("noop", {})
        runner.wait_idle(600)
        elapsed = time.perf_counter() - started
    finally:
        runner.shutdown()
    ok = len(History(settings.database_url).list_runs(bot="noop", status="succeeded", limit=100_000).runs)
    backroom_rate = runs / elapsed

    # baseline: bare APScheduler calling the same function in-process (no isolation, no history)
    from apscheduler.schedulers.background import BackgroundScheduler

    from tests.support.runner_bots import Noop

    done = threading.Event()
    count = [0]
    lock = threading.Lock()

    def call() -> None:
        Noop().run(None, None)  # type: ignore[arg-type]
        with lock:
            count[0] += 1
            if count[0] >= runs:
                done.set()

    sched = BackgroundScheduler(job_defaults={"misfire_grace_time": None})
    sched.start()
    t0 = time.perf_counter()
    for _ in range(runs):
        sched.add_job(call, "date", run_date=dt.datetime.now(dt.UTC))
    done.wait(120)
    bare = runs / (time.perf_counter() - t0)
    sched.shutdown()
    return {
        "runs": runs,
        "succeeded": ok - 10,
        "isolated_runs_per_s": round(backroom_rate, 1),
        "bare_apscheduler_in_process_runs_per_s": round(bare, 1),
        "ratio_vs_bare": round(backroom_rate / bare, 4),
        "goal_runs_per_s": 20,
        "goal_met": backroom_rate >= 20,
    }


# -- 2. burst of fires due in the same second ---------------------------------------------------
def bench_burst(home: Path, database: str, n: int) -> dict[str, Any]:
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=8)
    local = due.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None).isoformat()
    jobs = [{"id": f"b{i}", "schedule": f"date: {local}"} for i in range(n)]
    settings = settings_for(
        home,
        database,
        max_parallel_runs=1,
        bots={"noop": {"max_instances": n + 10, "misfire_grace": "1h", "jobs": jobs}},
    )
    runner = Runner(settings)
    t0 = time.perf_counter()
    runner.start(watch=False)
    startup = time.perf_counter() - t0
    history = runner.history
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        queued = history.list_runs(bot="noop", limit=n + 10).runs
        if len(queued) >= n:
            break
        time.sleep(0.2)
    runner.shutdown(wait=False)
    runs = history.list_runs(bot="noop", limit=n + 10).runs
    lags = [(r.queued_at - r.scheduled_for).total_seconds() for r in runs if r.scheduled_for]
    skipped = sum(1 for r in runs if r.status == "skipped")

    # baseline: bare APScheduler with the same kind of store and unlimited grace
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    seen = _BARE_SEEN
    seen.clear()
    store = SQLAlchemyJobStore(url=database.replace("burst.db", "burst-bare.db"), tablename="bare_jobs")
    sched = BackgroundScheduler(
        jobstores={"default": store}, job_defaults={"misfire_grace_time": None, "coalesce": True}
    )
    sched.start(paused=True)
    due2 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2 + n / 300)
    for i in range(n):
        sched.add_job(_bare_hit, "date", run_date=due2, args=(due2.timestamp(),), id=f"bare{i}")
    sched.resume()
    deadline = time.monotonic() + 60 + n / 100
    while len(seen) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    sched.shutdown(wait=False)
    return {
        "schedules": n,
        "queued": len(lags),
        "skipped": skipped,
        "missed": n - len(lags),
        "lag_p50_s": round(pct(lags, 0.5), 3),
        "lag_p99_s": round(pct(lags, 0.99), 3),
        "bare_apscheduler_called": len(seen),
        "bare_lag_p50_s": round(pct(seen, 0.5), 3),
        "bare_lag_p99_s": round(pct(seen, 0.99), 3),
        "runner_start_s": round(startup, 3),
        "goal_p99_s": 1.0,
        "goal_met": len(lags) == n and pct(lags, 0.99) < 1.0,
    }


_BARE_SEEN: list[float] = []
_BARE_LOCK = threading.Lock()


def _bare_hit(when: float) -> None:
    with _BARE_LOCK:
        _BARE_SEEN.append(time.time() - when)


# -- 3. dispatch lag with 1,000 schedules in the store ------------------------------------------
def bench_dispatch(home: Path, samples: int) -> dict[str, Any]:
    jobs = [{"id": f"idle{i}", "schedule": "cron: 0 3 1 1 *"} for i in range(1000)]
    settings = settings_for(
        home,
        f"sqlite:///{home / 'dispatch.db'}",
        max_parallel_runs=2,
        bots={"noop": {"jobs": jobs}, "echo": {"schedule": "interval: 1s", "max_instances": 2}},
    )
    runner = Runner(settings)
    runner.start(watch=False)
    try:
        deadline = time.monotonic() + samples + 30
        while time.monotonic() < deadline:
            if len(runner.history.list_runs(bot="echo", status="succeeded", limit=1000).runs) >= samples + 2:
                break
            time.sleep(0.5)
    finally:
        runner.shutdown()
    history = runner.history
    lags = []
    for run in history.list_runs(bot="echo", status="succeeded", limit=1000).runs[:samples]:
        first = next((x for x in history.logs(run.id) if "started (run" in x.message), None)
        if first and run.scheduled_for:
            lags.append((first.at - run.scheduled_for).total_seconds() * 1000)
    return {
        "schedules_in_store": 1001,
        "samples": len(lags),
        "first_line_lag_p50_ms": round(pct(lags, 0.5), 1),
        "first_line_lag_p99_ms": round(pct(lags, 0.99), 1),
        "goal_p99_ms": 250,
        "goal_met": pct(lags, 0.99) < 250,
    }


# -- 4. sync and start-up with 10,000 schedules --------------------------------------------------
def bench_startup(home: Path, n: int) -> dict[str, Any]:
    jobs = [{"id": f"j{i}", "schedule": f"cron: {i % 60} {i % 24} * * *", "params": {"text": str(i)}} for i in range(n)]
    data = {"bots": {"echo": {"jobs": jobs}}}
    db = f"sqlite:///{home / 'startup.db'}"
    first = Runner(settings_for(home, db, **data))
    t0 = time.perf_counter()
    first.start(watch=False)
    sync_s = time.perf_counter() - t0
    first.shutdown()
    again = Runner(settings_for(home, db, **data))
    t0 = time.perf_counter()
    again.start(watch=False)
    start_s = time.perf_counter() - t0
    time.sleep(2)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    idle_rss = _current_rss_mb()
    again.shutdown()
    return {
        "schedules": n,
        "sync_into_empty_store_s": round(sync_s, 2),
        "goal_sync_s": 10,
        "start_with_full_store_s": round(start_s, 2),
        "goal_start_s": 3,
        "idle_runner_rss_mb": round(idle_rss, 1),
        "peak_rss_mb": round(rss_mb, 1),
        "goal_idle_rss_mb": 150,
        "goal_met": sync_s < 10 and start_s < 3 and idle_rss < 150,
    }


def _current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("BACKROOM_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        result["startup"] = bench_startup(home, args.jobs)
        result["throughput"] = bench_throughput(home, args.runs)
        result["dispatch"] = bench_dispatch(home, args.samples)
        result["burst_sqlite"] = bench_burst(home, f"sqlite:///{home / 'burst.db'}", args.burst)
        if args.postgres:
            url, drop = fresh_pg(args.postgres)
            try:
                result["burst_postgres"] = bench_burst(home, url, args.burst)
            finally:
                drop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

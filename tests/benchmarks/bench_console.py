"""Console latency with a big history: the run-list API and the dashboard home.

    .venv/bin/python -m tests.benchmarks.bench_console                 # full size: 100,000 runs, 200 bots
    .venv/bin/python -m tests.benchmarks.bench_console --runs 20000    # quicker
    BACKROOM_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test  (adds PostgreSQL;
    the benchmark works in its own database ``backroom_console_bench`` on that server and drops it)

Rows are bulk-inserted straight into the history tables (setup is not what is measured). Each figure
is the wall time of a request through the whole ASGI stack (FastAPI TestClient, in process), so it
is the server's time plus a little client overhead. ``cpu_*`` is the process CPU time of the same
requests (server and in-process client): on a shared, loaded machine wall time mostly measures the
wait for a core, and the CPU figure says what the request itself costs. Goals: run list p99 < 100 ms for a page of 50;
home page with 200 bots < 200 ms. Baselines measured in the same run: the same query called directly
on ``History`` (``direct_list_runs``) and the dashboard's data without rendering (``direct_bot_rows``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backroom.bots import Bot, Params, Result

STATUSES = ["succeeded"] * 85 + ["failed"] * 8 + ["timed_out", "cancelled", "skipped"] * 2 + ["interrupted"]


def make_bots(n: int) -> dict[str, type]:
    def run(self: Any, ctx: Any, params: Any) -> Result:  # pragma: no cover - never executed here
        return Result()

    bots = {}
    for i in range(n):
        name = f"bot{i:03d}"
        bots[name] = type(
            f"Bench{i}",
            (Bot,),
            {"name": name, "summary": f"benchmark bot {i}", "Params": Params, "run": run, "__module__": __name__},
        )
    return bots


def fill(history: Any, bots: list[str], runs: int, seed: int = 7) -> None:
    """``runs`` finished runs over the last 90 days, spread over ``bots``."""
    from backroom.schedules.history import Run

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    table = Run.__table__
    rows = []
    for _ in range(runs):
        queued = now - dt.timedelta(seconds=rng.uniform(60, 90 * 86400))
        duration = rng.uniform(0.5, 900)
        status = rng.choice(STATUSES)
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "bot": rng.choice(bots),
                "job_id": None,
                "trigger": "schedule",
                "triggered_by": "scheduler",
                "params": {"day": queued.date().isoformat()},
                "status": status,
                "attempt": 1,
                "parent_run_id": None,
                "dry_run": False,
                "scheduled_for": queued,
                "queued_at": queued,
                "started_at": queued,
                "finished_at": queued + dt.timedelta(seconds=duration),
                "duration_s": duration,
                "summary": f"{rng.randint(0, 500)} items",
                "counts": {"items": rng.randint(0, 500)},
                "outputs": {},
                "progress": None,
                "error": "boom" if status == "failed" else None,
                "traceback": None,
                "transient": False,
                "cancel_requested": False,
                "owner": "bench:1",
                "run_dir": None,
            }
        )
    with history.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[start : start + 5000])
    if history.engine.dialect.name == "postgresql":
        with history.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE backroom_runs")
    else:
        with history.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def timings(fn: Callable[[], Any], n: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples, cpu = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    samples.sort()
    cpu.sort()
    return {
        "n": n,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "max_ms": round(samples[-1], 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p99_ms": round(cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))], 2),
    }


def bench_backend(database: str, home: Path, runs: int, nbots: int, requests: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.console.views import bot_rows
    from backroom.schedules.runner import Runner
    from backroom.schedules.settings import parse_settings

    bots = make_bots(nbots)
    names = sorted(bots)
    settings = parse_settings(
        {
            "database": database,
            "home": str(home),
            "bots": {
                n: {"schedule": f"cron: {i % 60} {i % 24} * * 1-5", "calendar": "cn-workdays"}
                for i, n in enumerate(names)
            },
        }
    )
    t0 = time.perf_counter()
    runner = Runner(settings, bots=bots)
    fill(runner.history, names, runs)
    setup_s = time.perf_counter() - t0
    runner.start(schedule=True, watch=False)
    try:
        client = TestClient(create_app(runner))
        assert client.get("/api/v1/runs?limit=50").json()["runs"].__len__() == 50
        rng = random.Random(3)
        first = client.get("/api/v1/runs", params={"limit": 50}).json()
        # a cursor ~half-way down the history, as someone paging far back would have
        deep_cursor = None
        page = first
        for _ in range(min(40, runs // 100)):
            page = client.get("/api/v1/runs", params={"limit": 50, "cursor": page["next_cursor"]}).json()
            deep_cursor = page["next_cursor"]
        result = {
            "setup_s": round(setup_s, 1),
            "direct_list_runs": timings(lambda: runner.history.list_runs(limit=50), requests),
            "api_runs_page1": timings(lambda: client.get("/api/v1/runs", params={"limit": 50}), requests),
            "api_runs_by_bot": timings(
                lambda: client.get("/api/v1/runs", params={"limit": 50, "bot": rng.choice(names)}), requests
            ),
            "api_runs_failed": timings(
                lambda: client.get("/api/v1/runs", params={"limit": 50, "status": "failed"}), requests
            ),
            "api_runs_deep_cursor": timings(
                lambda: client.get("/api/v1/runs", params={"limit": 50, "cursor": deep_cursor}), requests
            ),
            "direct_bot_rows": timings(lambda: bot_rows(runner), max(20, requests // 10)),
            "home_page": timings(lambda: client.get("/"), max(20, requests // 10)),
        }
        api = result["api_runs_page1"]
        result["ratio_api_vs_direct_p50"] = round(api["p50_ms"] / max(result["direct_list_runs"]["p50_ms"], 1e-6), 2)
        worst = max(result[k]["p99_ms"] for k in result if k.startswith("api_runs"))
        result["goal_run_list_p99_under_100ms"] = worst < 100
        result["goal_home_under_200ms"] = result["home_page"]["p99_ms"] < 200
        cpu_worst = max(result[k]["cpu_p99_ms"] for k in result if k.startswith("api_runs"))
        result["goal_run_list_p99_under_100ms_cpu"] = cpu_worst < 100
        result["goal_home_under_200ms_cpu"] = result["home_page"]["cpu_p99_ms"] < 200
        return result
    finally:
        runner.shutdown(wait=False)


def postgres_database(url: str, name: str) -> tuple[str, Callable[[], None]]:
    """A fresh database ``name`` on the server of ``url``; returns its URL and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(url).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    import logging
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("BACKROOM_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out: dict[str, Any] = {
        "runs": args.runs,
        "bots": args.bots,
        "requests": args.requests,
        "cpus": os.cpu_count(),
        "load_average_1m": load,
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        out["backends"]["sqlite"] = bench_backend(
            f"sqlite:///{home / 'bench.db'}", home / "s", args.runs, args.bots, args.requests
        )
        if args.postgres:
            url, drop = postgres_database(args.postgres, "backroom_console_bench")
            try:
                out["backends"]["postgresql"] = bench_backend(url, home / "p", args.runs, args.bots, args.requests)
            finally:
                drop()
        else:
            out["backends"]["postgresql"] = "skipped: set BACKROOM_TEST_POSTGRES_URL or pass --postgres"
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

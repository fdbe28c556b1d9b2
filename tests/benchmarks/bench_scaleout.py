"""Scale-out benchmark: no-op runs/s with 1 and 2 procrastinate workers against the local backend
(measured in the same run, on the same PostgreSQL), enqueue-to-start p50/p99, the database
connections each process holds, and the failover time after kill -9 of the leading serve.

Then the same for a CPU-bound bot: a real OCR (rapidocr, one thread per run) of the first
``--ocr-docs`` shared receipts (../shared/data/receipts/img), as documents per minute with the
local backend and with 1 and 2 workers; each run is a process of its own, so the models load in
every run (that is part of the figure). ``--ocr-docs 0`` leaves it out.

Prints one JSON document. Usage::

    python -m tests.benchmarks.bench_scaleout [--runs 60] [--workers 1,2] [--ocr-docs 6] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from backroom.schedules.history import History
from backroom.schedules.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
database = "{url}"
home = "{home}"
bot_modules = ["tests.support.runner_bots", "tests.support.scaleout_bots"]
max_parallel_runs = {parallel}
owner_lease = "3s"

[execution]
backend = "{backend}"
leader_heartbeat = "0.1s"
worker_concurrency = 2

[bots.noop]
max_instances = 100000

[bots.ocr_receipt]
max_instances = 100000
timeout = "30m"
"""
RECEIPTS = ROOT.parent / "shared" / "data" / "receipts" / "img"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def fresh_database(url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_scaleout_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def write_config(home: Path, url: str, backend: str, parallel: int = 4) -> Path:
    path = home / f"{backend}.toml"
    path.write_text(CONFIG.format(url=url, home=home, backend=backend, parallel=parallel), encoding="utf-8")
    return path


def spawn(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "backroom.schedules.cli", *args, "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def figures(history: History, ids: list[str]) -> dict[str, Any]:
    runs = [history.get_run(i) for i in ids]
    done = [r for r in runs if r is not None and r.status == "succeeded"]
    first = min(r.queued_at for r in runs if r is not None)
    last = max(r.finished_at for r in done)
    lags = [(r.started_at - r.queued_at).total_seconds() * 1000 for r in done]
    return {
        "runs": len(ids),
        "succeeded": len(done),
        "runs_per_s": round(len(done) / (last - first).total_seconds(), 2),
        "burst_enqueue_to_start_ms_p50": round(pct(lags, 0.5), 1),
        "burst_enqueue_to_start_ms_p99": round(pct(lags, 0.99), 1),
    }


def latency(runner: Any, n: int) -> dict[str, float]:
    """Enqueue-to-start of single runs on idle workers (the burst's figures include its backlog)."""
    lags = []
    for _ in range(n):
        run_id = runner.trigger("noop", actor="bench").id
        wait_finished(runner.history, [run_id])
        run = runner.history.get_run(run_id)
        lags.append((run.started_at - run.queued_at).total_seconds() * 1000)
    return {
        "idle_enqueue_to_start_ms_p50": round(pct(lags, 0.5), 1),
        "idle_enqueue_to_start_ms_p99": round(pct(lags, 0.99), 1),
    }


def wait_finished(history: History, ids: list[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(r.id in ids for r in history.active_runs()):
            return
        time.sleep(0.1)
    raise RuntimeError("runs did not finish in time")


def connections(url: str) -> dict[str, int]:
    import psycopg
    from sqlalchemy.engine import make_url

    info = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(info) as conn:
        rows = conn.execute(
            "select coalesce(nullif(application_name, ''), 'other'), count(*) from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid() group by 1"
        ).fetchall()
    return {name: n for name, n in rows}


def bench_local(home: Path, url: str, n: int) -> dict[str, Any]:
    from backroom.schedules.runner import Runner

    runner = Runner(load_settings(write_config(home, url, "local")))
    runner.start(schedule=False, watch=False)
    try:
        runner.executor.warm()
        ids = [runner.trigger("noop", actor="bench").id for _ in range(n)]
        runner.wait_idle(120)
        return {**figures(runner.history, ids), **latency(runner, n // 3)}
    finally:
        runner.shutdown(wait=True)


def bench_workers(home: Path, url: str, n: int, workers: int) -> dict[str, Any]:
    from backroom.schedules.distributed.queue import ensure_schema
    from backroom.schedules.distributed.runner import DistributedRunner

    config = write_config(home, url, "procrastinate")
    runner = DistributedRunner(load_settings(config))
    ensure_schema(runner.settings, runner.app)
    procs = [spawn(config, "worker") for _ in range(workers)]
    try:
        # workers ready: each has registered with procrastinate and warmed its forkserver
        warm = [runner.trigger("noop", actor="bench").id for _ in range(workers * 2)]
        wait_finished(runner.history, warm)
        ids = [runner.trigger("noop", actor="bench").id for _ in range(n)]
        wait_finished(runner.history, ids)
        result = figures(runner.history, ids)
        result["db_connections"] = connections(url)
        result.update(latency(runner, n // 3))
        return result
    finally:
        stop(procs)
        runner.app.close()
        runner.history.engine.dispose()


def bench_failover(home: Path, url: str) -> dict[str, Any]:
    config = write_config(home, url, "procrastinate")
    history = History(url)
    leader = spawn(config, "serve", "--no-console")
    procs = [leader]
    try:
        deadline = time.monotonic() + 60
        while not (history.previous_owner()[0] or "").startswith(f"{socket.gethostname()}:{leader.pid}#"):
            if time.monotonic() > deadline:
                raise RuntimeError("no leader")
            time.sleep(0.05)
        standby = spawn(config, "serve", "--no-console")
        procs.append(standby)
        while connections(url).get("backroom-serve-leader", 0) < 2:  # the standby polls the lock
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not start")
            time.sleep(0.05)
        killed = time.monotonic()
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        while not (history.previous_owner()[0] or "").startswith(f"{socket.gethostname()}:{standby.pid}#"):
            if time.monotonic() - killed > 60:
                raise RuntimeError("the standby did not take over")
            time.sleep(0.01)
        return {"failover_s": round(time.monotonic() - killed, 3)}
    finally:
        stop(procs)
        history.engine.dispose()


def ocr_figures(history: History, ids: list[str]) -> dict[str, Any]:
    runs = [history.get_run(i) for i in ids]
    done = [r for r in runs if r is not None and r.status == "succeeded"]
    first = min(r.queued_at for r in runs if r is not None)
    last = max(r.finished_at for r in done)
    return {
        "documents": len(ids),
        "read": len(done),
        "docs_per_min": round(len(done) / (last - first).total_seconds() * 60, 2),
        "seconds_per_doc_p50": round(pct([(r.finished_at - r.started_at).total_seconds() for r in done], 0.5), 2),
    }


def bench_ocr(home: Path, url: str, files: list[Path], workers: int) -> dict[str, Any]:
    """Documents/min reading ``files``: the local backend (``workers`` = 0, two runs at once, as
    two workers of concurrency 1 have) or ``workers`` worker processes of concurrency 1."""
    from backroom.schedules.distributed.queue import ensure_schema
    from backroom.schedules.distributed.runner import DistributedRunner
    from backroom.schedules.runner import Runner

    params = [{"file": str(f)} for f in files]
    if workers == 0:
        runner = Runner(load_settings(write_config(home, url, "local", parallel=2)))
        runner.start(schedule=False, watch=False)
        try:
            runner.executor.warm()
            ids = [runner.trigger("ocr_receipt", p, actor="bench").id for p in params]
            runner.wait_idle(1800)
            return ocr_figures(runner.history, ids)
        finally:
            runner.shutdown(wait=True)
    config = write_config(home, url, "procrastinate", parallel=workers)
    runner = DistributedRunner(load_settings(config))
    ensure_schema(runner.settings, runner.app)
    procs = [spawn(config, "worker", "--concurrency", "1") for _ in range(workers)]
    try:
        warm = [runner.trigger("noop", actor="bench").id for _ in range(workers * 2)]
        wait_finished(runner.history, warm)
        ids = [runner.trigger("ocr_receipt", p, actor="bench").id for p in params]
        wait_finished(runner.history, ids, timeout=1800)
        return ocr_figures(runner.history, ids)
    finally:
        stop(procs)
        runner.app.close()
        runner.history.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--ocr-docs", type=int, default=6)
    parser.add_argument("--postgres", default=os.environ.get("BACKROOM_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        sys.exit("needs --postgres or BACKROOM_TEST_POSTGRES_URL")
    report: dict[str, Any] = {"runs": args.runs, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url, drop = fresh_database(args.postgres)
        try:
            local = bench_local(home, url, args.runs)
            report["local"] = local
            for k in [int(x) for x in args.workers.split(",")]:
                result = bench_workers(home, url, args.runs, k)
                result["ratio_vs_local"] = round(result["runs_per_s"] / local["runs_per_s"], 2)
                report[f"procrastinate_{k}_workers"] = result
            report.update(bench_failover(home, url))
            files = sorted(RECEIPTS.glob("*.jpg"))[: args.ocr_docs]
            if args.ocr_docs and files:
                ocr: dict[str, Any] = {"local": bench_ocr(home, url, files, 0)}
                for k in [int(x) for x in args.workers.split(",")]:
                    result = bench_ocr(home, url, files, k)
                    result["ratio_vs_local"] = round(result["docs_per_min"] / ocr["local"]["docs_per_min"], 2)
                    ocr[f"procrastinate_{k}_workers"] = result
                report["ocr"] = ocr
            elif args.ocr_docs:
                report["ocr"] = f"no receipts at {RECEIPTS}"
        finally:
            drop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Metrics benchmarks (JSON on stdout).

1. ``pull``: N JSON HTTP sources (default 200) on the sandbox with 100 ms latency each, pulled
   concurrently through the bot's adapters, against a sequential loop of the same requests with a
   synchronous httpx client, measured in the same run (goal: ≥ 10×). The sandbox runs in its own
   process, as a remote system would.
2. ``pull_prometheus``: the same for N Prometheus sources of three range queries each (the sandbox's
   Prometheus API), against the same requests sent one after another.
3. ``score``: robust (median/MAD, same slot of the week over 8 weeks) scoring of one year of
   15-minute data for 500 series (goal: < 5 s on 2 cores).

Full size: ``python -m tests.benchmarks.bench_metrics`` (200 sources, 500 series × 35,040 points).
Smaller: ``--sources 50 --series 100 --days 90``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

_NOW = dt.datetime(2026, 11, 24, 1, tzinfo=dt.UTC)


def _serve(port: int, latency_ms: int) -> None:
    """The sandbox in its own process, as a remote system would be (no GIL shared with the bot)."""
    import uvicorn

    from backroom.sandbox.faults import Faults
    from backroom.sandbox.metrics_source import create_app

    app = create_app(token="t", clock=lambda: _NOW, faults=Faults(latency_ms=latency_ms))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _wait_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_sandbox/faults", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("sandbox did not start")


def bench_pull(n_sources: int, latency_ms: int) -> dict[str, float]:
    import multiprocessing

    import httpx

    from backroom.bots.sdk.testing import make_context
    from backroom.bots.systems.metric_sources import SourceConfig, Window, pull_all
    from backroom.sandbox.server import free_port

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, latency_ms), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url)
        systems = {f"s{i}": {"kind": "http", "url": url, "token": "env:T", "concurrency": 2} for i in range(n_sources)}
        queues = ["billing", "tech", "vip"]
        sources = [
            SourceConfig(
                name=f"s{i}", kind="json", system=f"s{i}", options={"params": {"interval": 60, "queue": queues[i % 3]}}
            )
            for i in range(n_sources)
        ]
        window = Window(_NOW - dt.timedelta(hours=6), _NOW)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = make_context(Path(tmp), "metrics", systems=systems, environ={"T": "t"}, clock=lambda: _NOW)
            t0 = time.perf_counter()
            results = asyncio.run(pull_all(ctx, sources, [window] * n_sources, limit=n_sources))
            concurrent = time.perf_counter() - t0
        failures = sum(isinstance(r, BaseException) for r in results)
        samples = sum(len(r.samples) for r in results if not isinstance(r, BaseException))
        t0 = time.perf_counter()
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as client:
            for i in range(n_sources):
                client.get(
                    "/api/v1/metrics",
                    params={
                        "interval": 60,
                        "queue": queues[i % 3],
                        "start": window.start.isoformat(),
                        "end": window.end.isoformat(),
                    },
                ).raise_for_status()
        sequential = time.perf_counter() - t0
    finally:
        server.terminate()
        server.join(timeout=10)
    return {
        "sources": n_sources,
        "latency_ms": latency_ms,
        "concurrent_s": round(concurrent, 3),
        "sequential_baseline_s": round(sequential, 3),
        "speedup_vs_sequential": round(sequential / concurrent, 1),
        "failures": failures,
        "samples": samples,
    }


def bench_pull_prometheus(n_sources: int, latency_ms: int) -> dict[str, float]:
    """N Prometheus sources of three range queries each (the per-query isolation path), concurrent
    through the adapter against the same requests one after another, in the same run."""
    import multiprocessing

    import httpx

    from backroom.bots.sdk.testing import make_context
    from backroom.bots.systems.metric_sources import SourceConfig, Window, pull_all
    from backroom.sandbox.server import free_port

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, latency_ms), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    queries = {"offered": "cc_calls_offered", "answered": "cc_calls_answered", "abandoned": "cc_calls_abandoned"}
    try:
        _wait_up(url)
        systems = {f"p{i}": {"kind": "http", "url": url, "token": "env:T", "concurrency": 4} for i in range(n_sources)}
        sources = [
            SourceConfig(name=f"p{i}", kind="prometheus", system=f"p{i}", options={"queries": queries})
            for i in range(n_sources)
        ]
        window = Window(_NOW - dt.timedelta(hours=6), _NOW)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = make_context(Path(tmp), "metrics", systems=systems, environ={"T": "t"}, clock=lambda: _NOW)
            t0 = time.perf_counter()
            results = asyncio.run(pull_all(ctx, sources, [window] * n_sources, limit=n_sources))
            concurrent = time.perf_counter() - t0
        failures = sum(isinstance(r, BaseException) or bool(r.stale) for r in results)
        samples = sum(len(r.samples) for r in results if not isinstance(r, BaseException))
        t0 = time.perf_counter()
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as client:
            for _ in range(n_sources):
                for promql in queries.values():
                    client.post(
                        "/api/v1/query_range",
                        data={
                            "query": promql,
                            "start": str(window.start.timestamp() + 900),
                            "end": str(window.end.timestamp()),
                            "step": "900",
                        },
                    ).raise_for_status()
        sequential = time.perf_counter() - t0
    finally:
        server.terminate()
        server.join(timeout=10)
    return {
        "sources": n_sources,
        "queries_per_source": len(queries),
        "latency_ms": latency_ms,
        "concurrent_s": round(concurrent, 3),
        "sequential_baseline_s": round(sequential, 3),
        "speedup_vs_sequential": round(sequential / concurrent, 1),
        "failures_or_stale": failures,
        "samples": samples,
    }


def bench_score(n_series: int, days: int) -> dict[str, float]:
    import numpy as np

    from backroom.bots.metrics.anomaly import robust_scores

    points = days * 96
    rng = np.random.default_rng(5)
    t = np.arange(points)
    shape = 50 + 40 * np.sin(2 * np.pi * (t % 96) / 96) + 20 * ((t // 96) % 7 == 0)
    values = rng.poisson(np.clip(shape, 1, None), size=(n_series, points)).astype(float)
    t0, c0 = time.perf_counter(), time.process_time()
    z, _, _ = robust_scores(values, 7 * 96, 8, min_mad=1.0, noise="poisson")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "series": n_series,
        "points_per_series": points,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),  # wall time is inflated when other work shares the cores
        "load_average_1m": round(os.getloadavg()[0], 2),
        "goal_s": 5.0,
        "points_per_second": round(n_series * points / elapsed),
        "flagged_share_z_gt_4": round(float(np.mean(np.abs(np.nan_to_num(z)) > 4)), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    out = {
        "pull": bench_pull(args.sources, args.latency_ms),
        "pull_prometheus": bench_pull_prometheus(args.sources, args.latency_ms),
        "score": bench_score(args.series, args.days),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Work-item queue benchmark: items/s through a queue with a no-op consumer, against the plain bot loop.

Three ways to get through the same N items, measured in the same run on the same database:

* ``plain_loop``       the bot loops over its list in memory (no record of any item: not restartable);
* ``checkpoint_loop``  the plain loop that records each item as done in ``ctx.checkpoint`` (one commit per
                       item: what a bot writes by hand to be restartable) — the baseline of the ratios;
* ``queue``            ``put_many`` by a producer, then ``for item in ctx.items(): with item: pass``
                       (claim per batch of 20, one checked UPDATE per item).

Prints one JSON document. Usage::

    python -m tests.benchmarks.bench_queue [--items 1000] [--repeat 3] [--postgres URL]

Each figure is the median of ``--repeat`` rounds (a shared machine's fsync latency varies a lot).

PostgreSQL figures are included when ``--postgres`` or ``BACKROOM_TEST_POSTGRES_URL`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from backroom.bots.sdk.checkpoint import Checkpoint
from backroom.bots.sdk.workitems import WorkQueue
from backroom.schedules.history import History


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def bench(database: str, n: int, repeat: int = 3) -> dict[str, Any]:
    """The median of ``repeat`` rounds of :func:`bench_once`, figure by figure."""
    rounds = [bench_once(database, n) for _ in range(repeat)]
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]} | {"rounds": repeat}


def bench_once(database: str, n: int) -> dict[str, Any]:
    history = History(database)  # the runner's tables, migrated
    engine = history.engine
    payloads = [(f"item-{i}", {"n": i, "note": "x" * 40}) for i in range(n)]

    start = time.perf_counter()
    handled = []
    for key, _payload in payloads:
        handled.append(key)
    plain = time.perf_counter() - start
    assert len(handled) == n

    checkpoint = Checkpoint(engine, f"bench-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    for key, payload in payloads:
        checkpoint.set(key, {"done": True, "n": payload["n"]})
    by_checkpoint = time.perf_counter() - start

    queue = WorkQueue(engine, f"bench-{uuid.uuid4().hex[:6]}", run_id="bench")
    start = time.perf_counter()
    queued = queue.put_many(payloads)
    put = time.perf_counter() - start
    start = time.perf_counter()
    consumed = 0
    for item in queue.items():
        with item:
            consumed += 1
    take = time.perf_counter() - start
    counts = queue.counts()
    assert queued == n and consumed == n and counts["done"] == n, (queued, consumed, counts)
    history.engine.dispose()

    baseline = _rate(n, by_checkpoint)
    return {
        "items": n,
        "plain_loop_items_per_s": _rate(n, plain),
        "checkpoint_loop_items_per_s": baseline,
        "queue_put_items_per_s": _rate(n, put),
        "queue_consume_items_per_s": _rate(n, take),
        "queue_end_to_end_items_per_s": _rate(n, put + take),
        "ratio_consume_vs_checkpoint_loop": round(_rate(n, take) / baseline, 3),
        "ratio_end_to_end_vs_checkpoint_loop": round(_rate(n, put + take) / baseline, 3),
    }


def _fresh_pg(url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("BACKROOM_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.items, args.repeat)
    if args.postgres:
        url, drop = _fresh_pg(args.postgres)
        try:
            out["postgresql"] = bench(url, args.items, args.repeat)
        finally:
            drop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""A scrape target down marks "no data" for that target only: the queries' series from the other
targets are kept and not called missing. Against a loopback Prometheus-shaped JSON API (two targets,
one down — the real Prometheus fixture has one node-exporter; tests/realsystems covers that case)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from backroom.bots.metrics.nodata import NoData
from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import SourceConfig, Window, adapter

END = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)
T = END.timestamp()
UP, DOWN = "10.0.0.1:9100", "10.0.0.2:9100"


def _series(instance: str | None, times: list[float], value: str = "1") -> dict[str, Any]:
    labels = {"__name__": "x", "job": "node", "instance": instance} if instance else {}
    return {"metric": labels, "values": [[t, value] for t in times]}


# PromQL -> answer; the down target's series end 40 s before the window's end (its outage)
RANGE = {
    "node_load1": [_series(UP, [T - 60, T - 30, T]), _series(DOWN, [T - 60])],
    "node_memory_free": [_series(UP, [T - 60, T - 30, T])],  # only ever from the healthy target
    "sum(node_load1)": [_series(None, [T - 60, T - 30, T], "2")],  # an aggregate: no target labels
}
INSTANT = {"node_memory_free": [{"metric": {"job": "node", "instance": UP}, "value": [T, "5"]}]}
TARGETS = [
    {"metric": {"__name__": "up", "job": "node", "instance": UP}, "value": [T, "1"]},
    {"metric": {"__name__": "up", "job": "node", "instance": DOWN}, "value": [T, "0"]},
]


@pytest.fixture
def prometheus() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            query = form["query"][0]
            if query == 'up{job="node"}':
                result: list[Any] = TARGETS
            elif self.path.endswith("query_range"):
                result = RANGE[query]
            else:
                result = INSTANT[query]
            body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _pull(tmp_path: Path, url: str, queries: dict[str, str], mode: str = "range") -> Any:
    ctx = make_context(tmp_path, "metrics", systems={"prom": {"kind": "http", "url": url, "retries": 0}})
    source = SourceConfig(
        name="node",
        kind="prometheus",
        system="prom",
        options={"queries": queries, "step_seconds": 30, "mode": mode, "targets_query": 'up{job="node"}'},
    )
    try:
        return asyncio.run(adapter("prometheus").pull(ctx, source, Window(END - dt.timedelta(minutes=1), END)))
    finally:
        ctx.close()


def test_a_down_target_marks_only_its_own_series_missing(tmp_path: Path, prometheus: str) -> None:
    queries = {"load": "node_load1", "mem": "node_memory_free", "total": "sum(node_load1)"}
    result = _pull(tmp_path, prometheus, queries)
    assert set(result.stale) == {f"load@{DOWN}", "total"}  # not "mem": no series of it from the down target
    assert result.stale[f"load@{DOWN}"].endswith(f"scrape target {DOWN} is down (up == 0)")
    # everything that came back is kept, the healthy target's series included
    assert {s.metric for s in result.samples} == {"load", "mem", "total"}
    assert len([s for s in result.samples if s.metric == "load"]) == 4

    nodata = NoData([], dt.UTC)
    nodata.source_pulled("node", result.stale)
    narrowed = nodata.found[f"nodata|node|load@{DOWN}"]
    assert (narrowed["kpi"], narrowed["target"], narrowed["where"]) == ("load", DOWN, f"node/load@{DOWN}")
    assert f"采集目标 {DOWN} 无法访问（up == 0）" in narrowed["text"]
    assert "nodata|node|mem" not in nodata.found


def test_a_down_target_no_answer_shows_is_still_announced_as_that_target(tmp_path: Path, prometheus: str) -> None:
    result = _pull(tmp_path, prometheus, {"mem": "node_memory_free"}, mode="instant")
    assert set(result.stale) == {f"targets@{DOWN}"} and [s.metric for s in result.samples] == ["mem"]
    nodata = NoData([], dt.UTC)
    nodata.source_pulled("node", result.stale)
    (alert,) = nodata.found.values()
    assert alert["kpi_label"] == "采集目标" and alert["target"] == DOWN

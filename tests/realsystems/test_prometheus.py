"""Prometheus scraping node-exporter: the queries the metrics bot will make, and a target going down."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.realsystems.prometheus import Prometheus

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]


def test_instant_queries(prometheus_server: Prometheus) -> None:
    up = prometheus_server.query('up{job="node"}')
    assert [(s["metric"]["job"], s["value"][1]) for s in up] == [("node", "1")]
    load = prometheus_server.query("node_load1")
    assert len(load) == 1
    assert float(load[0]["value"][1]) >= 0


def test_range_query(prometheus_server: Prometheus) -> None:
    prometheus_server.wait_for("count_over_time(up[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 3)
    # another test may have stopped node-exporter within the minute asked for below (a range's first
    # point takes the sample before it, hence a look a little further back than the minute)
    prometheus_server.wait_for('min_over_time(up{job="node"}[75s])', lambda r: bool(r) and r[0]["value"][1] == "1", 110)
    end = time.time()
    answer = httpx.get(
        f"{prometheus_server.url}/api/v1/query_range",
        params={"query": 'up{job="node"}', "start": end - 60, "end": end, "step": "1s"},
        timeout=10,
    ).json()
    assert answer["status"] == "success"
    assert answer["data"]["resultType"] == "matrix"
    (series,) = answer["data"]["result"]
    assert len(series["values"]) >= 3
    assert {value for _, value in series["values"]} == {"1"}


def test_cpu_rate_has_one_series_per_cpu(prometheus_server: Prometheus) -> None:
    """A rate needs two scrapes in its window, hence the wait; each CPU has one idle series."""
    promql = 'rate(node_cpu_seconds_total{mode="idle"}[1m])'
    result = prometheus_server.wait_for(promql, lambda r: len(r) == os.cpu_count())
    assert sorted(int(s["metric"]["cpu"]) for s in result) == list(range(os.cpu_count() or 0))
    assert all(0 <= float(s["value"][1]) <= 1.5 for s in result)
    busy = prometheus_server.query('sum by (cpu) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))')
    assert len(busy) == os.cpu_count()


def test_target_goes_down_and_comes_back(prometheus_server: Prometheus) -> None:
    exporter = prometheus_server.node_exporter
    exporter.stop()
    try:
        prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "0")
    finally:
        exporter.start()
    prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "1")

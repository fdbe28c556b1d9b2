"""The metrics bot's Prometheus source against a real Prometheus scraping node-exporter."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import httpx
import pytest

from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import MetricSourceError, SourceConfig, Window, adapter
from tests.realsystems.prometheus import Prometheus

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]


def _ctx(tmp_path: Path, prometheus: Prometheus):
    return make_context(tmp_path, "metrics", systems={"prom": {"kind": "http", "url": prometheus.url, "retries": 1}})


def test_range_and_instant_pulls_keep_the_asked_dimensions(tmp_path: Path, prometheus_server: Prometheus) -> None:
    prometheus_server.wait_for("count_over_time(up[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 12)
    ctx = _ctx(tmp_path, prometheus_server)
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    window = Window(end - dt.timedelta(seconds=10), end)  # scraped every second for 12 s and more
    ranged = SourceConfig(
        name="node",
        kind="prometheus",
        system="prom",
        options={"queries": {"up": 'up{job="node"}'}, "step_seconds": 2, "dimensions": ["job"]},
    )
    result = asyncio.run(adapter("prometheus").pull(ctx, ranged, window))
    assert result.issues == []
    assert {s.dims for s in result.samples} == {'{"job":"node"}'}
    assert all(s.seconds == 2 for s in result.samples)
    # the values stored are Prometheus's own answer for the same range (a loaded machine may miss a
    # scrape, and another test stops node-exporter, so "all 1" would test the machine, not the adapter)
    answer = httpx.get(
        f"{prometheus_server.url}/api/v1/query_range",
        params={"query": 'up{job="node"}', "start": window.start.timestamp(), "end": window.end.timestamp(), "step": 2},
        timeout=10,
    ).json()["data"]["result"]
    theirs = {(float(t), float(v)) for series in answer for t, v in series["values"]}
    mine = {(s.start.timestamp(), s.value) for s in result.samples}
    assert mine and mine <= theirs, sorted(mine - theirs)
    assert all(window.start <= s.start < window.end for s in result.samples)
    assert len(result.samples) >= 3

    per_cpu = SourceConfig(
        name="cpu",
        kind="prometheus",
        system="prom",
        options={"queries": {"idle": 'node_cpu_seconds_total{mode="idle"}'}, "mode": "instant", "dimensions": ["cpu"]},
    )
    instant = asyncio.run(adapter("prometheus").pull(ctx, per_cpu, window))
    assert len(instant.samples) == os.cpu_count()


def test_a_query_prometheus_refuses_names_the_query(tmp_path: Path, prometheus_server: Prometheus) -> None:
    ctx = _ctx(tmp_path, prometheus_server)
    end = dt.datetime.now(dt.UTC)
    broken = SourceConfig(
        name="bad", kind="prometheus", system="prom", options={"queries": {"x": "rate(up[1m]"}, "mode": "instant"}
    )
    with pytest.raises(MetricSourceError, match=r"query 'rate\(up\[1m\]' failed: 400"):
        asyncio.run(adapter("prometheus").pull(ctx, broken, Window(end - dt.timedelta(minutes=1), end)))

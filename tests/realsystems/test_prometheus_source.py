"""The metrics bot's Prometheus source against a real Prometheus scraping node-exporter."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from pathlib import Path

import httpx
import pytest

from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import MetricSourceError, SourceConfig, Window, adapter, dims_key
from tests.realsystems.prometheus import Prometheus

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]


def _ctx(tmp_path: Path, prometheus: Prometheus):
    return make_context(tmp_path, "metrics", systems={"prom": {"kind": "http", "url": prometheus.url, "retries": 1}})


def test_range_and_instant_pulls_keep_the_asked_dimensions(tmp_path: Path, prometheus_server: Prometheus) -> None:
    prometheus_server.wait_for("count_over_time(up[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 16)
    # other tests stop node-exporter: the window below must lie after it was last back up
    _wait_up_for(prometheus_server, 20)
    ctx = _ctx(tmp_path, prometheus_server)
    # a window that ended a few seconds ago: a scrape is stamped when it starts and lands when it ends,
    # so on a loaded machine the last seconds before "now" still change between two reads
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    window = Window(end - dt.timedelta(seconds=10), end)
    theirs = _settled_range(prometheus_server, 'up{job="node"}', window, step=2)
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
    # a point Prometheus stamps T covers [T - step, T) (timestamp_marks = "end"), stored by its start
    mine = {(s.start.timestamp() + s.seconds, s.value) for s in result.samples}
    assert mine and mine <= theirs, (sorted(mine - theirs), sorted(theirs))
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


def _wait_up_for(prometheus: Prometheus, seconds: int) -> None:
    """Until node-exporter has answered every scrape of the last ``seconds`` (it may have been stopped)."""
    promql = f'min_over_time(up{{job="node"}}[{seconds}s])'
    prometheus.wait_for(promql, lambda r: bool(r) and r[0]["value"][1] == "1", timeout=seconds + 30)


def _settled_range(prometheus: Prometheus, promql: str, window: Window, step: int) -> set[tuple[float, float]]:
    """Prometheus's own answer for ``window`` once two reads a scrape apart agree."""
    previous: set[tuple[float, float]] | None = None
    for _ in range(20):
        answer = httpx.get(
            f"{prometheus.url}/api/v1/query_range",
            params={"query": promql, "start": window.start.timestamp(), "end": window.end.timestamp(), "step": step},
            timeout=10,
        ).json()["data"]["result"]
        current = {(float(t), float(v)) for series in answer for t, v in series["values"]}
        if current == previous:
            return current
        previous = current
        time.sleep(1.5)
    raise AssertionError(f"Prometheus's answer for {promql!r} kept changing: {sorted(previous or ())}")


def test_a_query_prometheus_refuses_names_the_query(tmp_path: Path, prometheus_server: Prometheus) -> None:
    ctx = _ctx(tmp_path, prometheus_server)
    end = dt.datetime.now(dt.UTC)
    broken = SourceConfig(
        name="bad", kind="prometheus", system="prom", options={"queries": {"x": "rate(up[1m]"}, "mode": "instant"}
    )
    with pytest.raises(MetricSourceError, match=r"query 'rate\(up\[1m\]' failed: 400"):
        asyncio.run(adapter("prometheus").pull(ctx, broken, Window(end - dt.timedelta(minutes=1), end)))


def test_a_bad_query_beside_a_good_one_marks_only_itself_stale(tmp_path: Path, prometheus_server: Prometheus) -> None:
    ctx = _ctx(tmp_path, prometheus_server)
    end = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    source = SourceConfig(
        name="mixed",
        kind="prometheus",
        system="prom",
        options={
            "queries": {"load": "node_load1", "bad": "rate(up[1m]", "none": "absent_metric_xyz"},
            "mode": "instant",
        },
    )
    result = asyncio.run(adapter("prometheus").pull(ctx, source, Window(end - dt.timedelta(minutes=1), end)))
    assert [s.metric for s in result.samples] == ["load"]  # the good query's value is kept
    assert set(result.stale) == {"bad", "none"}
    assert "query 'rate(up[1m]' failed: 400" in result.stale["bad"]
    assert "answered no data" in result.stale["none"]  # an empty answer is not a quiet success


def test_per_cpu_series_keep_every_label_and_a_collision_names_the_labels(
    tmp_path: Path, prometheus_server: Prometheus
) -> None:
    promql = "rate(node_cpu_seconds_total[1m])"
    prometheus_server.wait_for(promql, lambda r: len(r) >= 2 * (os.cpu_count() or 1))
    ctx = _ctx(tmp_path, prometheus_server)
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    theirs = httpx.get(
        f"{prometheus_server.url}/api/v1/query", params={"query": promql, "time": end.timestamp()}, timeout=10
    )
    series = theirs.json()["data"]["result"]
    window = Window(end - dt.timedelta(minutes=1), end)

    def pull(**options: object) -> object:
        source = SourceConfig(
            name="cpu",
            kind="prometheus",
            system="prom",
            options={"queries": {"cpu": promql}, "mode": "instant", **options},
        )
        return asyncio.run(adapter("prometheus").pull(ctx, source, window))

    every = pull()
    assert len(every.samples) == len(series)  # one sample per (cpu, mode, instance, job): nothing merged
    assert {s.dims for s in every.samples} == {
        dims_key({k: v for k, v in s["metric"].items() if k != "__name__"}) for s in series
    }
    narrowed = pull(dimensions=["mode"])
    assert narrowed.samples == [] and "label(s) cpu" in narrowed.stale["cpu"]
    summed = pull(dimensions=["mode"], combine="sum")
    modes = {s["metric"]["mode"] for s in series}
    assert len(summed.samples) == len(modes)
    total = {s.dims: s.value for s in summed.samples}
    idle = sum(float(s["value"][1]) for s in series if s["metric"]["mode"] == "idle")
    assert total['{"mode":"idle"}'] == pytest.approx(idle)


def test_a_stopped_exporter_is_no_data_for_its_own_series_only(tmp_path: Path, prometheus_server: Prometheus) -> None:
    """Two targets (node-exporter, Prometheus itself) both export go_goroutines; with node-exporter
    stopped, only its series are missing — Prometheus's own keep coming and are not called missing."""
    exporter = prometheus_server.node_exporter
    node, itself = exporter.url.removeprefix("http://"), prometheus_server.url.removeprefix("http://")
    prometheus_server.wait_for('up{job="prometheus"}', lambda r: bool(r) and r[0]["value"][1] == "1")
    _wait_up_for(prometheus_server, 20)
    source = SourceConfig(
        name="mixed",
        kind="prometheus",
        system="prom",
        options={
            "queries": {"load": "node_load1", "goroutines": "go_goroutines"},
            "step_seconds": 1,
            "targets_query": "up",
        },
    )
    exporter.stop()
    try:
        down = prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "0")
        end = dt.datetime.fromtimestamp(float(down[0]["value"][0]), dt.UTC)
        result = asyncio.run(
            adapter("prometheus").pull(
                _ctx(tmp_path, prometheus_server), source, Window(end - dt.timedelta(seconds=20), end)
            )
        )
    finally:
        exporter.start()
        # the tests after this one expect a scraped node-exporter
        prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "1")
    assert set(result.stale) == {f"load@{node}", f"goroutines@{node}"}, result.stale
    assert all(f"scrape target {node} is down" in reason for reason in result.stale.values())
    instances = {s.dims for s in result.samples if s.metric == "goroutines"}
    assert any(f'"instance":"{itself}"' in d for d in instances) and any(f'"instance":"{node}"' in d for d in instances)

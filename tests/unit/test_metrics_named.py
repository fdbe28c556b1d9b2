"""Named metrics: declared aggregation, labels kept unless folded explicitly, rules and check on them."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from pydantic import ValidationError

from backroom.bots.metrics import Config
from backroom.bots.metrics.anomaly import Rule
from backroom.bots.metrics.detect import detect
from backroom.bots.metrics.named import MetricDef, aggregate, as_kpi, day_figures, reduce
from backroom.bots.metrics.series import Grid
from backroom.bots.systems.metric_sources.base import dims_key

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def _row(metric: str, dims: dict[str, str], seconds: float, value: float, source: str = "node") -> dict[str, Any]:
    return {
        "source": source,
        "metric": metric,
        "dims": dims_key(dims),
        "interval_start": T0 + dt.timedelta(seconds=seconds),
        "interval_seconds": 5,
        "value": value,
    }


@pytest.mark.parametrize(
    ("how", "expected"),
    [("last", 4.0), ("avg", 2.5), ("min", 1.0), ("max", 4.0), ("sum", 10.0), ("p95", 3.85), ("rate", 3 / 15)],
)
def test_each_aggregation(how: str, expected: float) -> None:
    points = [(10.0, 3.0), (0.0, 1.0), (15.0, 4.0), (5.0, 2.0)]  # out of order on purpose
    assert reduce(points, how) == pytest.approx(expected)


def test_rate_counts_a_counter_reset_from_zero() -> None:
    assert reduce([(0, 100.0), (10, 110.0), (20, 5.0)], "rate") == pytest.approx((10 + 5) / 20)
    assert math.isnan(reduce([(0, 1.0)], "rate"))


def test_every_label_is_kept_unless_folded_explicitly() -> None:
    rows = [
        _row("cpu", {"cpu": c, "mode": m}, s, v)
        for c in ("0", "1")
        for m in ("user", "system")
        for s, v in ((0, 0.1), (5, 0.3))
    ]
    keep_all = MetricDef(name="cpu", label="CPU", source="node", aggregation="avg")
    keys, values = aggregate(rows, keep_all, T0, 60, 1)
    assert len(keys) == 4 and values[:, 0] == pytest.approx([0.2] * 4)  # 16 points in, 4 series, none lost
    per_cpu = MetricDef(name="cpu", label="CPU", source="node", by=["cpu"], combine="sum", aggregation="max")
    keys, values = aggregate(rows, per_cpu, T0, 60, 1)
    assert [k for _, k in keys] == ['{"cpu":"0"}', '{"cpu":"1"}']
    assert values[:, 0] == pytest.approx([0.6, 0.6])  # user + system at each instant, the max over the minute
    only_user = MetricDef(name="cpu", label="CPU", source="node", labels={"mode": "user"}, aggregation="last")
    keys, values = aggregate(rows, only_user, T0, 60, 1)
    assert len(keys) == 2 and values[:, 0] == pytest.approx([0.3, 0.3])


def test_derived_metric_is_a_ratio_of_sums() -> None:
    rows = [
        _row("abandoned", {}, 0, 3),
        _row("abandoned", {}, 30, 1),
        _row("offered", {}, 0, 30),
        _row("offered", {}, 30, 10),
    ]
    rate = MetricDef(
        name="lost", label="放弃率", source="node", numerator="abandoned", denominator="offered", unit="ratio"
    )
    _keys, values = aggregate(rows, rate, T0, 60, 1)
    assert values[0, 0] == pytest.approx(4 / 40)  # not the average of 10% and 10%: the sums' ratio


def test_threshold_rule_on_a_named_metric_per_series() -> None:
    rows = [_row("load", {"instance": "a"}, 0, 0.5), _row("load", {"instance": "b"}, 0, 3.0)]
    metric = MetricDef(name="load1", label="系统负载", source="node", series="load", aggregation="max")
    keys, values = aggregate(rows, metric, T0, 60, 1)
    grid = Grid(start=T0, step_s=60, n=1, series=keys, sums={"load1": values})
    rule = Rule.model_validate({"kind": "threshold", "metric": "load1", "max": 2.0, "id": "load-high"})
    findings, judged = detect(grid, [rule], {"load1": as_kpi(metric)}, T0)
    assert [(f.dims, f.value) for f in findings] == [('{"instance":"b"}', 3.0)]
    assert len(judged) == 2  # both series were judged, so a recovery can be told apart from silence
    only_a = Rule.model_validate({"kind": "threshold", "metric": "load1", "max": 2.0, "labels": {"instance": "a"}})
    assert detect(grid, [only_a], {"load1": as_kpi(metric)}, T0)[0] == []


def test_day_figures_and_missing_metrics() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    rows = [_row("load", {}, 3600, 1.5)]
    have = MetricDef(name="load1", label="系统负载", source="node", series="load", aggregation="max")
    none = MetricDef(name="mem", label="内存", source="node", series="mem_free")
    figures, missing = day_figures(rows, [have, none], dt.date(2026, 11, 29), tz)
    assert [(f.metric.name, f.value) for f in figures] == [("load1", 1.5)]
    assert [m.name for m in missing] == ["mem"]


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "name": "node",
                "kind": "prometheus",
                "system": "prom",
                "options": {"queries": {"load": "node_load1", "cpu": "rate(node_cpu_seconds_total[1m])"}},
            },
            {
                "name": "narrow",
                "kind": "prometheus",
                "system": "prom",
                "options": {"queries": {"up": "up"}, "dimensions": ["instance"]},
            },
        ],
        **extra,
    }


def test_check_validates_every_rule_metric_and_label() -> None:
    good = Config.model_validate(
        _config(
            metrics=[
                {"name": "load1", "label": "系统负载", "source": "node", "series": "load", "aggregation": "max"},
                {"name": "cpu_busy", "label": "CPU", "source": "node", "series": "cpu", "by": ["cpu"]},
            ],
            rules=[
                {"kind": "threshold", "metric": "load1", "max": 4},
                {"kind": "threshold", "metric": "cpu_busy", "max": 0.9, "labels": {"cpu": "0"}},
            ],
        )
    )
    assert [r.kpi for r in good.rules] == ["load1", "cpu_busy"]
    with pytest.raises(
        ValidationError, match=r"rule #1 \(threshold:node_load1:None:4.0\): unknown metric 'node_load1'"
    ):
        Config.model_validate(_config(rules=[{"kind": "threshold", "metric": "node_load1", "max": 4}]))
    with pytest.raises(ValidationError, match=r"metric 'cpu_busy' has no label\(s\) mode; its labels: cpu"):
        Config.model_validate(
            _config(
                metrics=[{"name": "cpu_busy", "label": "CPU", "source": "node", "series": "cpu", "by": ["cpu"]}],
                rules=[{"kind": "threshold", "metric": "cpu_busy", "max": 1, "labels": {"mode": "user"}}],
            )
        )
    with pytest.raises(ValidationError, match="source 'node' has no query 'load5'; its query names: load, cpu"):
        Config.model_validate(_config(metrics=[{"name": "l5", "label": "负载", "source": "node", "series": "load5"}]))
    with pytest.raises(ValidationError, match="source 'nope' is not configured"):
        Config.model_validate(_config(metrics=[{"name": "x", "label": "x", "source": "nope"}]))
    with pytest.raises(ValidationError, match=r"label\(s\) job are not dimensions of source 'narrow'"):
        Config.model_validate(
            _config(metrics=[{"name": "u", "label": "u", "source": "narrow", "series": "up", "by": ["job"]}])
        )
    with pytest.raises(ValidationError, match="name 'offered' is taken"):
        Config.model_validate(_config(metrics=[{"name": "offered", "label": "x", "source": "node", "series": "load"}]))
    wfm = {
        "name": "wfm",
        "kind": "sql",
        "options": {
            "url": "env:WFM",
            "query": "select 1",
            "fields": {"offered": "calls_in"},
            "dimensions": {"team": "t"},
        },
    }
    ok = Config.model_validate(
        {
            "sources": [wfm],
            "metrics": [{"name": "calls", "label": "来电", "source": "wfm", "series": "offered", "by": ["team"]}],
        }
    )
    assert ok.metrics[0].stored == ["offered"]
    with pytest.raises(ValidationError, match="source 'wfm' has no field 'answered'; its field names: offered"):
        Config.model_validate(
            {"sources": [wfm], "metrics": [{"name": "a", "label": "接通", "source": "wfm", "series": "answered"}]}
        )
    with pytest.raises(ValidationError, match=r"label\(s\) queue are not dimensions of source 'wfm' \(it keeps team\)"):
        Config.model_validate(
            {
                "sources": [wfm],
                "metrics": [{"name": "c", "label": "来电", "source": "wfm", "series": "offered", "by": ["queue"]}],
            }
        )
    # one check lists every problem, not just the first
    with pytest.raises(ValidationError, match=r"source 'nope' is not configured.* \| rule #1 .*unknown metric 'cpu'"):
        Config.model_validate(
            _config(
                metrics=[{"name": "x", "label": "x", "source": "nope"}],
                rules=[{"kind": "threshold", "metric": "cpu", "max": 1}],
            )
        )
    with pytest.raises(ValidationError, match="both kpi"):
        Rule.model_validate({"kind": "threshold", "metric": "a", "kpi": "b", "max": 1})


def test_a_derived_metric_is_guarded_by_its_volume() -> None:
    from backroom.bots.metrics.named import metric_grid

    rows = [
        _row("abandoned", {"queue": "a"}, 0, 1),
        _row("offered", {"queue": "a"}, 0, 2),  # 50%, but of two calls
        _row("abandoned", {"queue": "b"}, 0, 30),
        _row("offered", {"queue": "b"}, 0, 100),  # 30% of a hundred
    ]
    lost = MetricDef(
        name="lost",
        label="放弃率",
        source="node",
        numerator="abandoned",
        denominator="offered",
        unit="ratio",
        min_volume=20,
    )
    grid, kpi = metric_grid(rows, lost, T0, 60, 1)
    rule = Rule.model_validate({"kind": "threshold", "metric": "lost", "max": 0.2})
    findings, judged = detect(grid, [rule], {"lost": kpi}, T0, min_volume=lost.min_volume or 0)
    assert [(f.dims, f.value) for f in findings] == [('{"queue":"b"}', 0.3)]
    assert {d for _r, _s, d in judged} == {'{"queue":"b"}'}  # queue a, two calls, is not judged at all
    with pytest.raises(ValidationError, match="min_volume applies to derived metrics"):
        MetricDef(name="x", label="x", source="node", min_volume=5)


def test_check_validates_label_filters_on_built_in_kpi_rules() -> None:
    """A rule on a KPI may filter only on the dimensions of the sources storing that KPI's counts."""
    wfm = {
        "name": "wfm",
        "kind": "sql",
        "options": {
            "url": "env:WFM",
            "query": "select 1",
            "fields": {"offered": "calls_in"},
            "dimensions": {"team": "t"},
        },
    }
    csat = {
        "name": "survey",
        "kind": "sql",
        "options": {
            "url": "env:SURVEY",
            "query": "select 1",
            "fields": {"csat_responses": "n", "csat_satisfied": "top2"},
            "dimensions": {"channel": "c"},
        },
    }
    ok = Config.model_validate(
        {
            "sources": [wfm, csat],
            "rules": [{"kind": "threshold", "metric": "offered", "max": 9, "labels": {"team": "a"}}],
        }
    )
    assert ok.rules[0].labels == {"team": "a"}
    with pytest.raises(
        ValidationError, match=r"rule #1 \(.*\): metric 'abandonment_rate' has no label\(s\) queue; its labels: team"
    ):
        Config.model_validate(
            {
                "sources": [wfm, csat],
                "rules": [{"kind": "threshold", "metric": "abandonment_rate", "max": 0.1, "labels": {"queue": "vip"}}],
            }
        )
    with pytest.raises(ValidationError, match=r"metric 'csat' has no label\(s\) team; its labels: channel"):
        Config.model_validate(
            {"sources": [wfm, csat], "rules": [{"kind": "robust", "metric": "csat", "labels": {"team": "a"}}]}
        )
    # a Prometheus source keeping every label: only data can tell, so check lets the filter pass
    prom = {"name": "cc", "kind": "prometheus", "system": "prom", "options": {"queries": {"offered": "cc_offered"}}}
    open_labels = Config.model_validate(
        {"sources": [prom], "rules": [{"kind": "threshold", "metric": "offered", "max": 9, "labels": {"queue": "vip"}}]}
    )
    assert open_labels.rules[0].labels == {"queue": "vip"}


def test_the_built_in_kpis_are_metric_entries_a_user_could_write() -> None:
    """Each shipped KPI is a [[metrics]] entry: copied into config under another name and source, it
    gives the built-in KPI's values and volume guard, interval by interval."""
    import numpy as np

    from backroom.bots.metrics.kpis import KPI_METRICS, compute, definitions, kpi_metrics
    from backroom.bots.metrics.named import metric_grid
    from backroom.bots.metrics.series import build_grid

    counts = {
        "offered": 40,
        "answered_within_20s": 25,
        "abandoned": 6,
        "answered": 34,
        "handle_seconds": 9000,
        "fcr_resolved": 20,
        "staffed_seconds": 12000,
        "csat_responses": 10,
        "csat_satisfied": 7,
    }
    rows = [  # three rows per hour and queue, so per-interval sums matter, and a gap in the last hour
        _row(metric, {"queue": queue}, hour * 3600 + part * 1200, (value + hour * 7 + part) * scale, source="cc")
        for queue, scale in (("billing", 1.0), ("sales", 0.5))
        for hour in range(3)
        for part in range(3)
        for metric, value in counts.items()
        if not (hour == 2 and metric == "csat_responses")
    ]
    grid = build_grid(rows, T0, T0 + dt.timedelta(hours=3), 3600)
    shipped = definitions()
    assert [m.name for m in kpi_metrics()] == list(shipped) == [e["name"] for e in KPI_METRICS]
    for entry in kpi_metrics():
        kpi = shipped[entry.name]
        mine = MetricDef.model_validate(
            {**entry.model_dump(exclude_none=True), "name": f"my_{entry.name}", "source": "cc"}
        )
        own, _ = metric_grid(rows, mine, T0, 3600, 3)
        assert own.series == grid.series
        expected = compute(kpi, grid.sums)
        assert np.allclose(own.sums[mine.name], expected, equal_nan=True), entry.name
        assert np.allclose(own.sums[f"{mine.name}:volume"], grid.sums[kpi.volume], equal_nan=True), entry.name
    assert np.isnan(compute(shipped["csat"], grid.sums)[:, 2]).all()  # the gap stays a gap

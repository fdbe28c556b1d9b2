"""KPIs, value parsing, anomaly scoring and alert hygiene — the metrics bot's arithmetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import create_engine

from backroom.bots.metrics.alerts import AlertBook
from backroom.bots.metrics.anomaly import Rule, change_vs_lag, robust_scores
from backroom.bots.metrics.detect import detect
from backroom.bots.metrics.kpis import compute, definitions
from backroom.bots.metrics.series import build_grid
from backroom.bots.metrics.store import Sample, Store
from backroom.bots.systems.metric_sources.values import RowOptions, parse_number, parse_time, rows_to_samples

UTC = dt.UTC
SH = ZoneInfo("Asia/Shanghai")


def test_kpis_from_sums_with_configurable_service_level_threshold() -> None:
    kpis = definitions(30)
    sums = {
        "offered": np.array([100.0, 0.0]),
        "answered_within_30s": np.array([85.0, 0.0]),
        "abandoned": np.array([5.0, 0.0]),
        "answered": np.array([95.0, 0.0]),
        "handle_seconds": np.array([28500.0, 0.0]),
        "staffed_seconds": np.array([36000.0, 0.0]),
    }
    assert compute(kpis["service_level"], sums)[0] == pytest.approx(0.85)
    assert kpis["service_level"].numerator == "answered_within_30s"
    assert compute(kpis["abandonment_rate"], sums)[0] == pytest.approx(0.05)
    assert compute(kpis["aht"], sums)[0] == pytest.approx(300.0)
    assert compute(kpis["occupancy"], sums)[0] == pytest.approx(28500 / 36000)
    assert np.isnan(compute(kpis["aht"], sums)[1])  # no answered calls: undefined, not zero
    assert np.isnan(compute(kpis["csat"], sums)[0])  # metric missing: undefined
    assert kpis["fcr"].label == "首解率" and kpis["fcr"].format(0.725) == "72.5%"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12.0),
        ("1,234", 1234.0),
        ("72.5%", 0.725),
        ("１２", 12.0),
        ("N/A", None),
        ("—", None),
        ("", None),
        ("暂无", None),
        ("12abc", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_parse_number(raw: object, expected: float | None) -> None:
    assert parse_number(raw) == expected


def test_times_across_midnight_and_zones() -> None:
    assert parse_time("2026-11-24 00:15", SH) == dt.datetime(2026, 11, 23, 16, 15, tzinfo=UTC)
    assert parse_time("2026-11-24T00:15:00+08:00", ZoneInfo("UTC")) == dt.datetime(2026, 11, 23, 16, 15, tzinfo=UTC)
    assert parse_time("00:00", SH, date="2026-11-24") == dt.datetime(2026, 11, 23, 16, tzinfo=UTC)
    assert parse_time("2026/11/24 08:00", ZoneInfo("UTC")) == dt.datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_rows_to_samples_skips_bad_values_and_names_them() -> None:
    options = RowOptions(
        time_field="时段",
        minutes_field=None,
        interval_minutes=60,
        dimensions={"queue": "队列"},
        fields={"offered": "呼入量", "fcr_resolved": {"field": "首解率", "times": "呼入量"}},
    )
    rows = [
        {"时段": "2026-11-24 10:00", "队列": "一组", "呼入量": "200", "首解率": "75%"},
        {"时段": "2026-11-24 11:00", "队列": "一组", "呼入量": "N/A", "首解率": "80%"},
        {"时段": "not a time", "队列": "一组", "呼入量": "1", "首解率": "1%"},
    ]
    samples, issues = rows_to_samples(rows, options, SH, "source 'x'")
    assert [(s.metric, s.value) for s in samples] == [("offered", 200.0), ("fcr_resolved", 150.0)]
    assert len(issues) == 3  # offered N/A, the N/A that fcr is multiplied by, the unreadable time
    assert any("row 2" in i and "'呼入量'" in i and "'N/A'" in i for i in issues)
    assert any("row 3" in i and "unreadable" in i for i in issues)


def test_robust_score_ignores_weekly_peak_but_flags_spike() -> None:
    period, weeks = 7 * 24, 8
    hours = np.arange(period * 10)
    monday_peak = np.where((hours % period) == 10, 300.0, 100.0)  # a big peak every Monday 10:00
    rng = np.random.default_rng(3)
    x = (monday_peak + rng.normal(0, 5, hours.size))[None, :]
    x[0, -period + 50] += 80  # a real incident last week, Tuesday
    z, med, _ = robust_scores(x, period, weeks, min_mad=1.0)
    peak_index = period * 9 + 10
    assert abs(z[0, peak_index]) < 3.5 and med[0, peak_index] > 250
    assert z[0, -period + 50] > 8
    assert np.isnan(z[0, : period * 3]).all()  # not enough history yet


def test_change_vs_lag() -> None:
    ref, rel = change_vs_lag(np.array([[1.0, 2.0, 2.0, 6.0]]), 2)
    assert ref[0, 2] == 1.0
    assert np.isnan(rel[0, 0]) and rel[0, 2] == pytest.approx(1.0) and rel[0, 3] == pytest.approx(2.0)


def _grid_rows(offered: list[float], abandoned: list[float], start: dt.datetime) -> list[dict]:
    rows = []
    for i, (o, a) in enumerate(zip(offered, abandoned, strict=True)):
        t = start + dt.timedelta(hours=i)
        rows += [
            {"source": "s", "dims": '{"queue":"q"}', "interval_start": t, "metric": "offered", "value": o},
            {"source": "s", "dims": '{"queue":"q"}', "interval_start": t, "metric": "abandoned", "value": a},
        ]
    return rows


def test_minimum_volume_guard_stops_small_sample_panic() -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=UTC)
    n = 48
    offered = [100.0] * n
    abandoned = [4.0] * n
    offered[-1], abandoned[-1] = 2.0, 1.0  # one abandoned call of two: 50%
    offered[-2], abandoned[-2] = 100.0, 30.0  # a real 30% on a full hour
    grid = build_grid(_grid_rows(offered, abandoned, start), start, start + dt.timedelta(hours=n), 3600)
    rule = Rule(kind="threshold", kpi="abandonment_rate", max=0.12)
    findings, judged = detect(grid, [rule], definitions(), start + dt.timedelta(hours=n - 3), min_volume=20)
    assert len(findings) == 1 and findings[0].index == n - 2 and findings[0].value == pytest.approx(0.30)
    assert findings[0].extra["intervals"] == 1
    assert judged == {(rule.key, "s", '{"queue":"q"}')}


def test_alert_hygiene_new_ongoing_recovered(tmp_path: Path) -> None:
    book = AlertBook(create_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    now = dt.datetime(2026, 11, 24, tzinfo=UTC)
    judged = {("r", "s", "d")}
    first = book.reconcile({"r|s|d": {"text": "x"}}, judged, now)
    assert len(first.new) == 1
    # delivery failed: not marked announced, so still "new" next time
    assert len(book.reconcile({"r|s|d": {"text": "x"}}, judged, now).new) == 1
    book.mark_announced(["r|s|d"])
    assert len(book.reconcile({"r|s|d": {"text": "x"}}, judged, now).ongoing) == 1
    assert book.reconcile({}, set(), now).recovered == []  # not judged (no data): stays open
    done = book.reconcile({}, judged, now + dt.timedelta(hours=1))
    assert len(done.recovered) == 1 and done.recovered[0]["was_announced"]
    assert book.open_alerts() == {}
    assert len(book.reconcile({"r|s|d": {"text": "x"}}, judged, now).new) == 1  # it can come back


def test_store_replaces_intervals_and_keeps_utc(tmp_path: Path) -> None:
    store = Store(create_engine(f"sqlite:///{tmp_path / 's.db'}"))
    t0 = dt.datetime(2026, 11, 24, 0, 15, tzinfo=SH)
    pulled = dt.datetime(2026, 11, 24, 1, tzinfo=UTC)
    batch = [Sample("offered", '{"queue":"q"}', t0, 900, 10.0), Sample("offered", '{"queue":"q"}', t0, 900, 11.0)]
    assert store.replace("s", batch, pulled) == 1  # a duplicate row in one pull keeps the last
    store.replace("s", [Sample("offered", '{"queue":"q"}', t0, 900, 12.0)], pulled)
    rows = store.load(t0, t0 + dt.timedelta(minutes=15))
    assert len(rows) == 1 and rows[0]["value"] == 12.0
    assert rows[0]["interval_start"] == dt.datetime(2026, 11, 23, 16, 15, tzinfo=UTC)
    with pytest.raises(Exception, match="naive"):
        store.replace("s", [Sample("offered", "{}", dt.datetime(2026, 1, 1), 900, 1.0)], pulled)


def test_robust_scores_threads_give_the_same_answer() -> None:
    x = np.random.default_rng(9).poisson(30, (40, 7 * 24 * 6)).astype(float)
    x[3, 500] = np.nan
    one = robust_scores(x, 7 * 24, 4, min_mad=1.0, chunk=8, workers=1)
    two = robust_scores(x, 7 * 24, 4, min_mad=1.0, chunk=8, workers=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("weeks", [2, 3, 5, 8, 12])
def test_robust_median_and_mad_match_numpy(weeks: int) -> None:
    period = 24
    rng = np.random.default_rng(weeks)
    x = rng.poisson(20, (5, period * (weeks + 4))).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan  # gaps and guarded-out points
    _, med, mad = robust_scores(x, period, weeks, min_history=1, dtype=np.float64)
    lags = period * np.arange(1, weeks + 1)
    for s in range(x.shape[0]):
        for i in range(0, x.shape[1], 7):
            history = np.array([x[s, i - lag] for lag in lags if i - lag >= 0])
            history = history[~np.isnan(history)]
            if history.size == 0:
                assert np.isnan(med[s, i])
                continue
            expected = np.median(history)
            assert med[s, i] == expected
            assert mad[s, i] == np.median(np.abs(history - expected))

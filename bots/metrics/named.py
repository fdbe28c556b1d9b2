"""Named metrics: any pulled series, given a business name, an aggregation and a unit.

The built-in contact-centre KPIs (:mod:`bots.metrics.kpis`) cover call-centre counts; a metrics
desk also watches CPU load, memory, error rates. A ``[[bots.metrics.config.metrics]]`` entry names
one stored series of one source, and from then on rules, the digest and the workbook treat it like
a KPI::

    [[bots.metrics.config.metrics]]
    name = "cpu_busy"                 # what rules say: metric = "cpu_busy"
    label = "CPU 繁忙度"               # what people read
    source = "node"                   # a [[bots.metrics.config.sources]] name
    series = "cpu_rate"               # the metric that source stores (a Prometheus query's key)
    aggregation = "avg"               # per interval: last, avg, min, max, sum, rate, p95
    by = ["cpu"]                      # labels kept; the others are combined (combine = "sum")
    labels = { mode = "user" }        # only series with these label values
    unit = "ratio"

A metric may instead be *derived*, the way the KPIs are: ``numerator`` / ``denominator`` name two
stored series whose per-interval sums are divided (``abandoned`` / ``offered`` is the abandonment
rate), so a share is never an average of shares.

Aggregation happens in two explicit steps, like PromQL's ``sum by (...)``: series that share the
kept labels are first combined at each instant (``combine``), then the instants of one interval are
reduced by ``aggregation``. Without ``by`` every label is kept — nothing is merged unless asked.
``rate`` (a counter's increase per second, resets counted from zero) needs at least two points in an
interval: pull the counter more finely than the judging grid, or let PromQL's ``rate()`` do it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backroom.bots.metrics.kpis import Kpi
from backroom.bots.systems.metric_sources.base import dims_key

if TYPE_CHECKING:
    import numpy as np

    from backroom.bots.metrics.series import Grid

__all__ = ["AGGREGATIONS", "MetricDef", "NamedFigure", "aggregate", "as_kpi", "day_figures", "metric_grid", "reduce"]

AGGREGATIONS = ("last", "avg", "min", "max", "sum", "rate", "p95")


class MetricDef(BaseModel):
    """One entry of ``[[bots.metrics.config.metrics]]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
    label: str = Field(min_length=1, max_length=40, description="business name shown to people")
    source: str
    series: str | None = None  # stored metric name; default: ``name``
    numerator: str | None = None  # derived: sum(numerator) / sum(denominator) per interval
    denominator: str | None = None
    aggregation: Literal["last", "avg", "min", "max", "sum", "rate", "p95"] = "avg"
    by: list[str] | None = None  # labels kept; None keeps every label
    combine: Literal["sum", "avg", "min", "max"] = "sum"  # series folded together by ``by``
    labels: dict[str, str] = Field(default_factory=dict)  # only series with these label values
    unit: Literal["count", "ratio", "seconds", "number", "percent"] = "number"
    higher_is_better: bool = False  # which way is "bad" for change and robust rules
    # derived metrics: an interval whose denominator sum is below this is not judged (like the KPIs'
    # min_volume: one abandoned call of two is not a 50% panic); rules may override it
    min_volume: float | None = Field(default=None, ge=0)
    # the count that guard looks at, when not the denominator (the KPIs: occupancy is judged by calls
    # answered, not by staffed seconds; the call count ``offered`` by itself)
    volume: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> MetricDef:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError(f"metric {self.name!r}: 'numerator' and 'denominator' go together")
        if self.numerator and self.series:
            raise ValueError(f"metric {self.name!r}: either 'series' or 'numerator'/'denominator', not both")
        if self.min_volume is not None and not (self.denominator or self.volume):
            raise ValueError(f"metric {self.name!r}: min_volume applies to derived metrics (numerator/denominator)")
        return self

    @property
    def stored(self) -> list[str]:
        """The stored metric names this metric reads."""
        if self.numerator and self.denominator:
            names = [self.numerator, self.denominator]
        else:
            names = [self.series or self.name]
        return [*names, self.volume] if self.volume and self.volume not in names else names

    def labels_known(self) -> list[str] | None:
        """Labels a rule may filter on, when config alone says (``by``); None when only data can tell."""
        return list(self.by) if self.by is not None else None


def as_kpi(metric: MetricDef) -> Kpi:
    """The metric in the shape anomaly rules and formatting take. A derived metric is guarded by
    its denominator's volume (``<name>:volume`` in its grid); a plain series is judged wherever it has a value."""
    derived = bool(metric.denominator or metric.volume)
    return Kpi(
        name=metric.name,
        label=metric.label,
        numerator=metric.name,
        denominator="",
        unit=metric.unit,
        higher_is_better=metric.higher_is_better,
        volume=f"{metric.name}:volume" if derived else "",
        guarded=derived,
    )


def metric_grid(
    rows: Sequence[Mapping[str, Any]], metric: MetricDef, start: dt.datetime, step_s: int, n: int
) -> tuple[Grid, Kpi]:
    """The metric on its own grid, ready for :func:`~backroom.bots.metrics.detect.detect`."""
    import numpy as np

    from backroom.bots.metrics.series import Grid

    keys, values = aggregate(rows, metric, start, step_s, n)
    sums = {metric.name: values}
    guard = metric.volume or metric.denominator
    if guard:
        buckets = _buckets(rows, metric, guard, start, step_s, n)
        volume = np.full(values.shape, np.nan)
        where = {k: i for i, (_s, k) in enumerate(keys)}
        for (key, index), points in buckets.items():
            if key in where:
                volume[where[key], index] = sum(v for _, v in points)
        sums[f"{metric.name}:volume"] = volume
    return Grid(start=start, step_s=step_s, n=n, series=keys, sums=sums), as_kpi(metric)


def reduce(points: Sequence[tuple[float, float]], how: str) -> float:
    """One interval's value from its (timestamp, value) points, by the declared aggregation."""
    if not points:
        return math.nan
    ordered = sorted(points)
    values = [v for _, v in ordered]
    if how == "last":
        return values[-1]
    if how == "avg":
        return sum(values) / len(values)
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    if how == "sum":
        return sum(values)
    if how == "p95":
        import numpy as np

        return float(np.percentile(values, 95))
    # rate: a counter's increase per second across the interval; a drop is a reset, counted from 0
    if len(ordered) < 2:
        return math.nan
    increase = sum(b - a if b >= a else b for a, b in itertools.pairwise(values))
    span = ordered[-1][0] - ordered[0][0]
    return increase / span if span > 0 else math.nan


def _fold(values: list[float], how: str) -> float:
    if how == "sum":
        return sum(values)
    if how == "avg":
        return sum(values) / len(values)
    return min(values) if how == "min" else max(values)


def _matches(dims: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(dims.get(k) == v for k, v in wanted.items())


def _buckets(
    rows: Iterable[Mapping[str, Any]], metric: MetricDef, stored: str, start: dt.datetime, step_s: int, n: int
) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """(kept dims, interval index) -> (timestamp, value) points, series folded by ``by`` per instant."""
    base = start.timestamp()
    instants: dict[tuple[str, int, float], list[float]] = defaultdict(list)
    for r in rows:
        if r["source"] != metric.source or r["metric"] != stored:
            continue
        dims = json.loads(r["dims"])
        if not _matches(dims, metric.labels):
            continue
        ts = r["interval_start"].timestamp()
        index = int((ts - base) // step_s)
        if not 0 <= index < n:
            continue
        kept = dims if metric.by is None else {k: dims.get(k, "") for k in metric.by}
        instants[(dims_key(kept), index, ts)].append(float(r["value"]))
    out: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for (key, index, ts), values in instants.items():
        out[(key, index)].append((ts, _fold(values, metric.combine)))
    return out


def aggregate(
    rows: Sequence[Mapping[str, Any]], metric: MetricDef, start: dt.datetime, step_s: int, n: int
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The metric on a grid of ``n`` intervals from ``start``: (series keys, values series × n)."""
    import numpy as np

    if metric.numerator and metric.denominator:
        num = _buckets(rows, metric, metric.numerator, start, step_s, n)
        den = _buckets(rows, metric, metric.denominator, start, step_s, n)
        keys = sorted({k for k, _ in num} | {k for k, _ in den})
        values = np.full((len(keys), n), np.nan)
        where = {k: i for i, k in enumerate(keys)}
        for (key, index), points in den.items():
            d = sum(v for _, v in points)
            top = num.get((key, index))
            if top and d > 0:
                values[where[key], index] = sum(v for _, v in top) / d
        return [(metric.source, k) for k in keys], values
    buckets = _buckets(rows, metric, metric.stored[0], start, step_s, n)
    keys = sorted({k for k, _ in buckets})
    where = {k: i for i, k in enumerate(keys)}
    values = np.full((len(keys), n), np.nan)
    for (key, index), points in buckets.items():
        values[where[key], index] = reduce(points, metric.aggregation)
    return [(metric.source, k) for k in keys], values


@dataclass
class NamedFigure:
    """One series of one named metric over a report day, with the day before for comparison."""

    metric: MetricDef
    where: str
    value: float
    yesterday: float | None

    def delta(self) -> str:
        if self.yesterday is None:
            return "—"
        diff = self.value - self.yesterday
        if self.metric.unit == "ratio":
            return f"{diff * 100:+.1f}个百分点"
        return ("+" if diff >= 0 else "-") + as_kpi(self.metric).format(abs(diff))


def day_figures(
    rows: Sequence[Mapping[str, Any]], metrics: Sequence[MetricDef], day: dt.date, tz: dt.tzinfo
) -> tuple[list[NamedFigure], list[MetricDef]]:
    """Each named metric's value per series for the local ``day`` (its declared aggregation over the
    whole day), and the metrics that have no value at all that day — those the digest lists as missing."""
    import numpy as np

    from backroom.bots.metrics.daily import where_label

    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), tz)
    figures: list[NamedFigure] = []
    missing: list[MetricDef] = []
    for metric in metrics:
        keys, values = aggregate(rows, metric, start, 86400, 2)
        found = False
        for i, (_source, dims) in enumerate(keys):
            today, before = values[i, 1], values[i, 0]
            if np.isnan(today):
                continue
            found = True
            figures.append(
                NamedFigure(metric, where_label(dims), float(today), None if np.isnan(before) else float(before))
            )
        if not found:
            missing.append(metric)
    return figures, missing

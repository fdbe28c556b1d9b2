"""Stored samples laid out as KPI series on a regular grid: (series × time) numpy arrays.

A *series* is one source and one dimension set (``cc_api`` / ``{"queue":"billing"}``); series from
different sources are never added together, because two sources describing the same queue would
double-count. Raw sums are bucketed to the grid's resolution (60 minutes by default) before KPIs are
formed, which is both the statistically sound order and what the minimum-volume guard needs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backroom.bots.metrics.kpis import Kpi, compute

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Grid", "build_grid", "floor_time"]


def floor_time(moment: dt.datetime, step_s: int) -> dt.datetime:
    """``moment`` rounded down to a multiple of ``step_s`` seconds since the Unix epoch (UTC)."""
    ts = moment.astimezone(dt.UTC).timestamp()
    return dt.datetime.fromtimestamp(ts - ts % step_s, dt.UTC)


@dataclass
class Grid:
    start: dt.datetime  # UTC, aligned to step
    step_s: int
    n: int
    series: list[tuple[str, str]]  # (source, dims key)
    sums: dict[str, np.ndarray]  # metric -> (series × n), NaN where no value was stored

    def time(self, index: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.step_s * index)

    def index(self, moment: dt.datetime) -> int:
        return int((moment.astimezone(dt.UTC) - self.start).total_seconds() // self.step_s)

    def kpi(self, kpi: Kpi) -> np.ndarray:
        return compute(kpi, self.sums)

    def volume(self, kpi: Kpi) -> np.ndarray:
        import numpy as np

        return self.sums.get(kpi.volume, np.full((len(self.series), self.n), np.nan))

    def dims(self, i: int) -> dict[str, str]:
        return json.loads(self.series[i][1])


def build_grid(rows: Sequence[Mapping[str, Any]], start: dt.datetime, end: dt.datetime, step_s: int) -> Grid:
    """Bucket store rows (source, metric, dims, interval_start, value) into a grid over [start, end)."""
    import numpy as np

    start = floor_time(start, step_s)
    n = max(0, int(np.ceil((end - start).total_seconds() / step_s)))
    keys = sorted({(r["source"], r["dims"]) for r in rows})
    where = {k: i for i, k in enumerate(keys)}
    metrics = sorted({r["metric"] for r in rows})
    sums: dict[str, np.ndarray] = {}
    if rows:
        base = start.timestamp()
        series_idx = np.fromiter((where[(r["source"], r["dims"])] for r in rows), dtype=np.int64, count=len(rows))
        time_idx = np.fromiter(
            ((r["interval_start"].timestamp() - base) // step_s for r in rows), dtype=np.int64, count=len(rows)
        )
        values = np.fromiter((r["value"] for r in rows), dtype=float, count=len(rows))
        metric_of = np.array([r["metric"] for r in rows])
        inside = (time_idx >= 0) & (time_idx < n)
        for metric in metrics:
            pick = inside & (metric_of == metric)
            acc = np.zeros((len(keys), n))
            seen = np.zeros((len(keys), n), dtype=bool)
            np.add.at(acc, (series_idx[pick], time_idx[pick]), values[pick])
            seen[series_idx[pick], time_idx[pick]] = True
            acc[~seen] = np.nan
            sums[metric] = acc
    return Grid(start=start, step_s=step_s, n=n, series=keys, sums=sums)

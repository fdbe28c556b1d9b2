"""Day-level figures for the report: sums per local day, KPIs per queue and per source."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backroom.bots.metrics.kpis import Kpi

__all__ = ["DayFigures", "daily_sums", "kpi_value", "summarise"]

ALL = "全部"


def daily_sums(rows: Iterable[Mapping[str, Any]], tz: dt.tzinfo) -> dict[tuple[str, str, dt.date], dict[str, float]]:
    """(source, dims or 全部, local date) -> metric -> sum. "全部" adds every dims of a source."""
    out: dict[tuple[str, str, dt.date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        day = r["interval_start"].astimezone(tz).date()
        out[(r["source"], r["dims"], day)][r["metric"]] += r["value"]
        out[(r["source"], ALL, day)][r["metric"]] += r["value"]
    return out


def kpi_value(kpi: Kpi, sums: Mapping[str, float] | None) -> float | None:
    if not sums:
        return None
    num = sums.get(kpi.numerator)
    if num is None:
        return None
    if not kpi.denominator:
        return num
    den = sums.get(kpi.denominator)
    return num / den if den else None


def where_label(dims: str) -> str:
    """A series' dimensions for people: the queue's name alone, other labels as ``cpu=0 mode=user``."""
    if dims == ALL:
        return ALL
    labels = {k: v for k, v in json.loads(dims).items() if v != ""}
    if set(labels) <= {"queue"}:
        return "/".join(str(v) for v in labels.values()) or ALL
    return " ".join(f"{k}={v}" for k, v in labels.items())


@dataclass
class DayFigures:
    source: str
    where: str
    kpi: Kpi
    value: float | None
    target: float | None
    yesterday: float | None
    last_week: float | None

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.kpi.higher_is_better else self.value <= self.target

    def delta(self, other: float | None) -> str:
        if self.value is None or other is None or (isinstance(other, float) and math.isnan(other)):
            return "—"
        diff = self.value - other
        if self.kpi.unit == "ratio":
            return f"{diff * 100:+.1f}个百分点"
        return f"{diff:+,.0f}"


def summarise(
    sums: Mapping[tuple[str, str, dt.date], Mapping[str, float]],
    day: dt.date,
    kpis: Sequence[Kpi],
    targets: Mapping[str, float],
) -> list[DayFigures]:
    """Figures for ``day`` per (source, where), with the same day a day and a week before."""
    # a series without labels is the source's total: listing it beside 全部 would say everything twice
    keys = sorted(
        {(s, d) for (s, d, k) in sums if k == day and (d == ALL or where_label(d) != ALL)},
        key=lambda k: (k[0], k[1] != ALL, k[1]),
    )
    out = []
    for source, dims in keys:
        for kpi in kpis:
            out.append(
                DayFigures(
                    source=source,
                    where=where_label(dims),
                    kpi=kpi,
                    value=kpi_value(kpi, sums.get((source, dims, day))),
                    target=targets.get(kpi.name),
                    yesterday=kpi_value(kpi, sums.get((source, dims, day - dt.timedelta(days=1)))),
                    last_week=kpi_value(kpi, sums.get((source, dims, day - dt.timedelta(days=7)))),
                )
            )
    return out

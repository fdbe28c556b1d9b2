"""Anomaly rules over KPI series on a regular time grid, vectorised with numpy.

Four ideas, each a rule kind in config:

* ``threshold`` — the KPI is above ``max`` or below ``min`` (a service-level floor, an abandonment
  ceiling);
* ``change`` — the KPI moved by more than ``min_change`` (relative) *and* ``min_abs`` (absolute)
  compared with the same interval yesterday or last week;
* ``robust`` — a robust z-score against the same slot of the week over the last ``weeks`` weeks:
  ``z = 0.6745 · (x − median) / MAD``. Comparing Monday 10:00 only with earlier Mondays at 10:00
  is what keeps the Monday-morning peak from being an alarm; median and MAD (rather than mean and
  standard deviation) keep one past incident from hiding the next. ``min_mad`` floors the MAD so
  a perfectly flat history does not make every wiggle infinite;
* a **minimum-volume guard** on every rule: an interval whose volume (offered calls, answered
  calls, survey responses — whatever the KPI is a share of) is below ``min_volume`` is not
  judged, and history intervals below it are left out of the median, so one abandoned call of two
  is not a 50% panic.

Every rule looks only in the bad direction by default (abandonment up, service level down);
``direction = "both"`` looks both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Finding", "Rule", "change_vs_lag", "robust_scores"]


class Rule(BaseModel):
    """One anomaly rule from ``[[bots.metrics.config.rules]]``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["threshold", "change", "robust"]
    kpi: str  # a built-in KPI or a named metric (``metric = ...`` is the same field)
    id: str | None = None  # stable name for alert hygiene; derived from the rule when omitted
    min: float | None = None  # threshold: lower bound
    max: float | None = None  # threshold: upper bound
    compare: Literal["yesterday", "last_week"] = "last_week"  # change rules
    min_change: float = Field(default=0.5, gt=0, description="relative change, 0.5 = ±50%")
    min_abs: float = Field(default=0.0, ge=0, description="and at least this absolute difference")
    z: float = Field(default=3.5, gt=0)  # robust rules
    weeks: int = Field(default=8, ge=2, le=52)
    min_history: int = Field(default=3, ge=1, description="weeks of usable history needed to judge")
    min_mad: float | None = Field(default=None, ge=0, description="floor of the MAD (KPI units)")
    min_volume: float | None = Field(default=None, ge=0, description="overrides the config's min_volume")
    direction: Literal["bad", "both"] = "bad"
    queues: list[str] = Field(default_factory=list, description="only these queues (empty = all)")
    labels: dict[str, str] = Field(default_factory=dict, description="only series with these label values")

    @model_validator(mode="before")
    @classmethod
    def _metric_alias(cls, data: object) -> object:
        """``metric = "cpu_busy"`` reads better than ``kpi`` for a named metric; both mean the same."""
        if isinstance(data, dict) and "metric" in data:
            data = dict(data)
            metric = data.pop("metric")
            if "kpi" in data and data["kpi"] != metric:
                raise ValueError(f"rule names both kpi {data['kpi']!r} and metric {metric!r}; give one")
            data["kpi"] = metric
        return data

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.kind == "threshold" and self.min is None and self.max is None:
            raise ValueError(f"threshold rule on {self.kpi!r} needs 'min' or 'max'")
        return self

    @property
    def key(self) -> str:
        if self.id:
            return self.id
        if self.kind == "threshold":
            return f"threshold:{self.kpi}:{self.min}:{self.max}"
        if self.kind == "change":
            return f"change:{self.kpi}:{self.compare}"
        return f"robust:{self.kpi}"


@dataclass
class Finding:
    """One anomalous interval of one series under one rule, with everything a message needs."""

    rule: str
    kind: str
    kpi: str
    source: str
    dims: str
    index: int  # position on the grid
    value: float
    reference: float  # the threshold, the lagged value, or the median
    score: float  # how far: z, relative change, or distance past the threshold
    compared_with: str
    extra: dict[str, float] = field(default_factory=dict)


def robust_scores(
    values: np.ndarray,
    period: int,
    weeks: int,
    *,
    min_mad: float = 0.0,
    min_history: int = 3,
    chunk: int = 64,
    dtype: type | None = None,
    noise: Literal["none", "poisson", "binomial"] = "none",
    volume: np.ndarray | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust z-scores of ``values`` (series × time) against the same slot ``period`` apart.

    For each point the history is the values 1..``weeks`` periods earlier (NaN = missing or
    guarded out). Returns (z, median, mad); z is NaN where fewer than ``min_history`` history
    points exist. Work is done ``chunk`` series at a time to bound memory, on ``workers``
    threads (default: the CPU count, at most 4) — numpy releases the GIL in its array loops.

    ``noise`` adds a sampling-noise floor to the MAD, so eight quiet weeks do not make ordinary
    counting noise look extreme: ``poisson`` for counts (σ ≈ √median), ``binomial`` for shares of
    ``volume`` (σ ≈ √(p(1−p)/n)); the floor is 0.6745·σ, the MAD of a normal with that σ.
    """
    import os

    import numpy as np

    dtype = dtype or np.float32  # float32 halves memory and time; callers may ask float64
    workers = workers or min(4, os.cpu_count() or 1)
    x_all = np.asarray(values, dtype=dtype)
    n_series, n = x_all.shape
    z_out = np.full((n_series, n), np.nan, dtype=dtype)
    med_out = np.full((n_series, n), np.nan, dtype=dtype)
    mad_out = np.full((n_series, n), np.nan, dtype=dtype)

    def one(lo: int) -> None:
        x = x_all[lo : lo + chunk]
        # the history of every point as `weeks` shifted copies (missing = +inf, sorting last)
        cols = []
        for k in range(1, weeks + 1):
            col = np.full(x.shape, np.inf, dtype=dtype)
            lag = k * period
            if lag < n:
                col[:, lag:] = x[:, : n - lag]
            np.copyto(col, np.inf, where=np.isnan(col))
            cols.append(col)
        count = sum((c != np.inf).astype(np.int8) for c in cols)
        med = _median_network(cols, count)
        for c in cols:  # deviations from the median, missing stays +inf
            np.subtract(c, med, out=c)
            np.abs(c, out=c)
        mad = _median_network(cols, count)
        floor = np.maximum(mad, dtype(min_mad)) if min_mad else mad
        if noise == "poisson":
            floor = np.maximum(floor, dtype(0.6745) * np.sqrt(np.abs(np.nan_to_num(med))))
        elif noise == "binomial" and volume is not None:
            p = np.clip(np.nan_to_num(med), 0, 1)
            n_vol = np.maximum(np.nan_to_num(np.asarray(volume[lo : lo + chunk], dtype=dtype)), 1)
            floor = np.maximum(floor, dtype(0.6745) * np.sqrt(p * (1 - p) / n_vol))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = dtype(0.6745) * (x - med) / floor
            z = np.where(floor > 0, z, np.where(x == med, 0.0, np.sign(x - med) * np.inf))
        z[count < min_history] = np.nan
        z_out[lo : lo + chunk] = z
        med_out[lo : lo + chunk] = med
        mad_out[lo : lo + chunk] = mad

    starts = range(0, n_series, chunk)
    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, starts))
    else:
        for lo in starts:
            one(lo)
    return z_out, med_out, mad_out


def _network(n: int) -> list[tuple[int, int]]:
    """Comparator pairs of Batcher's odd-even merge sort for ``n`` inputs (padded to a power of 2)."""
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return [(a, b) for a, b in pairs if a < n and b < n] if size == n else pairs


def _median_network(cols: list[np.ndarray], count: np.ndarray) -> np.ndarray:
    """Median of the finite values among ``cols`` at every position; +inf marks a missing value.

    The columns are sorted *across* with a sorting network of elementwise min/max — a few dozen
    whole-array operations, far faster than sorting millions of 8-value rows — then each point
    takes the middle of its ``count`` finite values.
    """
    import numpy as np

    n = len(cols)
    work = [c.copy() for c in cols]  # the network swaps buffers; the caller's arrays stay as given
    size = 1
    while size < n:
        size *= 2
    work += [np.full_like(cols[0], np.inf) for _ in range(size - n)]
    low = np.empty_like(cols[0])
    for a, b in _network(size):
        np.minimum(work[a], work[b], out=low)
        np.maximum(work[a], work[b], out=work[b])
        work[a], low = low, work[a]
    med = np.full(cols[0].shape, np.nan, dtype=cols[0].dtype)
    for c in range(1, n + 1):
        where = count == c
        if where.any():
            med[where] = (work[(c - 1) // 2][where] + work[c // 2][where]) / 2
    return med


def change_vs_lag(values: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """(reference, relative change) of each point against the point ``lag`` steps earlier."""
    import numpy as np

    ref = np.full_like(values, np.nan, dtype=float)
    if lag < values.shape[-1]:
        ref[..., lag:] = values[..., :-lag]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(ref != 0, (values - ref) / np.abs(ref), np.where(values == ref, 0.0, np.inf))
    rel = np.where(np.isnan(ref) | np.isnan(values), np.nan, rel)
    return ref, rel

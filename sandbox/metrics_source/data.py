"""The figures: a pure function of ``(seed, queue, interval)``, shaped like a real contact centre's day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["DASHBOARD_COLUMNS", "FIELDS", "LOCAL", "PROM_METRICS", "QUEUES", "Anomaly", "Glitches", "MetricsData"]

LOCAL = ZoneInfo("Asia/Shanghai")
QUEUES: dict[str, float] = {"billing": 60.0, "tech": 40.0, "vip": 12.0}  # offered per 15 min at peak
FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "answered_within_20s",
    "answered_within_30s",
    "handle_seconds",
    "aht_seconds",
    "fcr_resolved",
    "csat_responses",
    "csat_satisfied",
    "staffed_seconds",
)
#: Prometheus gauge name -> field.
PROM_METRICS = {
    "cc_calls_offered": "offered",
    "cc_calls_answered": "answered",
    "cc_calls_abandoned": "abandoned",
    "cc_calls_answered_within_20s": "answered_within_20s",
    "cc_calls_answered_within_30s": "answered_within_30s",
    "cc_handle_seconds": "handle_seconds",
    "cc_aht_seconds": "aht_seconds",
    "cc_fcr_resolved": "fcr_resolved",
    "cc_csat_responses": "csat_responses",
    "cc_csat_satisfied": "csat_satisfied",
    "cc_staffed_seconds": "staffed_seconds",
}
#: Dashboard headers (normal layout) -> field; percentages are shown for the two rates.
DASHBOARD_COLUMNS = {
    "队列": "queue",
    "时段": "hour",
    "呼入量": "offered",
    "接通量": "answered",
    "放弃量": "abandoned",
    "20秒内接通": "answered_within_20s",
    "平均处理时长(秒)": "aht_seconds",
    "首解率": "fcr_rate",
    "满意度": "csat_rate",
}
_RENAMED = {"放弃量": "放弃数", "首解率": "一次解决率"}  # layout_variant = 1

# Share of the day's peak volume by local hour: quiet night, 10:00 peak, lunch dip, 15:00 peak.
_HOURLY = np.array(
    [0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.08, 0.25, 0.6, 0.9, 1.0, 0.95,
     0.7, 0.75, 0.9, 0.95, 0.85, 0.7, 0.55, 0.45, 0.4, 0.3, 0.18, 0.1]
)  # fmt: skip
_WEEKDAY = np.array([1.25, 1.1, 1.0, 1.0, 0.95, 0.6, 0.5])  # Monday first
_EPOCH = dt.datetime(2020, 1, 6, tzinfo=dt.UTC)  # a Monday, the origin of interval numbers


@dataclass
class Anomaly:
    """An injected incident: ``kind`` scales one behaviour of ``queue`` during [start, end).

    kinds: ``abandon`` (abandonment probability × factor), ``volume`` (offered × factor),
    ``aht`` (handle time × factor), ``csat`` (satisfied share × factor), ``outage`` (no rows).
    """

    queue: str
    start: dt.datetime
    end: dt.datetime
    kind: str = "abandon"
    factor: float = 3.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Anomaly:
        values = dict(data)
        for key in ("start", "end"):
            if isinstance(values[key], str):
                values[key] = dt.datetime.fromisoformat(values[key])
        return cls(**values)


def _hash_uniform(seed: int, queue_index: int, slots: np.ndarray, stream: int) -> np.ndarray:
    """Counter-based uniforms in (0, 1): splitmix64 of (seed, queue, slot, stream). Vectorised."""
    with np.errstate(over="ignore"):
        x = slots.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((seed * 1_000_003 + queue_index * 7919 + stream * 104_729) & 0xFFFFFFFFFFFFFFFF)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53) + 0.5 / float(1 << 53)


def _normal(seed: int, qi: int, slots: np.ndarray, stream: int) -> np.ndarray:
    u1 = _hash_uniform(seed, qi, slots, stream)
    u2 = _hash_uniform(seed, qi, slots, stream + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)


@dataclass
class MetricsData:
    """The generator: 15-minute figures per queue as a pure function of the seed."""

    seed: int = 7
    queues: dict[str, float] = field(default_factory=lambda: dict(QUEUES))
    anomalies: list[Anomaly] = field(default_factory=list)

    def quarter_rows(self, queue: str, start: dt.datetime, end: dt.datetime) -> dict[str, np.ndarray]:
        """Arrays of every field for the 15-minute intervals of ``queue`` starting in [start, end)."""
        if queue not in self.queues:
            raise KeyError(queue)
        qi = list(self.queues).index(queue)
        first = int(np.ceil((start - _EPOCH).total_seconds() / 900))
        last = int(np.ceil((end - _EPOCH).total_seconds() / 900))
        slots = np.arange(first, max(first, last), dtype=np.int64)
        starts_utc = _EPOCH.timestamp() + slots * 900.0
        local = starts_utc + 8 * 3600  # Asia/Shanghai has no DST
        hour = ((local // 3600) % 24).astype(int)
        weekday = (((local // 86400) + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
        level = self.queues[queue] * _HOURLY[hour] * _WEEKDAY[weekday]
        vol_f = np.ones_like(level)
        ab_f = np.ones_like(level)
        aht_f = np.ones_like(level)
        csat_f = np.ones_like(level)
        keep = np.ones(level.shape, dtype=bool)
        for anomaly in self.anomalies:
            if anomaly.queue != queue:
                continue
            hit = (starts_utc >= anomaly.start.timestamp()) & (starts_utc < anomaly.end.timestamp())
            target = {"volume": vol_f, "abandon": ab_f, "aht": aht_f, "csat": csat_f}.get(anomaly.kind)
            if anomaly.kind == "outage":
                keep &= ~hit
            elif target is not None:
                target[hit] *= anomaly.factor
        lam = level * vol_f
        offered = np.maximum(0, np.rint(lam + np.sqrt(lam) * _normal(self.seed, qi, slots, 1)))
        p_ab = np.clip((0.035 + 0.02 * _hash_uniform(self.seed, qi, slots, 3)) * ab_f, 0, 0.95)
        abandoned = np.minimum(offered, np.rint(offered * p_ab + 0.3 * _normal(self.seed, qi, slots, 4)).clip(0))
        answered = offered - abandoned
        sl = np.clip(0.84 + 0.05 * _normal(self.seed, qi, slots, 6) - 2.0 * (p_ab - 0.045), 0.2, 1.0)
        within20 = np.minimum(answered, np.rint(answered * sl))
        within30 = np.minimum(answered, within20 + np.rint((answered - within20) * 0.5))
        aht = np.clip((280.0 + 20 * qi + 25 * _normal(self.seed, qi, slots, 8)) * aht_f, 60, 3600)
        handle = np.rint(answered * aht)
        occupancy = np.clip(0.82 + 0.04 * _normal(self.seed, qi, slots, 10), 0.6, 0.95)
        staffed = np.maximum(2 * 900.0, np.rint(handle / occupancy))
        fcr = np.rint(answered * np.clip(0.74 + 0.05 * _normal(self.seed, qi, slots, 12), 0.3, 1.0))
        responses = np.rint(answered * 0.3)
        sat_share = np.clip((0.87 + 0.04 * _normal(self.seed, qi, slots, 14)) * csat_f, 0.0, 1.0)
        satisfied = np.minimum(responses, np.rint(responses * sat_share))
        aht_shown = np.where(answered > 0, np.round(handle / np.maximum(answered, 1), 1), 0.0)
        out = {
            "slot": slots,
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "answered_within_20s": within20,
            "answered_within_30s": within30,
            "handle_seconds": handle,
            "aht_seconds": aht_shown,
            "fcr_resolved": fcr,
            "csat_responses": responses,
            "csat_satisfied": satisfied,
            "staffed_seconds": staffed,
        }
        return {k: v[keep] for k, v in out.items()}

    def rows(self, queue: str, start: dt.datetime, end: dt.datetime, minutes: int = 15) -> list[dict[str, Any]]:
        """Rows of ``minutes``-long intervals (15, 30 or 60) in [start, end), sums over quarters."""
        if minutes not in (15, 30, 60):
            raise ValueError("interval must be 15, 30 or 60 minutes")
        per = minutes // 15
        start = _floor(start, minutes)
        data = self.quarter_rows(queue, start, end)
        groups: dict[int, dict[str, float]] = {}
        for i, slot in enumerate(data["slot"].tolist()):
            group = slot - slot % per
            acc = groups.setdefault(group, dict.fromkeys(FIELDS, 0.0))
            for name in FIELDS:
                if name != "aht_seconds":
                    acc[name] += float(data[name][i])
        out = []
        for group, acc in sorted(groups.items()):
            begin = _EPOCH + dt.timedelta(minutes=15 * group)
            if begin + dt.timedelta(minutes=minutes) > end:
                continue  # an interval is served only once it is complete
            acc["aht_seconds"] = round(acc["handle_seconds"] / acc["answered"], 1) if acc["answered"] else 0.0
            row: dict[str, Any] = {
                "queue": queue,
                "interval_start": begin.astimezone(LOCAL).isoformat(),
                "interval_minutes": minutes,
            }
            row.update({k: (v if k == "aht_seconds" else int(v)) for k, v in acc.items()})
            out.append(row)
        return out


def _floor(moment: dt.datetime, minutes: int) -> dt.datetime:
    seconds = (moment - _EPOCH).total_seconds()
    return _EPOCH + dt.timedelta(seconds=(seconds // (minutes * 60)) * minutes * 60)


@dataclass
class Glitches:
    non_numeric_every: int = 0
    duplicate_rows: bool = False

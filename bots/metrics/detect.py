"""Applying the configured anomaly rules to a :class:`~bots.metrics.series.Grid`.

Only intervals from ``since`` on are judged (the evaluation window); everything before it is
history for the lagged and robust comparisons. Each rule yields at most one finding per series and
rule: the worst interval in the window, with the number of anomalous intervals alongside.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from backroom.bots.metrics.anomaly import Finding, Rule, change_vs_lag, robust_scores
from backroom.bots.metrics.kpis import Kpi
from backroom.bots.metrics.series import Grid

__all__ = ["describe", "detect"]

_DEFAULT_MAD = {"ratio": 0.01, "seconds": 5.0, "count": 2.0, "number": 0.01, "percent": 1.0}


def detect(
    grid: Grid,
    rules: Sequence[Rule],
    kpis: Mapping[str, Kpi],
    since: dt.datetime,
    *,
    min_volume: float = 20.0,
) -> tuple[list[Finding], set[tuple[str, str, str]]]:
    """Findings, and the (rule key, source, dims) triples that had at least one judged interval."""
    import numpy as np

    findings: list[Finding] = []
    judged: set[tuple[str, str, str]] = set()
    first = max(0, grid.index(since))
    if grid.n == 0 or first >= grid.n or not grid.series:
        return findings, judged
    per_day = 86400 // grid.step_s
    per_week = 7 * per_day
    for rule in rules:
        kpi = kpis.get(rule.kpi)
        if kpi is None:
            continue
        values = grid.kpi(kpi)
        volume = grid.volume(kpi)
        guard = rule.min_volume if rule.min_volume is not None else min_volume
        ok = ~np.isnan(values) & (np.nan_to_num(volume, nan=0.0) >= guard)
        if kpi.unit == "count":
            ok = ~np.isnan(values) & (values >= 0)
        if not kpi.guarded:
            ok = ~np.isnan(values)
        usable = np.where(ok, values, np.nan)
        up = -1.0 if kpi.higher_is_better else 1.0  # +1 where "up" is the bad direction
        both = rule.direction == "both"
        if rule.kind == "threshold":
            over = usable > rule.max if rule.max is not None else np.zeros_like(ok)
            under = usable < rule.min if rule.min is not None else np.zeros_like(ok)
            bad = over | under
            reference = np.where(
                over, rule.max if rule.max is not None else np.nan, rule.min if rule.min is not None else np.nan
            )
            score = np.abs(usable - reference)
            label = _threshold_label(rule, kpi)
            labels = None
        elif rule.kind == "change":
            lag = per_day if rule.compare == "yesterday" else per_week
            reference, rel = change_vs_lag(usable, lag)
            signed = rel if both else rel * up
            if both:
                signed = np.abs(rel)
            bad = (signed >= rule.min_change) & (np.abs(usable - reference) >= rule.min_abs)
            score = rel
            label = "昨日同时段" if rule.compare == "yesterday" else "上周同时段"
            labels = None
        else:
            floor = rule.min_mad if rule.min_mad is not None else _DEFAULT_MAD[kpi.unit]
            noise = {"count": "poisson", "ratio": "binomial"}.get(kpi.unit, "none")
            z, med, mad = robust_scores(
                usable,
                per_week,
                rule.weeks,
                min_mad=floor,
                min_history=rule.min_history,
                dtype=np.float64,
                noise=noise,  # type: ignore[arg-type]
                volume=grid.sums.get(kpi.denominator, volume) if kpi.denominator else None,
            )
            signed = np.abs(z) if both else z * up
            bad = signed >= rule.z
            reference, score = med, z
            label = f"近{rule.weeks}周同一时段中位数"
            labels = mad
        bad = np.nan_to_num(bad, nan=0).astype(bool) & ok
        for s, (source, dims) in enumerate(grid.series):
            if rule.queues and grid.dims(s).get("queue") not in rule.queues:
                continue
            if rule.labels and any(grid.dims(s).get(k) != v for k, v in rule.labels.items()):
                continue
            window_ok = ok[s, first:]
            if not window_ok.any():
                continue
            judged.add((rule.key, source, dims))
            hits = np.flatnonzero(bad[s, first:])
            if hits.size == 0:
                continue
            magnitude = np.abs(np.nan_to_num(np.asarray(score[s, first:], dtype=float), nan=0.0, posinf=1e9))
            worst = int(hits[np.argmax(magnitude[hits])]) + first
            extra = {"intervals": float(hits.size), "volume": float(np.nan_to_num(volume[s, worst]))}
            if labels is not None:
                extra["mad"] = float(labels[s, worst])
            findings.append(
                Finding(
                    rule=rule.key,
                    kind=rule.kind,
                    kpi=kpi.name,
                    source=source,
                    dims=dims,
                    index=worst,
                    value=float(values[s, worst]),
                    reference=float(reference[s, worst]),
                    score=float(score[s, worst]),
                    compared_with=label,
                    extra=extra,
                )
            )
    return findings, judged


def _threshold_label(rule: Rule, kpi: Kpi) -> str:
    parts = []
    if rule.min is not None:
        parts.append(f"下限 {kpi.format(rule.min)}")
    if rule.max is not None:
        parts.append(f"上限 {kpi.format(rule.max)}")
    return "阈值" + "/".join(parts)


def describe(finding: Finding, grid: Grid, kpi: Kpi, tz: dt.tzinfo) -> str:
    """One line: what, where, when, how far from normal, compared with what."""
    from backroom.bots.metrics.daily import where_label

    where = where_label(finding.dims)
    when = grid.time(finding.index).astimezone(tz)
    end = when + dt.timedelta(seconds=grid.step_s)
    moment = f"{when:%m-%d %H:%M}–{end:%H:%M}"
    value, ref = kpi.format(finding.value), kpi.format(finding.reference)
    if finding.kind == "robust":
        # the robust z-score in words: how many times the usual swing it lies from the usual level
        how = f"偏离平常水平 {abs(finding.score):.1f} 倍正常波动" if math.isfinite(finding.score) else "远超历史波动"
    elif finding.kind == "change":
        how = f"变化 {finding.score:+.0%}" if math.isfinite(finding.score) else "由零上升"
    else:
        diff = finding.value - finding.reference
        how = f"超出 {kpi.format(abs(diff))}" if kpi.unit != "ratio" else f"偏离 {abs(diff) * 100:.1f} 个百分点"
    count = int(finding.extra.get("intervals", 1))
    more = f"（窗口内共 {count} 个时段异常）" if count > 1 else ""
    against = finding.compared_with if finding.kind == "threshold" else f"{finding.compared_with} {ref}"
    return f"【{kpi.label}】{finding.source} {where} {moment}：{value}，{how}，对比{against}{more}"

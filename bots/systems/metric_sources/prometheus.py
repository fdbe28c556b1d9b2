"""Prometheus HTTP API: one range query per metric (``/api/v1/query_range``), or instant queries.

Each configured metric is a PromQL expression. A series keeps **every** label of Prometheus's
answer (but ``__name__``) as its dimensions, so per-CPU or per-instance series stay apart. Naming
``dimensions`` keeps only those labels; series that then fall together are an error naming the
labels that told them apart — unless ``combine`` says explicitly how to merge them (sum, avg, min,
max). Nothing is merged silently.

Each query stands alone: one that Prometheus refuses, or that answers nothing, is reported in
:attr:`PullResult.stale` and the others are kept; only a source whose every query failed raises.
``targets_query`` (say ``up{job="node"}``) is asked at the window's end: a target at 0 is a scrape
target down, and each query with series from that target (told by ``instance`` / ``job``) is reported
stale *for that target* (``query@instance``) — the other targets' series are fine, and the last values
before the outage are not "today's figures". A query whose series do not say their target (an
aggregate) is reported stale as a whole; a down target that no query's answer shows (an instant
query asked after its series went stale) is reported as ``targets@instance``.

Contact-centre gauges describe a finished interval, so by default a sample at time T is taken as
the interval ``[T − step, T)`` (``timestamp_marks = "end"``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backroom.bots.systems.metric_sources.base import (
    MetricSource,
    MetricSourceError,
    PullResult,
    Sample,
    SourceConfig,
    Window,
    dims_key,
)
from backroom.bots.systems.metric_sources.values import parse_number

if TYPE_CHECKING:
    import httpx

    from backroom.bots.sdk.context import Context

__all__ = ["TARGET_MARK", "Options", "PrometheusSource", "from_target", "pull", "series_dims"]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # metric -> PromQL; no default: metric names are each exporter's own
    queries: dict[str, str] = Field(min_length=1)
    step_seconds: int = Field(default=900, ge=1)
    # None: every label but __name__ is a dimension; a list keeps only those labels
    dimensions: list[str] | None = None
    # what to do with series that fall together once labels are dropped: an error, or merge them
    combine: Literal["error", "sum", "avg", "min", "max"] = "error"
    mode: Literal["range", "instant"] = "range"
    timestamp_marks: Literal["end", "start"] = "end"
    max_points: int = Field(default=10_000, ge=1, description="per query; longer windows are split")
    targets_query: str | None = None  # e.g. 'up{job="node"}': a 0 means a scrape target is down
    # a query whose newest point is older than this before the window's end is stale (None: no check)
    stale_after_seconds: int | None = Field(default=None, ge=1)


async def _query(client: httpx.AsyncClient, path: str, data: dict[str, str], where: str) -> list[dict]:
    import httpx

    try:
        response = await client.post(path, data=data)
        body = response.json()
    except httpx.HTTPError as exc:
        raise MetricSourceError(f"{where}: {type(exc).__name__} calling {path}: {exc}") from exc
    except ValueError as exc:
        raise MetricSourceError(f"{where}: {path} answered {response.status_code} without JSON") from exc
    if response.status_code >= 400 or not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", body) if isinstance(body, dict) else body
        raise MetricSourceError(f"{where}: query {data.get('query')!r} failed: {response.status_code} {error}")
    return list(body["data"]["result"])


def series_dims(labels: dict[str, str], keep: Sequence[str] | None) -> dict[str, str]:
    """The dimensions of one Prometheus series: all labels but ``__name__``, or only ``keep``."""
    if keep is None:
        return {k: v for k, v in labels.items() if k != "__name__"}
    return {d: labels.get(d, "") for d in keep}


def _merge(values: list[float], how: str) -> float:
    if how == "sum":
        return sum(values)
    if how == "avg":
        return sum(values) / len(values)
    return min(values) if how == "min" else max(values)


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    if not source.system:
        raise MetricSourceError(f"{where}: kind 'prometheus' needs 'system' naming a [systems.*] table")
    step = options.step_seconds
    shift = dt.timedelta(seconds=step if options.timestamp_marks == "end" else 0)
    calls: list[tuple[str, Any]] = []
    async with ctx.async_http(source.system) as client:
        for metric, promql in options.queries.items():
            if options.mode == "instant":
                data = {"query": promql, "time": f"{window.end.timestamp():.3f}"}
                calls.append((metric, _query(client, "/api/v1/query", data, where)))
                continue
            t0 = window.start + shift
            while t0 <= window.end:
                t1 = min(window.end, t0 + dt.timedelta(seconds=step * (options.max_points - 1)))
                data = {
                    "query": promql,
                    "start": f"{t0.timestamp():.3f}",
                    "end": f"{t1.timestamp():.3f}",
                    "step": str(step),
                }
                calls.append((metric, _query(client, "/api/v1/query_range", data, where)))
                t0 = t1 + dt.timedelta(seconds=step)
        targets: Any = None
        if options.targets_query:
            data = {"query": options.targets_query, "time": f"{window.end.timestamp():.3f}"}
            targets = _query(client, "/api/v1/query", data, where)
        answers = await asyncio.gather(*(c for _, c in calls), return_exceptions=True)
        down = await asyncio.gather(targets, return_exceptions=True) if targets is not None else None
    result = PullResult()
    failed: dict[str, str] = {}
    for (metric, _), answer in zip(calls, answers, strict=True):
        if isinstance(answer, BaseException):
            if not isinstance(answer, MetricSourceError):
                raise answer
            failed.setdefault(metric, str(answer))
    if len(failed) == len(options.queries):
        raise MetricSourceError("; ".join(failed.values()))
    result.stale.update(failed)
    by_metric: dict[str, list[list[dict]]] = {}
    for (metric, _), answer in zip(calls, answers, strict=True):
        if metric not in failed:
            by_metric.setdefault(metric, []).append(answer)  # type: ignore[arg-type]
    newest_allowed = (
        window.end - dt.timedelta(seconds=options.stale_after_seconds) if options.stale_after_seconds else None
    )
    for metric, parts in by_metric.items():
        try:
            samples = _samples(metric, [s for part in parts for s in part], options, shift, where, result.issues)
        except MetricSourceError as exc:
            result.stale[metric] = str(exc)
            continue
        if not samples:
            result.stale[metric] = f"{where}: query {metric!r} ({options.queries[metric]}) answered no data"
            continue
        newest = max(s.start for s in samples) + shift
        if newest_allowed is not None and newest < newest_allowed:
            result.stale[metric] = f"{where}: query {metric!r} has no data since {newest.isoformat()}"
        result.samples.extend(samples)
    if down is not None:
        answer = down[0]
        if isinstance(answer, BaseException):
            result.issues.append(f"{where}: targets query failed: {answer}")
        else:
            gone = [s.get("metric", {}) for s in answer if parse_number(s.get("value", [0, "1"])[1]) == 0]
            if not answer:  # no target at all: nothing can be told apart, every query is in doubt
                reason = f"{where}: scrape target {options.targets_query} is down (up == 0)"
                for metric in options.queries:
                    result.stale.setdefault(metric, reason)
            raw = {m: [s.get("metric", {}) for part in parts for s in part] for m, parts in by_metric.items()}
            for labels in gone:
                who = labels.get("instance") or labels.get("job") or dims_key(labels)
                reason = f"{where}: scrape target {who} is down (up == 0)"
                named = False
                for metric in options.queries:
                    if metric in result.stale:
                        continue  # already missing for its own reason
                    hit = from_target(raw.get(metric, []), labels)
                    if hit is None:  # its series do not say which target they come from (aggregated)
                        result.stale[metric] = reason
                    elif hit:
                        result.stale[f"{metric}{TARGET_MARK}{who}"] = reason
                    named = named or hit is not False
                if not named:  # no query shows the target's series (an instant query after the outage)
                    result.stale[f"{TARGETS}{TARGET_MARK}{who}"] = reason
    return result


TARGET_MARK = "@"  # a stale key "query@target": that query's series from that scrape target
TARGETS = "targets"  # "targets@instance": a target down whose series no query's answer shows


def from_target(series: Sequence[dict[str, str]], target: dict[str, str]) -> bool | None:
    """Whether any of a query's series comes from the scrape ``target`` (an ``up`` series' labels),
    told by the labels that name a target (``instance``, ``job``); None when the series do not carry
    them (``sum(...)`` and the like) — then only the whole query can be called in doubt."""
    names = [k for k in ("instance", "job") if k in target]
    if not names:
        return None
    told = [s for s in series if all(k in s for k in names)]
    if not told:
        return None
    return any(all(s[k] == target[k] for k in names) for s in told)


def _samples(
    metric: str, answer: list[dict], options: Options, shift: dt.timedelta, where: str, issues: list[str]
) -> list[Sample]:
    """One query's answer as samples; series that collide once labels are dropped are merged or refused."""
    step = options.step_seconds
    points: dict[tuple[str, float], list[float]] = {}
    origin: dict[str, dict[str, str]] = {}
    for series in answer:
        labels = series.get("metric", {})
        dims = dims_key(series_dims(labels, options.dimensions))
        if dims in origin and origin[dims] != labels and options.combine == "error":
            other = origin[dims]
            differ = sorted(k for k in set(labels) | set(other) if labels.get(k) != other.get(k) and k != "__name__")
            raise MetricSourceError(
                f"{where}: query {metric!r}: series differing only in label(s) {', '.join(differ)} fall together "
                f"under dimensions {options.dimensions}; add them to 'dimensions' or set combine = sum/avg/min/max"
            )
        origin.setdefault(dims, labels)
        for ts, raw in series.get("values") or ([series["value"]] if "value" in series else []):
            value = parse_number(raw)
            if value is None or value != value:  # NaN / +Inf markers
                issues.append(f"{where} {metric} {dims} at {ts}: {raw!r} is not a number — skipped")
                continue
            points.setdefault((dims, float(ts)), []).append(value)
    return [
        Sample(metric, dims, dt.datetime.fromtimestamp(ts, dt.UTC) - shift, step, _merge(values, options.combine))
        for (dims, ts), values in points.items()
    ]


class PrometheusSource(MetricSource):
    """The Prometheus HTTP API (``kind = "prometheus"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

"""Prometheus HTTP API: one range query per metric (``/api/v1/query_range``), or instant queries.

Each configured metric is a PromQL expression; the labels named in ``dimensions`` become the
sample's dimensions. Contact-centre gauges describe a finished interval, so by default a sample at
time T is taken as the interval ``[T − step, T)`` (``timestamp_marks = "end"``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Literal

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

__all__ = ["Options", "PrometheusSource", "pull"]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # metric -> PromQL; no default: metric names are each exporter's own
    queries: dict[str, str] = Field(min_length=1)
    step_seconds: int = Field(default=900, ge=1)
    dimensions: list[str] = Field(default_factory=lambda: ["queue"])  # labels kept as dimensions
    mode: Literal["range", "instant"] = "range"
    timestamp_marks: Literal["end", "start"] = "end"
    max_points: int = Field(default=10_000, ge=1, description="per query; longer windows are split")


async def _query(client: httpx.AsyncClient, path: str, data: dict[str, str], where: str) -> list[dict]:
    import httpx

    try:
        response = await client.post(path, data=data)
        body = response.json()
    except httpx.HTTPError as exc:
        raise MetricSourceError(f"{where}: {type(exc).__name__} calling {path}: {exc}") from exc
    except ValueError as exc:
        raise MetricSourceError(f"{where}: {path} answered {response.status_code} without JSON") from exc
    if response.status_code >= 400 or body.get("status") != "success":
        raise MetricSourceError(
            f"{where}: query {data.get('query')!r} failed: {response.status_code} {body.get('error', body)}"
        )
    return list(body["data"]["result"])


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    if not source.system:
        raise MetricSourceError(f"{where}: kind 'prometheus' needs 'system' naming a [systems.*] table")
    step = options.step_seconds
    shift = dt.timedelta(seconds=step if options.timestamp_marks == "end" else 0)
    calls = []
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
        answers = await asyncio.gather(*(c for _, c in calls))
    samples: list[Sample] = []
    issues: list[str] = []
    for (metric, _), result in zip(calls, answers, strict=True):
        for series in result:
            labels = series.get("metric", {})
            dims = dims_key({d: labels.get(d, "") for d in options.dimensions})
            points = series.get("values") or ([series["value"]] if "value" in series else [])
            for ts, raw in points:
                value = parse_number(raw)
                if value is None or value != value:  # NaN / +Inf markers
                    issues.append(f"{where} {metric} {dims} at {ts}: {raw!r} is not a number — skipped")
                    continue
                start = dt.datetime.fromtimestamp(float(ts), dt.UTC) - shift
                samples.append(Sample(metric, dims, start, step, value))
    return PullResult(samples=samples, issues=issues)


class PrometheusSource(MetricSource):
    """The Prometheus HTTP API (``kind = "prometheus"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

"""A Prometheus server in miniature: ``/metrics`` exposition and ``/api/v1/query`` / ``query_range``.

Plain selectors only (``cc_calls_offered{queue="billing"}``); a sample at time T is the 15-minute
interval that *ends* at T."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from backroom.sandbox.metrics_source.data import (
    PROM_METRICS,
    _floor,
)
from backroom.sandbox.metrics_source.served import Served, parse_time, unauthorised

__all__ = ["add_prometheus_routes", "parse_selector"]

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_selector(query: str) -> tuple[str, dict[str, str]]:
    """``name{label="v", ...}`` -> (name, labels). Only equality matchers, as the sandbox needs."""
    match = _SELECTOR.match(query)
    if not match:
        raise ValueError(f"unsupported PromQL (only plain selectors): {query!r}")
    labels: dict[str, str] = {}
    body = (match.group(2) or "").strip()
    if body:
        for part in body.split(","):
            if not part.strip():
                continue
            m = _MATCHER.fullmatch(part)
            if not m:
                raise ValueError(f'unsupported label matcher {part.strip()!r} (only label="value")')
            labels[m.group(1)] = m.group(2)
    return match.group(1), labels


async def _query_args(request: Request) -> dict[str, str]:
    """The query's parameters, from the URL and (Prometheus allows both) a POSTed form."""
    args = dict(request.query_params)
    if request.method == "POST":
        args.update({k: str(v) for k, v in (await request.form()).items()})
    return args


def add_prometheus_routes(app: FastAPI, served: Served) -> None:
    """Register the exposition and the query API on ``app``."""
    data, now, authorised = served.data, served.now, served.authorised

    def sample(name: str, queue: str, at: dt.datetime) -> float | None:
        """The value of gauge ``name`` at ``at``: the 15-minute interval ending at or before ``at``."""
        end = _floor(at, 15)
        rows = data.rows(queue, end - dt.timedelta(minutes=15), end, 15)
        return float(rows[0][PROM_METRICS[name]]) if rows else None

    @app.get("/metrics")
    def exposition() -> Any:
        lines = []
        at = now()
        for name, fld in PROM_METRICS.items():
            lines.append(f"# HELP {name} {fld} in the last complete 15-minute interval")
            lines.append(f"# TYPE {name} gauge")
            for queue in data.queues:
                value = sample(name, queue, at)
                if value is not None:
                    lines.append(f'{name}{{queue="{queue}"}} {value}')
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    def prom_error(message: str) -> JSONResponse:
        return JSONResponse({"status": "error", "errorType": "bad_data", "error": message}, status_code=400)

    def select(query: str) -> tuple[str, list[str]]:
        name, labels = parse_selector(query)
        if name not in PROM_METRICS:
            return name, []
        unknown = set(labels) - {"queue"}
        if unknown:
            return name, []
        return name, [q for q in data.queues if labels.get("queue", q) == q]

    @app.api_route("/api/v1/query", methods=["GET", "POST"])
    async def prom_query(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        args = await _query_args(request)
        try:
            at = parse_time(args.get("time"), now())
            name, queues_ = select(args.get("query", ""))
        except ValueError as exc:
            return prom_error(str(exc))
        result = []
        for queue in queues_:
            value = sample(name, queue, at)
            if value is not None:
                result.append({"metric": {"__name__": name, "queue": queue}, "value": [at.timestamp(), str(value)]})
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    @app.api_route("/api/v1/query_range", methods=["GET", "POST"])
    async def prom_query_range(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        args = await _query_args(request)
        try:
            start = parse_time(args["start"], now())
            end = min(parse_time(args["end"], now()), now())
            step = float(args.get("step", "900").rstrip("s"))
            name, queues_ = select(args.get("query", ""))
        except (KeyError, ValueError) as exc:
            return prom_error(str(exc))
        if step <= 0 or (end - start).total_seconds() / step > 11_000:
            return prom_error("exceeded maximum resolution of 11,000 points per timeseries")
        result = []
        for queue in queues_:
            rows = data.rows(queue, _floor(start, 15) - dt.timedelta(minutes=15), end, 15)
            by_end = {
                dt.datetime.fromisoformat(r["interval_start"]).timestamp() + 900: float(r[PROM_METRICS[name]])
                for r in rows
            }
            values = []
            t = start.timestamp()
            while t <= end.timestamp() + 1e-6:
                key = (t // 900) * 900
                if key in by_end:
                    values.append([t, str(by_end[key])])
                t += step
            if values:
                result.append({"metric": {"__name__": name, "queue": queue}, "values": values})
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}

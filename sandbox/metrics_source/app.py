"""The metrics source as one ASGI app: API, Prometheus, dashboard and the sandbox's own switches."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backroom.sandbox.faults import FaultMiddleware, Faults
from backroom.sandbox.metrics_source.api import add_api_routes
from backroom.sandbox.metrics_source.dashboard import add_dashboard
from backroom.sandbox.metrics_source.data import (
    Anomaly,
    Glitches,
    MetricsData,
)
from backroom.sandbox.metrics_source.prometheus import add_prometheus_routes
from backroom.sandbox.metrics_source.served import Served

__all__ = ["create_app"]


def create_app(
    *,
    seed: int = 7,
    token: str = "metrics-token",
    username: str = "ops",
    password: str = "ops-pass",
    anomalies: list[Anomaly] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    page_limit: int = 500,
    faults: Faults | None = None,
) -> Any:
    """The metrics source as an ASGI app (FastAPI wrapped in :class:`FaultMiddleware`)."""
    faults = faults or Faults()
    data = MetricsData(seed=seed, anomalies=list(anomalies or []))
    glitches = Glitches()
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    served = Served(data, glitches, faults, now, token, username, password, page_limit)
    app = FastAPI(title="Sandbox metrics source", docs_url=None, redoc_url=None)
    add_api_routes(app, served)
    add_prometheus_routes(app, served)
    add_dashboard(app, served)

    @app.get("/_sandbox/anomalies")
    def list_anomalies() -> Any:
        return [{**asdict(a), "start": a.start.isoformat(), "end": a.end.isoformat()} for a in data.anomalies]

    @app.post("/_sandbox/anomalies")
    async def set_anomalies(request: Request) -> Any:
        payload = await request.json()
        try:
            data.anomalies = [Anomaly.from_dict(item) for item in payload]
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return {"anomalies": len(data.anomalies)}

    @app.post("/_sandbox/glitches")
    async def set_glitches(request: Request) -> Any:
        payload = await request.json()
        for key, value in payload.items():
            if not hasattr(glitches, key):
                return JSONResponse({"error": f"unknown glitch {key!r}"}, status_code=400)
            setattr(glitches, key, value)
        served.rendered = 0
        return asdict(glitches)

    wrapped = FaultMiddleware(app, faults)
    wrapped.state = app.state  # type: ignore[attr-defined]
    app.state.faults = faults
    app.state.data = data
    app.state.glitches = glitches
    app.state.started = time.time()
    return wrapped

"""The reporting API: ``GET /api/v1/queues`` and ``/api/v1/metrics`` (cursor pages, ISO 8601 times)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backroom.sandbox.metrics_source.data import (
    FIELDS,
)
from backroom.sandbox.metrics_source.served import Served, parse_time, unauthorised

__all__ = ["add_api_routes"]


def add_api_routes(app: FastAPI, served: Served) -> None:
    """Register the JSON API on ``app``."""
    data, glitches, now = served.data, served.glitches, served.now
    authorised, glitch, page_limit = served.authorised, served.glitch, served.page_limit

    @app.get("/api/v1/queues")
    def queues(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        return {"queues": list(data.queues)}

    @app.get("/api/v1/metrics")
    def metrics(
        request: Request,
        queue: str | None = None,
        start: str | None = None,
        end: str | None = None,
        interval: int = 15,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Any:
        if not authorised(request):
            return unauthorised()
        current = now()
        try:
            t_end = min(parse_time(end, current), current)
            t_start = parse_time(start, t_end - dt.timedelta(days=1))
            names = [queue] if queue else list(data.queues)
            rows: list[dict[str, Any]] = []
            for name in names:
                rows.extend(data.rows(name, t_start, t_end, interval))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        limit = max(1, min(limit, page_limit))
        page = rows[offset : offset + limit]
        nxt = offset + limit
        items = []
        for row in page:
            shown = {k: (glitch(v) if k in FIELDS else v) for k, v in row.items()}
            items.append(shown)
            if glitches.duplicate_rows:
                items.append(dict(shown))
        return {
            "items": items,
            "next_cursor": base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(rows) else None,
            "total": len(rows),
        }

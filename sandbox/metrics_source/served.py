"""The state the routes of one metrics app share, and the request helpers they all use."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from backroom.sandbox.faults import Faults
from backroom.sandbox.metrics_source.data import (
    LOCAL,
    Glitches,
    MetricsData,
)

__all__ = ["Served", "parse_time", "unauthorised"]


@dataclass
class Served:
    """What the routes of one app share: the data, the switches, the clock and the credentials."""

    data: MetricsData
    glitches: Glitches
    faults: Faults
    now: Callable[[], dt.datetime]
    token: str
    username: str
    password: str
    page_limit: int
    rendered: int = 0  # values rendered since the glitches were set (every Nth becomes "N/A")

    def glitch(self, value: Any) -> Any:
        """``value``, or ``"N/A"`` when it is the Nth rendered and the non-numeric glitch is on."""
        if self.glitches.non_numeric_every:
            self.rendered += 1
            if self.rendered % self.glitches.non_numeric_every == 0:
                return "N/A"
        return value

    def authorised(self, request: Request) -> bool:
        """A bearer token (the API's own) or the dashboard user's HTTP basic credentials."""
        basic = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return request.headers.get("authorization", "") in (f"Bearer {self.token}", basic)


def unauthorised() -> JSONResponse:
    return JSONResponse({"error": "missing or bad token"}, status_code=401)


def parse_time(text: str | None, default: dt.datetime) -> dt.datetime:
    """ISO 8601 (``Z`` allowed) or Unix seconds; a time without zone is local (Asia/Shanghai)."""
    if not text:
        return default
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = dt.datetime.fromtimestamp(float(text), dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=LOCAL)

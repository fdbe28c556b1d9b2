"""The operator console: HTTP API and server-rendered dashboard over a :class:`schedules.runner.Runner`.

``create_app(runner)`` builds the FastAPI application that ``backroom serve`` runs with uvicorn;
``check_bind(host, settings)`` is the guard that keeps an unauthenticated console on loopback.
"""

from __future__ import annotations

from backroom.schedules.console.app import create_app
from backroom.schedules.console.auth import check_bind
from backroom.schedules.errors import UnsafeBind

__all__ = ["UnsafeBind", "check_bind", "create_app"]

"""The sandbox helpdesk as one ASGI app: the data, the REST API, the pages, the fault switches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backroom.sandbox.faults import FaultMiddleware, Faults
from backroom.sandbox.helpdesk.model import Helpdesk, TicketNotFound
from backroom.sandbox.helpdesk.pages import add_pages
from backroom.sandbox.helpdesk.rest import add_rest_routes
from backroom.sandbox.helpdesk.seed import seed_tickets

__all__ = ["create_app"]


def create_app(
    *,
    seed: int = 1,
    tickets: int = 50,
    token: str = "sandbox-helpdesk-token",
    users: dict[str, str] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    faults: Faults | None = None,
    resolved_share: float = 0.5,
) -> Any:
    """The helpdesk app; ``app.state.desk`` is the data, ``app.state.faults`` the switches."""
    desk = Helpdesk(clock)
    desk.tokens[token] = "bot"
    desk.users.update(users or {"agent01": "agent-pass", "bot": "bot-pass"})
    if tickets:
        seed_tickets(desk, tickets, seed, resolved_share=resolved_share)
    faults = faults or Faults()
    app = FastAPI(title="Sandbox helpdesk (RT5 REST2)")
    app.state.desk = desk
    app.state.faults = faults

    @app.exception_handler(ValueError)
    async def _bad_value(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=400)

    @app.exception_handler(TicketNotFound)
    async def _no_ticket(_request: Request, _exc: TicketNotFound) -> JSONResponse:
        return JSONResponse({"detail": "Resource does not exist"}, status_code=404)

    add_rest_routes(app, desk)
    add_pages(app, desk, faults)

    wrapped = FaultMiddleware(app, faults)
    wrapped.state = app.state  # type: ignore[attr-defined] - tests reach the data as server.app.state
    return wrapped

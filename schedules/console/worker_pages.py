"""The console's workers page: the processes that execute runs, their lease (heartbeat), their runs.

With the procrastinate backend these are the ``backroom worker`` processes on every machine; with
the local backend, serve itself and any ``backroom run``. Every serve instance shows the same page:
it reads history, which they all share.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backroom.schedules.console.pages import _render
from backroom.schedules.console.state import console, page_user
from backroom.schedules.distributed.cli import worker_rows
from backroom.schedules.history import utcnow

__all__ = ["router"]

router = APIRouter()


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> Response:
    user = page_user(request)
    state = console(request)
    rows = worker_rows(state.history, state.settings, utcnow())
    leader = getattr(state.runner, "is_leader", None)
    return _render(
        request,
        "workers.html",
        user,
        rows=rows,
        backend=state.settings.execution.backend,
        leader=leader,
    )

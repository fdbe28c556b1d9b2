"""The console's work-item queue pages: counts by state, the oldest waiting item, retry and drop.

Payloads and errors are shown masked (:func:`~backroom.bots.sdk.masking.mask_personal`): items carry
the personal data of the people they are about. Retry and drop are operator actions, audited.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backroom.bots.sdk.masking import mask_personal
from backroom.bots.sdk.workitems import ITEM_STATES, WorkQueue, queue_names
from backroom.schedules.console.pages import _form_expired, _render, not_found
from backroom.schedules.console.state import check_csrf, console, page_user, require, source_of
from backroom.schedules.queues import consumers

__all__ = ["router"]

router = APIRouter()


def _queues(request: Request) -> dict[str, list[str]]:
    """queue -> the bots consuming it, for every queue with items or a consumer."""
    state = console(request)
    found: dict[str, list[str]] = {name: [] for name in queue_names(state.history.engine)}
    for bot, name in consumers(state.settings, state.runner.bots).items():
        found.setdefault(name, []).append(bot)
    return dict(sorted(found.items()))


def _masked(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = mask_personal(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@router.get("/queues", response_class=HTMLResponse)
def queues_page(request: Request) -> Response:
    user = page_user(request)
    engine = console(request).history.engine
    rows = []
    for name, bots in _queues(request).items():
        queue = WorkQueue(engine, name)
        rows.append({"name": name, "consumers": bots, "counts": queue.counts(), "oldest": queue.oldest_waiting()})
    return _render(request, "queues.html", user, rows=rows, states=ITEM_STATES)


@router.get("/queues/{name}", response_class=HTMLResponse)
def queue_page(request: Request, name: str, state: str | None = None) -> Response:
    user = page_user(request)
    queues = _queues(request)
    if name not in queues:
        return not_found(request, f"no queue {name!r}")
    queue = WorkQueue(console(request).history.engine, name)
    items = [
        {**item, "payload_text": _masked(item["payload"]), "error_text": _masked(item["error"] or "")}
        for item in queue.list(state if state in ITEM_STATES else None)
    ]
    return _render(
        request,
        "queue.html",
        user,
        name=name,
        consumers=queues[name],
        counts=queue.counts(),
        oldest=queue.oldest_waiting(),
        items=items,
        states=ITEM_STATES,
        state=state,
    )


@router.post("/queues/{name}/items/{item_id}/{action}")
async def item_action(request: Request, name: str, item_id: int, action: str) -> Response:
    user = page_user(request)
    form = await request.form()
    if action not in ("retry", "drop"):
        return not_found(request, f"no action {action!r}")
    if not check_csrf(request, str(form.get("csrf") or "")):
        return _form_expired(request, user)
    require(request, user, "operator", f"queue-{action}", name, "web")
    state = console(request)
    queue = WorkQueue(state.history.engine, name)
    changed = queue.retry(item_id) if action == "retry" else queue.drop(item_id)
    state.history.audit(
        user.name,
        f"queue-{action}",
        name,
        source=source_of(request, "web"),
        outcome="ok" if changed else "refused",
        detail={"item": item_id},
    )
    return RedirectResponse(f"/queues/{quote(name)}", status_code=303)

"""The RT5 REST2 routes of the sandbox helpdesk: tickets, search by TicketSQL, history, attachments.

Paths and JSON shapes follow Request Tracker closely enough that one adapter serves the sandbox and a
real RT; authentication is ``Authorization: token <TOKEN>``; ticket reads carry an ``ETag`` that a
``PUT`` may require with ``If-Match``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from backroom.sandbox.helpdesk.model import CUSTOM_FIELDS, QUEUES, Helpdesk, Ticket, Transaction, iso, queue_id
from backroom.sandbox.helpdesk.ticketsql import TicketSQLError, parse_ticketsql

__all__ = ["add_rest_routes"]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response without FastAPI's per-field encoder (it dominates the cost of big pages)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def base(request: Request) -> str:
    """The REST root as the client reached it (links in answers point back through the same host)."""
    return str(request.base_url).rstrip("/") + "/REST/2.0"


def ticket_json(request: Request, t: Ticket) -> dict[str, Any]:
    """A ticket in RT5 REST2's JSON shape, links and custom fields included."""
    root = base(request)
    return {
        "id": t.id,
        "type": "ticket",
        "_url": f"{root}/ticket/{t.id}",
        "Subject": t.subject,
        "Status": t.status,
        "Queue": {
            "id": str(t.queue),
            "type": "queue",
            "_url": f"{root}/queue/{t.queue}",
            "Name": QUEUES.get(t.queue, ""),
        },
        "Owner": {"id": t.owner, "type": "user", "_url": f"{root}/user/{t.owner}"},
        "Priority": str(t.priority),
        "Created": iso(t.created),
        "LastUpdated": iso(t.last_updated),
        "Resolved": iso(t.resolved) or "1970-01-01T00:00:00Z",
        "Requestor": [{"id": t.requestor, "type": "user", "_url": f"{root}/user/{t.requestor}"}],
        "CustomFields": [
            {
                "id": str(i + 1),
                "name": name,
                "type": "customfield",
                "_url": f"{root}/customfield/{i + 1}",
                "values": [t.cf[name]] if t.cf.get(name) else [],
            }
            for i, name in enumerate(CUSTOM_FIELDS)
        ],
        "_hyperlinks": [
            {"ref": "self", "type": "ticket", "id": t.id, "_url": f"{root}/ticket/{t.id}"},
            {"ref": "history", "_url": f"{root}/ticket/{t.id}/history"},
            {"ref": "correspond", "_url": f"{root}/ticket/{t.id}/correspond"},
            {"ref": "comment", "_url": f"{root}/ticket/{t.id}/comment"},
        ],
    }


def paginate(
    request: Request, items: list[Any], render: Callable[[Any], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One page of ``items``; ``render`` turns only that page's items into JSON (big searches)."""
    try:
        page = max(1, int(request.query_params.get("page", 1)))
        per_page = min(100, max(1, int(request.query_params.get("per_page", 20))))
    except ValueError:
        raise HTTPException(400, detail="page and per_page must be integers") from None
    total = len(items)
    chunk = items[(page - 1) * per_page : page * per_page]
    if render is not None:
        chunk = [render(item) for item in chunk]
    pages = max(1, -(-total // per_page))
    out: dict[str, Any] = {
        "count": len(chunk),
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "items": chunk,
    }
    if page < pages:
        params = dict(request.query_params)
        params["page"] = str(page + 1)
        from urllib.parse import urlencode

        out["next_page"] = f"{str(request.url).split('?')[0]}?{urlencode(params)}"
    return out


def field_subset(request: Request, full: dict[str, Any]) -> dict[str, Any]:
    """Only the ``fields=`` the client asked for (plus id, type, _url), as RT trims search results."""
    wanted = request.query_params.get("fields")
    keep = {"id", "type", "_url"}
    if wanted:
        keep |= {f.strip() for f in wanted.split(",") if f.strip()}
    return {k: v for k, v in full.items() if k in keep}


def tx_json(request: Request, tx: Transaction) -> dict[str, Any]:
    """A transaction (one history entry) in RT5 REST2's JSON shape."""
    root = base(request)
    return {
        "id": tx.id,
        "type": "transaction",
        "_url": f"{root}/transaction/{tx.id}",
        "Type": tx.type,
        "Created": iso(tx.created),
        "Creator": {"id": tx.creator, "type": "user"},
        "Field": tx.field,
        "OldValue": tx.old,
        "NewValue": tx.new,
        "Object": {"id": tx.ticket, "type": "ticket"},
        "_hyperlinks": [{"ref": "attachment", "_url": f"{root}/transaction/{tx.id}/attachments"}] if tx.content else [],
    }


def add_rest_routes(app: FastAPI, desk: Helpdesk) -> None:
    """Register the ``/REST/2.0`` routes (and the sandbox health check) on ``app``."""

    def api_user(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "token" or value not in desk.tokens:
            raise HTTPException(401, detail="Authorization required")
        return desk.tokens[value]

    @app.get("/REST/2.0/tickets")
    async def search(request: Request) -> Response:
        api_user(request)
        query = request.query_params.get("query", "id > 0")
        try:
            match = parse_ticketsql(query)
            with desk.lock:
                found = [t for t in desk.tickets.values() if match(t, query)]
        except TicketSQLError as exc:
            raise HTTPException(400, detail=f"Invalid query: {exc}") from None
        order = request.query_params.get("orderby", "id")
        reverse = request.query_params.get("order", "ASC").upper() == "DESC"
        found.sort(
            key=lambda t: getattr(
                t, {"id": "id", "Created": "created", "LastUpdated": "last_updated"}.get(order, "id")
            ),
            reverse=reverse,
        )
        return _json(paginate(request, found, lambda t: field_subset(request, ticket_json(request, t))))

    @app.post("/REST/2.0/ticket", status_code=201)
    async def create_ticket(request: Request) -> dict[str, Any]:
        user = api_user(request)
        body = await request.json()
        for required in ("Subject", "Queue"):
            if not body.get(required):
                raise HTTPException(400, detail=f"{required} is required")
        cf = body.get("CustomFields") or {}
        ticket = desk.create(
            subject=body["Subject"],
            queue=queue_id(body["Queue"]),
            content=body.get("Content", ""),
            creator=user,
            requestor=body.get("Requestor", ""),
            cf={k: str(v) for k, v in cf.items()},
            priority=int(body.get("Priority", 0)),
        )
        return {"id": ticket.id, "type": "ticket", "_url": f"{base(request)}/ticket/{ticket.id}"}

    @app.get("/REST/2.0/ticket/{tid}")
    async def read_ticket(tid: int, request: Request) -> Response:
        api_user(request)
        with desk.lock:
            ticket = desk.ticket(tid)
            body = ticket_json(request, ticket)
            etag = ticket.etag()
        return _json(body, headers={"ETag": etag})

    @app.put("/REST/2.0/ticket/{tid}")
    async def update_ticket(tid: int, request: Request) -> Response:
        user = api_user(request)
        body = await request.json()
        with desk.lock:
            ticket = desk.ticket(tid)
            wanted = request.headers.get("if-match")
            if wanted and wanted != ticket.etag():
                return JSONResponse({"message": "Precondition failed: ticket changed"}, status_code=412)
            messages = desk.update(tid, body, user)
            etag = ticket.etag()
        return JSONResponse(messages, headers={"ETag": etag})

    async def _message(tid: int, request: Request, kind: str) -> Response:
        user = api_user(request)
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            body = await request.json()
            content = body.get("Content", "")
        else:
            content = (await request.body()).decode("utf-8")
        if not content:
            raise HTTPException(400, detail="Content is required")
        with desk.lock:
            desk.ticket(tid)
            desk.add_message(tid, kind, content, user)
            etag = desk.tickets[tid].etag()
        label = "Correspondence added" if kind == "Correspond" else "Comments added"
        return JSONResponse([label], status_code=201, headers={"ETag": etag})

    @app.post("/REST/2.0/ticket/{tid}/correspond")
    async def correspond(tid: int, request: Request) -> Response:
        return await _message(tid, request, "Correspond")

    @app.post("/REST/2.0/ticket/{tid}/comment")
    async def comment(tid: int, request: Request) -> Response:
        return await _message(tid, request, "Comment")

    @app.get("/REST/2.0/ticket/{tid}/history")
    async def history(tid: int, request: Request) -> Response:
        api_user(request)
        with desk.lock:
            desk.ticket(tid)
            txs = [desk.transactions[i] for i in desk.by_ticket.get(tid, [])]
        return _json(paginate(request, [field_subset(request, tx_json(request, tx)) for tx in txs]))

    @app.get("/REST/2.0/transaction/{xid}")
    async def transaction(xid: int, request: Request) -> dict[str, Any]:
        api_user(request)
        tx = desk.transactions.get(xid)
        if tx is None:
            raise HTTPException(404, detail="Resource does not exist")
        return tx_json(request, tx)

    @app.get("/REST/2.0/transaction/{xid}/attachments")
    async def attachments(xid: int, request: Request) -> Response:
        api_user(request)
        tx = desk.transactions.get(xid)
        if tx is None:
            raise HTTPException(404, detail="Resource does not exist")
        items = []
        if tx.content:
            items.append(
                {
                    "id": tx.id,
                    "type": "attachment",
                    "ContentType": "text/plain",
                    "Content": base64.b64encode(tx.content.encode("utf-8")).decode("ascii"),
                    "Headers": "Content-Type: text/plain; charset=UTF-8",
                }
            )
        return _json(paginate(request, [field_subset(request, a) for a in items]))

    @app.get("/REST/2.0/queue/{qid}")
    async def queue(qid: int, request: Request) -> dict[str, Any]:
        api_user(request)
        if qid not in QUEUES:
            raise HTTPException(404, detail="Resource does not exist")
        return {"id": qid, "type": "queue", "Name": QUEUES[qid], "Lifecycle": "complaints"}

    @app.get("/_sandbox/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "tickets": len(desk.tickets)}

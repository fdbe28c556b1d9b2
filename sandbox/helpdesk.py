"""A complaint helpdesk that speaks Request Tracker 5's REST2, with a small web UI.

The REST API follows RT5 REST2 paths and JSON shapes closely enough that one adapter serves the
sandbox and a real RT: ``GET/PUT /REST/2.0/ticket/{id}`` (with ``ETag`` / ``If-Match``),
``POST /REST/2.0/ticket``, ``GET /REST/2.0/tickets?query=<TicketSQL>&fields=...&page=&per_page=``,
``POST /REST/2.0/ticket/{id}/correspond`` and ``/comment``, ``GET /REST/2.0/ticket/{id}/history``,
``GET /REST/2.0/transaction/{id}`` and ``/transaction/{id}/attachments`` (content base64, as RT
sends it). Authentication is ``Authorization: token <TOKEN>``.

The web UI (``/``) has a login form with a CSRF token and a session cookie, a search page, and a
ticket page to edit fields, comment, resolve and close — for the browser adapter. Statuses use a
lifecycle with ``archived`` after ``closed``. Time comes from an injectable clock (tests move it).
Every misbehaviour switch of :mod:`sandbox.faults` applies.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import json
import random
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backroom.sandbox.faults import FaultMiddleware, Faults

__all__ = ["CUSTOM_FIELDS", "STATUSES", "Helpdesk", "TicketSQLError", "create_app", "parse_ticketsql"]

STATUSES = ["new", "open", "stalled", "resolved", "closed", "archived", "rejected"]
CUSTOM_FIELDS = [
    "Category",
    "CustomerName",
    "Mobile",
    "Landline",
    "IDCard",
    "OrderNo",
    "AccountNo",
    "Amount",
    "Product",
    "Urgency",
    "CallbackTime",
    "Escalated",
    "Regulator",
    "VIP",
    "Archived",
    "ReviewNeeded",
]
QUEUES = {1: "General", 2: "Complaints", 3: "Complaints-L2"}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response without FastAPI's per-field encoder (it dominates the cost of big pages)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Transaction:
    id: int
    ticket: int
    type: str
    created: dt.datetime
    creator: str
    content: str = ""
    field: str = ""
    old: str = ""
    new: str = ""


@dataclass
class Ticket:
    id: int
    subject: str
    queue: int
    status: str
    created: dt.datetime
    last_updated: dt.datetime
    requestor: str = ""
    owner: str = "Nobody"
    priority: int = 0
    resolved: dt.datetime | None = None
    cf: dict[str, str] = field(default_factory=dict)
    version: int = 1

    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class Helpdesk:
    """The in-memory state: tickets, transactions, users. Thread-safe; time from ``clock``."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tickets: dict[int, Ticket] = {}
        self.transactions: dict[int, Transaction] = {}
        self.by_ticket: dict[int, list[int]] = {}
        self.lock = threading.RLock()
        self.tokens: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self._next_tx = 1

    def now(self) -> dt.datetime:
        return self.clock()

    def _tx(self, ticket: Ticket, type_: str, creator: str, **kw: str) -> Transaction:
        tx = Transaction(self._next_tx, ticket.id, type_, self.now(), creator, **kw)
        self._next_tx += 1
        self.transactions[tx.id] = tx
        self.by_ticket.setdefault(ticket.id, []).append(tx.id)
        ticket.last_updated = tx.created
        ticket.version += 1
        return tx

    def create(
        self,
        *,
        subject: str,
        queue: int,
        content: str,
        creator: str,
        requestor: str = "",
        status: str = "new",
        cf: dict[str, str] | None = None,
        created: dt.datetime | None = None,
        priority: int = 0,
    ) -> Ticket:
        with self.lock:
            tid = max(self.tickets, default=0) + 1
            when = created or self.now()
            ticket = Ticket(
                tid,
                subject,
                queue,
                status,
                when,
                when,
                requestor,
                priority=priority,
                cf={k: v for k, v in (cf or {}).items() if v not in (None, "")},
            )
            self.tickets[tid] = ticket
            tx = self._tx(ticket, "Create", creator, content=content)
            tx.created = when
            ticket.last_updated = when
            return ticket

    def update(self, tid: int, changes: dict[str, Any], creator: str) -> list[str]:
        """Apply RT-style changes (Status, Priority, Queue, Owner, Subject, CustomFields) with history."""
        with self.lock:
            ticket = self.tickets[tid]
            messages: list[str] = []
            for key, value in changes.items():
                if key == "CustomFields":
                    for name, cf_value in (value or {}).items():
                        if name not in CUSTOM_FIELDS:
                            raise ValueError(f"unknown custom field {name!r}")
                        new = "" if cf_value is None else str(cf_value[0] if isinstance(cf_value, list) else cf_value)
                        old = ticket.cf.get(name, "")
                        if new == old:
                            continue
                        if new:
                            ticket.cf[name] = new
                        else:
                            ticket.cf.pop(name, None)
                        self._tx(ticket, "CustomField", creator, field=name, old=old, new=new)
                        messages.append(f"{name} {new} added" if not old else f"{name} {old} changed to {new}")
                    continue
                attr = {
                    "Status": "status",
                    "Priority": "priority",
                    "Queue": "queue",
                    "Owner": "owner",
                    "Subject": "subject",
                }.get(key)
                if attr is None:
                    raise ValueError(f"field {key!r} cannot be updated")
                if key == "Status" and value not in STATUSES:
                    raise ValueError(f"status {value!r} is not in the lifecycle {STATUSES}")
                if key == "Queue":
                    value = _queue_id(value)
                if key == "Priority":
                    value = int(value)
                old = getattr(ticket, attr)
                if old == value:
                    continue
                setattr(ticket, attr, value)
                if key == "Status":
                    ticket.resolved = self.now() if value == "resolved" else ticket.resolved
                self._tx(
                    ticket, "Status" if key == "Status" else "Set", creator, field=key, old=str(old), new=str(value)
                )
                messages.append(f"Ticket {tid}: {key} changed from '{old}' to '{value}'")
            return messages

    def add_message(self, tid: int, kind: str, content: str, creator: str) -> Transaction:
        with self.lock:
            return self._tx(self.tickets[tid], kind, creator, content=content)


def _queue_id(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for qid, name in QUEUES.items():
        if name == value:
            return qid
    raise ValueError(f"unknown queue {value!r}")


# -- TicketSQL ---------------------------------------------------------------------------------
class TicketSQLError(ValueError):
    """A query the sandbox cannot parse; the message points at the offending token."""


_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bLIKE\b|\bIS\s+NOT\b|\bIS\b)"
    r"|(?P<word>[A-Za-z_][\w.{}-]*|\d+))",
    re.IGNORECASE,
)


def parse_ticketsql(query: str) -> Callable[[Ticket, str], bool]:
    """Compile a TicketSQL subset (AND/OR, parentheses, = != < > <= >= LIKE, IS NULL, CF.{Name})."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if not m:
            raise TicketSQLError(f"cannot parse TicketSQL near {query[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        tokens.append((kind, text))
        pos = m.end()
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise TicketSQLError("unexpected end of TicketSQL query")
        index += 1
        return tokens[index - 1]

    def expr() -> Callable[[Ticket, str], bool]:
        left = term()
        while (tok := peek()) and tok[0] == "word" and tok[1].upper() == "OR":
            take()
            right = term()
            left = (lambda a, b: lambda t, q: a(t, q) or b(t, q))(left, right)
        return left

    def term() -> Callable[[Ticket, str], bool]:
        left = atom()
        while (tok := peek()) and tok[0] == "word" and tok[1].upper() == "AND":
            take()
            right = atom()
            left = (lambda a, b: lambda t, q: a(t, q) and b(t, q))(left, right)
        return left

    def atom() -> Callable[[Ticket, str], bool]:
        kind, text = take()
        if kind == "lp":
            inner = expr()
            if take()[0] != "rp":
                raise TicketSQLError("missing ')' in TicketSQL")
            return inner
        if kind == "str":
            text = text[1:-1]
        elif kind != "word":
            raise TicketSQLError(f"expected a field name, found {text!r}")
        op_kind, op = take()
        if op_kind != "op":
            raise TicketSQLError(f"expected an operator after {text!r}, found {op!r}")
        vkind, value = take()
        if vkind == "str":
            value = value[1:-1]
        return _condition(text, " ".join(op.upper().split()), value)

    result = expr()
    if index != len(tokens):
        raise TicketSQLError(f"unexpected {tokens[index][1]!r} in TicketSQL")
    return result


def _ticket_value(ticket: Ticket, name: str) -> Any:
    m = re.fullmatch(r"(?:CF|CustomField)\.\{(.+)\}", name, re.IGNORECASE)
    if m:
        return ticket.cf.get(m.group(1)) or None
    key = name.lower()
    return {
        "id": ticket.id,
        "status": ticket.status,
        "queue": QUEUES.get(ticket.queue, str(ticket.queue)),
        "subject": ticket.subject,
        "owner": ticket.owner,
        "priority": ticket.priority,
        "created": ticket.created,
        "lastupdated": ticket.last_updated,
        "resolved": ticket.resolved,
        "requestor": ticket.requestor,
        "requestors": ticket.requestor,
        "requestor.emailaddress": ticket.requestor,
    }.get(key, KeyError)


def _condition(name: str, op: str, raw: str) -> Callable[[Ticket, str], bool]:
    def check(ticket: Ticket, _q: str) -> bool:
        value = _ticket_value(ticket, name)
        if value is KeyError:
            raise TicketSQLError(f"unknown field {name!r} in TicketSQL")
        if op in ("IS", "IS NOT"):
            is_null = value in (None, "")
            return is_null if op == "IS" else not is_null
        if value is None:
            return op == "!="
        target: Any = raw
        if isinstance(value, dt.datetime):
            try:
                target = dt.datetime.fromisoformat(raw.replace(" ", "T").rstrip("Z")).replace(tzinfo=dt.UTC)
            except ValueError:
                raise TicketSQLError(f"bad date {raw!r} for {name}") from None
        elif isinstance(value, int):
            target = int(raw)
        elif op in ("<", ">", "<=", ">="):
            with contextlib.suppress(ValueError):
                value, target = float(value), float(raw)
        if op == "LIKE":
            return str(target).lower() in str(value).lower()
        if op == "NOT LIKE":
            return str(target).lower() not in str(value).lower()
        if isinstance(value, str) and isinstance(target, str) and op in ("=", "!="):
            equal = value.lower() == target.lower()
            return equal if op == "=" else not equal
        return {
            "=": value == target,
            "!=": value != target,
            "<": value < target,
            ">": value > target,
            "<=": value <= target,
            ">=": value >= target,
        }[op]

    return check


# -- data --------------------------------------------------------------------------------------
def seed_tickets(
    desk: Helpdesk, count: int, seed: int = 1, *, resolved_share: float = 0.5, filled_share: float = 0.3
) -> None:
    """Fill ``desk`` with ``count`` complaint tickets generated deterministically from ``seed``."""
    from backroom.sandbox.helpdesk_texts import generate_texts

    rng = random.Random(seed)
    now = desk.now()
    texts = generate_texts(count, seed=seed, base=now - dt.timedelta(days=3))
    for item in texts:
        created = now - dt.timedelta(days=3, minutes=rng.randrange(0, 600))
        labels = item.labels
        resolved = rng.random() < resolved_share
        cf: dict[str, str] = {}
        if resolved or rng.random() < filled_share:
            cf = {
                "Category": labels["category"],
                "CustomerName": labels.get("name", ""),
                "Mobile": labels.get("mobile", ""),
                "Amount": str(labels.get("amount", "") or ""),
                "Regulator": "yes" if labels.get("urgent") else "",
            }
        ticket = desk.create(
            subject=item.subject,
            queue=2,
            content=item.text,
            creator="agent01",
            requestor=f"customer{rng.randrange(10**6)}@example.cn",
            cf=cf,
            created=created,
        )
        if resolved:
            with desk.lock:
                ticket.status = "resolved"
                ticket.resolved = created + dt.timedelta(hours=rng.randrange(1, 40))
                ticket.last_updated = ticket.resolved
                ticket.owner = "agent01"


# -- the ASGI app ------------------------------------------------------------------------------
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
    sessions: dict[str, tuple[str, dt.datetime, str]] = {}  # sid -> (user, started, csrf)

    def api_user(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "token" or value not in desk.tokens:
            raise HTTPException(401, detail="Authorization required")
        return desk.tokens[value]

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/REST/2.0"

    def ticket_json(request: Request, t: Ticket) -> dict[str, Any]:
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
            "Created": _iso(t.created),
            "LastUpdated": _iso(t.last_updated),
            "Resolved": _iso(t.resolved) or "1970-01-01T00:00:00Z",
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

    def get_ticket(tid: int) -> Ticket:
        ticket = desk.tickets.get(tid)
        if ticket is None:
            raise HTTPException(404, detail="Resource does not exist")
        return ticket

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
        wanted = request.query_params.get("fields")
        keep = {"id", "type", "_url"}
        if wanted:
            keep |= {f.strip() for f in wanted.split(",") if f.strip()}
        return {k: v for k, v in full.items() if k in keep}

    @app.exception_handler(ValueError)
    async def _bad_value(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=400)

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
            queue=_queue_id(body["Queue"]),
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
            ticket = get_ticket(tid)
            body = ticket_json(request, ticket)
            etag = ticket.etag()
        return _json(body, headers={"ETag": etag})

    @app.put("/REST/2.0/ticket/{tid}")
    async def update_ticket(tid: int, request: Request) -> Response:
        user = api_user(request)
        body = await request.json()
        with desk.lock:
            ticket = get_ticket(tid)
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
            get_ticket(tid)
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

    def tx_json(request: Request, tx: Transaction) -> dict[str, Any]:
        root = base(request)
        return {
            "id": tx.id,
            "type": "transaction",
            "_url": f"{root}/transaction/{tx.id}",
            "Type": tx.type,
            "Created": _iso(tx.created),
            "Creator": {"id": tx.creator, "type": "user"},
            "Field": tx.field,
            "OldValue": tx.old,
            "NewValue": tx.new,
            "Object": {"id": tx.ticket, "type": "ticket"},
            "_hyperlinks": [{"ref": "attachment", "_url": f"{root}/transaction/{tx.id}/attachments"}]
            if tx.content
            else [],
        }

    @app.get("/REST/2.0/ticket/{tid}/history")
    async def history(tid: int, request: Request) -> Response:
        api_user(request)
        with desk.lock:
            get_ticket(tid)
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

    # -- web UI ---------------------------------------------------------------------------
    def session_user(request: Request) -> tuple[str, str] | None:
        sid = request.cookies.get("hd_session", "")
        found = sessions.get(sid)
        if not found:
            return None
        user, started, csrf = found
        if faults.session_ttl_s and (desk.now() - started).total_seconds() > faults.session_ttl_s:
            sessions.pop(sid, None)
            return None
        return user, csrf

    def page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(
            f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:1.5em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px}.msg{color:#060}.err{color:#a00}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )

    def need_login(request: Request) -> tuple[str, str] | Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return found

    @app.get("/login")
    async def login_form(request: Request, next: str = "/") -> HTMLResponse:
        csrf = secrets.token_hex(8)
        sessions[f"pre-{csrf}"] = ("", desk.now(), csrf)
        return page(
            "登录 Helpdesk",
            f"""<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{html.escape(next)}">
<label>用户名 <input name="user" id="user"></label><label>密码 <input name="password" id="password"
type="password"></label><button type="submit" id="login">登录</button></form>""",
        )

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        csrf = str(form.get("csrf", ""))
        if f"pre-{csrf}" not in sessions:
            return page("登录 Helpdesk", "<p class='err'>CSRF token invalid, reload the page</p>")
        sessions.pop(f"pre-{csrf}")
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        if desk.users.get(user) != password:
            return page("登录 Helpdesk", "<p class='err' id='error'>用户名或密码错误</p><a href='/login'>重新登录</a>")
        sid = secrets.token_hex(16)
        sessions[sid] = (user, desk.now(), secrets.token_hex(8))
        faults.bump("logins")
        target = str(form.get("next") or "/")
        response = RedirectResponse(target if target.startswith("/") else "/", status_code=303)
        response.set_cookie("hd_session", sid, httponly=True)
        return response

    @app.get("/")
    async def index(request: Request, q: str = "", page_no: int = 1) -> Response:
        found = need_login(request)
        if isinstance(found, Response):
            return found
        with desk.lock:
            rows = [
                t
                for t in desk.tickets.values()
                if not q or q == str(t.id) or q.lower() in t.subject.lower() or q == t.status
            ]
        more = len(rows) > page_no * 50
        rows = rows[(page_no - 1) * 50 : page_no * 50]
        pager = f"<a id='next-page' href='/?q={html.escape(q)}&page_no={page_no + 1}'>下一页</a>" if more else ""
        table = "".join(
            f"<tr><td><a class='ticket-link' href='/ticket/{t.id}'>#{t.id}</a></td><td>{html.escape(t.subject)}"
            f"</td><td class='status'>{t.status}</td></tr>"
            for t in rows
        )
        search_name = "query" if faults.layout_variant else "q"
        return page(
            "工单列表",
            f"""<p>当前用户 {html.escape(found[0])}</p>
<form method="get" action="/search" id="search-form"><input name="{search_name}" id="search-box"
placeholder="工单号或关键字"><button id="search-btn">搜索</button></form>
<table id="tickets"><tr><th>编号</th><th>主题</th><th>状态</th></tr>{table}</table>{pager}""",
        )

    @app.get("/search")
    async def search_page(request: Request) -> Response:
        q = request.query_params.get("q") or request.query_params.get("query") or ""
        if q.isdigit():
            return RedirectResponse(f"/ticket/{q}", status_code=303)
        return RedirectResponse(f"/?q={q}", status_code=303)

    @app.get("/ticket/{tid}")
    async def ticket_page(tid: int, request: Request, msg: str = "") -> Response:
        found = need_login(request)
        if isinstance(found, Response):
            return found
        with desk.lock:
            t = get_ticket(tid)
            txs = [desk.transactions[i] for i in desk.by_ticket.get(tid, [])]
            version = t.version
        csrf = found[1]
        fields_html = "".join(
            f"<label>{name} <input name='cf_{name}' id='cf-{name}' value='{html.escape(t.cf.get(name, ''))}'>"
            "</label><br>"
            for name in CUSTOM_FIELDS
        )
        queue_options = "".join(
            f"<option value='{name}'{' selected' if qid == t.queue else ''}>{name}</option>"
            for qid, name in QUEUES.items()
        )
        history_html = "".join(
            f"<li class='tx tx-{tx.type}' data-id='{tx.id}' data-type='{tx.type}' data-created='{_iso(tx.created)}' "
            f"data-creator='{html.escape(tx.creator)}' data-field='{html.escape(tx.field)}' "
            f"data-old='{html.escape(tx.old)}' data-new='{html.escape(tx.new)}'>"
            f"<b>{tx.type}</b> {_iso(tx.created)} {html.escape(tx.creator)} "
            f"{html.escape(tx.field)} {html.escape(tx.old)}→{html.escape(tx.new)}"
            f"<pre>{html.escape(tx.content)}</pre></li>"
            for tx in txs
        )
        save_id = "save-fields" if not faults.layout_variant else "btn-update"
        status_buttons = "".join(
            f"<button name='status' value='{s}' id='set-{s}'>{label}</button>"
            for s, label in (("open", "重新打开"), ("resolved", "解决"), ("closed", "关闭"), ("archived", "归档"))
        )
        note = f"<p class='msg' id='message'>{html.escape(msg)}</p>" if msg else ""
        return page(
            f"工单 #{t.id} {t.subject}",
            f"""{note}
<p>状态 <span id="status">{t.status}</span> · 队列 <span id="queue-name">{QUEUES.get(t.queue, t.queue)}</span>
· 优先级 <span id="priority">{t.priority}</span> · 创建 <span id="created">{_iso(t.created)}</span>
· 解决 <span id="resolved">{_iso(t.resolved) or ""}</span> · 更新 <span id="last-updated">{_iso(t.last_updated)}</span>
· 客户 <span id="requestor">{html.escape(t.requestor)}</span></p>
<form method="post" action="/ticket/{t.id}/fields" id="fields-form"><input type="hidden" name="csrf"
value="{csrf}"><input type="hidden" name="version" value="{version}">{fields_html}
<label>队列 <select name="queue" id="queue">{queue_options}</select></label>
<label>优先级 <input name="priority" id="priority-input" value="{t.priority}"></label>
<button type="submit" id="{save_id}">保存</button></form>
<form method="post" action="/ticket/{t.id}/comment" id="comment-form"><input type="hidden" name="csrf"
value="{csrf}"><textarea name="content" id="comment-box"></textarea>
<button type="submit" id="add-comment">添加备注</button></form>
<form method="post" action="/ticket/{t.id}/status" id="status-form"><input type="hidden" name="csrf"
value="{csrf}"><input type="hidden" name="version" value="{version}">{status_buttons}</form>
<h2>历史</h2><ol id="history">{history_html}</ol>""",
        )

    async def checked_form(request: Request) -> tuple[str, Any] | Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        if form.get("csrf") != found[1]:
            return page("错误", "<p class='err' id='error'>CSRF token invalid</p>")
        return found[0], form

    @app.post("/ticket/{tid}/fields")
    async def save_fields(tid: int, request: Request) -> Response:
        got = await checked_form(request)
        if isinstance(got, Response):
            return got
        user, form = got
        changes: dict[str, Any] = {
            "CustomFields": {name: str(form.get(f"cf_{name}", "")) for name in CUSTOM_FIELDS if f"cf_{name}" in form}
        }
        if form.get("queue"):
            changes["Queue"] = str(form["queue"])
        if str(form.get("priority", "")).strip().lstrip("-").isdigit():
            changes["Priority"] = int(str(form["priority"]))
        with desk.lock:
            t = get_ticket(tid)
            if str(form.get("version", t.version)) != str(t.version):
                return RedirectResponse(f"/ticket/{tid}?msg=" + "工单已被他人修改，请刷新", status_code=303)
            desk.update(tid, changes, user)
        return RedirectResponse(f"/ticket/{tid}?msg=已保存", status_code=303)

    @app.post("/ticket/{tid}/comment")
    async def add_comment(tid: int, request: Request) -> Response:
        got = await checked_form(request)
        if isinstance(got, Response):
            return got
        user, form = got
        content = str(form.get("content", "")).strip()
        if not content:
            return RedirectResponse(f"/ticket/{tid}?msg=备注不能为空", status_code=303)
        get_ticket(tid)
        desk.add_message(tid, "Comment", content, user)
        return RedirectResponse(f"/ticket/{tid}?msg=备注已添加", status_code=303)

    @app.post("/ticket/{tid}/status")
    async def set_status(tid: int, request: Request) -> Response:
        got = await checked_form(request)
        if isinstance(got, Response):
            return got
        user, form = got
        with desk.lock:
            t = get_ticket(tid)
            if str(form.get("version", t.version)) != str(t.version):
                return RedirectResponse(f"/ticket/{tid}?msg=" + "工单已被他人修改，请刷新", status_code=303)
            desk.update(tid, {"Status": str(form.get("status", ""))}, user)
        return RedirectResponse(f"/ticket/{tid}?msg=状态已更新", status_code=303)

    wrapped = FaultMiddleware(app, faults)
    wrapped.state = app.state  # type: ignore[attr-defined] - tests reach the data as server.app.state
    return wrapped

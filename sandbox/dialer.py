"""A call platform (outbound dialer) that calls customers back and reports what they said.

API (``Authorization: Bearer <token>``):

- ``POST /api/v1/callbacks`` ``{number, script, ticket_ref, allowed_hours: "09:00-20:00",
  idempotency_key, callback_url?, channel: "call"|"sms"|"wecom"}`` → 201 with the task; the same
  ``idempotency_key`` again → 200 with the *same* task (the customer is not called twice);
  a number on the do-not-call list → 409.
- ``GET /api/v1/callbacks/{id}`` → the task with its ``outcome`` once known.
- ``GET /api/v1/outcomes?since=<seq>&limit=`` → outcome events in order (the polling API).
- ``GET/POST/DELETE /api/v1/dnc`` → the per-number do-not-call list.

Outcomes (``satisfied``, ``unsatisfied`` with a note, ``no_answer``, ``busy``, ``invalid_number``)
arrive ``outcome_delay_s`` after creation, and only inside the task's allowed hours (local time of
the injectable clock). Each outcome is POSTed to the task's ``callback_url`` as JSON with an
``event_id`` and an HMAC-SHA256 signature header (``X-Dialer-Signature``); the fault switch
``duplicate_webhooks`` delivers twice, and ``app.state.dialer.reverse_webhooks`` delivers each
batch newest first (out of order). ``app.state.dialer.script(number, [...])`` fixes the outcomes a
number will give, attempt by attempt; otherwise they are drawn from the seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import heapq
import hmac
import json
import random
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from backroom.sandbox.faults import FaultMiddleware, Faults

__all__ = ["OUTCOMES", "Dialer", "create_app", "sign"]

OUTCOMES = ["satisfied", "unsatisfied", "no_answer", "busy", "invalid_number"]
_NUMBER = re.compile(r"^(?:\+?86)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_NOTES = ["问题没有解决，网络还是很慢", "退款还没收到", "不满意处理结果，要求主管回电", "费用还是不对"]


def sign(secret: str, body: bytes) -> str:
    """The webhook signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Task:
    id: str
    number: str
    script: str
    ticket_ref: str
    allowed_hours: str
    idempotency_key: str
    channel: str
    created: str
    due: str
    callback_url: str | None = None
    status: str = "queued"  # queued -> completed
    outcome: str | None = None
    note: str = ""
    completed: str | None = None
    seq: int | None = None


class Dialer:
    """Tasks, outcome events and the do-not-call list. Thread-safe; time from ``clock``."""

    def __init__(self, *, seed: int, delay_s: float, timezone: str, clock: Callable[[], dt.datetime] | None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.rng = random.Random(seed)
        self.seed = seed
        self.delay_s = delay_s
        self.tz = ZoneInfo(timezone)
        self.tasks: dict[str, Task] = {}
        self.by_key: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.dnc: set[str] = set()
        self.scripted: dict[str, list[str]] = {}
        self.attempts: dict[str, int] = {}
        self.calls_placed = 0
        self.pending: list[tuple[dt.datetime, str, str]] = []  # (due, id, id) of queued tasks, a heap
        self.reverse_webhooks = False
        self.lock = threading.RLock()

    def script(self, number: str, outcomes: list[str]) -> None:
        """Fix what the customer at ``number`` will answer, one outcome per attempt."""
        for o in outcomes:
            if o not in OUTCOMES:
                raise ValueError(f"unknown outcome {o!r}; expected one of {OUTCOMES}")
        self.scripted[normalize(number)] = list(outcomes)

    def _draw(self, number: str) -> str:
        if not _NUMBER.match(number):
            return "invalid_number"
        queue = self.scripted.get(number)
        if queue:
            return queue.pop(0) if len(queue) > 1 else queue[0]
        digest = hashlib.sha256(f"{self.seed}:{number}:{self.attempts.get(number, 0)}".encode()).digest()
        roll = digest[0] / 256
        return "satisfied" if roll < 0.6 else "unsatisfied" if roll < 0.75 else "no_answer" if roll < 0.9 else "busy"

    def in_hours(self, allowed: str, when: dt.datetime) -> bool:
        start, _, end = allowed.partition("-")
        if start == end:
            return True  # "00:00-00:00": any time of day
        local = when.astimezone(self.tz).time()
        return dt.time.fromisoformat(start) <= local < dt.time.fromisoformat(end)

    def complete_due(self) -> list[dict[str, Any]]:
        """Finish every task whose time has come; returns the new outcome events."""
        now = self.clock()
        fresh: list[dict[str, Any]] = []
        with self.lock:
            due: list[Task] = []
            while self.pending and self.pending[0][0] <= now:  # a heap by due time: O(due), not O(all)
                due.append(self.tasks[heapq.heappop(self.pending)[2]])
            for task in due:
                if not self.in_hours(task.allowed_hours, now):
                    heapq.heappush(self.pending, (dt.datetime.fromisoformat(task.due), task.id, task.id))
                    continue
                self.attempts[task.number] = self.attempts.get(task.number, 0) + 1
                outcome = self._draw(task.number)
                if task.channel != "call" and outcome in ("busy", "invalid_number"):
                    outcome = "no_answer"
                task.status, task.outcome = "completed", outcome
                task.note = self.rng.choice(_NOTES) if outcome == "unsatisfied" else ""
                task.completed = now.isoformat()
                task.seq = len(self.events) + 1
                event = {
                    "event_id": f"evt-{task.seq:08d}",
                    "seq": task.seq,
                    "task_id": task.id,
                    "ticket_ref": task.ticket_ref,
                    "idempotency_key": task.idempotency_key,
                    "number": task.number,
                    "outcome": outcome,
                    "note": task.note,
                    "occurred_at": task.completed,
                    "callback_url": task.callback_url,
                }
                self.events.append(event)
                fresh.append(event)
        return fresh


def normalize(number: str) -> str:
    digits = re.sub(r"[\s()]", "", number)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits.replace("-", "") if digits.startswith("1") else digits


def create_app(
    *,
    seed: int = 1,
    token: str = "sandbox-dialer-token",
    outcome_delay_s: float = 0.5,
    webhook_secret: str = "sandbox-webhook-secret",
    timezone: str = "Asia/Shanghai",
    clock: Callable[[], dt.datetime] | None = None,
    faults: Faults | None = None,
    tick_s: float = 0.05,
) -> Any:
    """The dialer app; ``app.state.dialer`` is the data, ``app.state.faults`` the switches."""
    dialer = Dialer(seed=seed, delay_s=outcome_delay_s, timezone=timezone, clock=clock)
    faults = faults or Faults()

    async def deliver(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
        if dialer.reverse_webhooks:
            events = list(reversed(events))
        for event in events:
            url = event.get("callback_url")
            if not url:
                continue
            payload = {k: v for k, v in event.items() if k != "callback_url"}
            body = json.dumps(payload, ensure_ascii=False).encode()
            headers = {"content-type": "application/json", "X-Dialer-Signature": sign(webhook_secret, body)}
            for _ in range(2 if faults.duplicate_webhooks else 1):
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(url, content=body, headers=headers)
                faults.bump("webhooks")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def ticker() -> None:
            async with httpx.AsyncClient(timeout=5) as client:
                while not stop.is_set():
                    fresh = dialer.complete_due()
                    if fresh:
                        await deliver(client, fresh)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), tick_s)

        task = asyncio.create_task(ticker())
        yield
        stop.set()
        await task

    app = FastAPI(title="Sandbox call platform", lifespan=lifespan)
    app.state.dialer = dialer
    app.state.faults = faults

    def auth(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {token}":
            raise HTTPException(401, detail="invalid or missing bearer token")

    def view(task: Task) -> dict[str, Any]:
        data = asdict(task)
        data.pop("seq")
        return data

    @app.post("/api/v1/callbacks")
    async def create_callback(request: Request) -> Response:
        auth(request)
        body = await request.json()
        missing = [k for k in ("number", "ticket_ref", "idempotency_key") if not body.get(k)]
        if missing:
            raise HTTPException(422, detail=f"missing field(s): {', '.join(missing)}")
        channel = body.get("channel", "call")
        if channel not in ("call", "sms", "wecom"):
            raise HTTPException(422, detail=f"channel must be call, sms or wecom, not {channel!r}")
        allowed = body.get("allowed_hours", "09:00-20:00")
        if not re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", allowed):
            raise HTTPException(422, detail="allowed_hours must look like 09:00-20:00")
        number = normalize(str(body["number"]))
        with dialer.lock:
            existing = dialer.by_key.get(body["idempotency_key"])
            if existing:
                return JSONResponse(view(dialer.tasks[existing]), status_code=200)
            if number in dialer.dnc:
                return JSONResponse({"error": "do_not_call", "number": number}, status_code=409)
            now = dialer.clock()
            task = Task(
                id=f"CB{len(dialer.tasks) + 1:07d}",
                number=number,
                script=body.get("script", ""),
                ticket_ref=str(body["ticket_ref"]),
                allowed_hours=allowed,
                idempotency_key=body["idempotency_key"],
                channel=channel,
                created=now.isoformat(),
                due=(now + dt.timedelta(seconds=dialer.delay_s)).isoformat(),
                callback_url=body.get("callback_url"),
            )
            dialer.tasks[task.id] = task
            heapq.heappush(dialer.pending, (dt.datetime.fromisoformat(task.due), task.id, task.id))
            dialer.by_key[task.idempotency_key] = task.id
            dialer.calls_placed += 1
        return JSONResponse(view(task), status_code=201)

    @app.get("/api/v1/callbacks/{task_id}")
    async def get_callback(task_id: str, request: Request) -> Response:
        auth(request)
        dialer.complete_due()
        task = dialer.tasks.get(task_id)
        if task is None:
            raise HTTPException(404, detail=f"no callback task {task_id}")
        return JSONResponse(view(task))

    @app.get("/api/v1/outcomes")
    async def outcomes(request: Request, since: int = 0, limit: int = 500) -> Response:
        auth(request)
        dialer.complete_due()
        with dialer.lock:
            items = [{k: v for k, v in e.items() if k != "callback_url"} for e in dialer.events[since : since + limit]]
        return JSONResponse({"items": items, "next": since + len(items)})

    @app.get("/api/v1/dnc")
    async def dnc_list(request: Request) -> dict[str, Any]:
        auth(request)
        return {"numbers": sorted(dialer.dnc)}

    @app.post("/api/v1/dnc", status_code=201)
    async def dnc_add(request: Request) -> dict[str, Any]:
        auth(request)
        number = normalize(str((await request.json()).get("number", "")))
        if not _NUMBER.match(number):
            raise HTTPException(422, detail=f"{number!r} is not a phone number")
        dialer.dnc.add(number)
        return {"number": number}

    @app.delete("/api/v1/dnc/{number}")
    async def dnc_remove(number: str, request: Request) -> dict[str, Any]:
        auth(request)
        dialer.dnc.discard(normalize(number))
        return {"number": number}

    @app.get("/_sandbox/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "tasks": len(dialer.tasks), "calls_placed": dialer.calls_placed}

    wrapped = FaultMiddleware(app, faults)
    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped

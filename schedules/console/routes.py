"""The HTTP API's routes (``/api/v1``): bots, schedules, runs, logs, artifacts, triggers, the audit log.

The models they take and return are :mod:`schedules.console.schemas`.

Errors are JSON ``{"detail": ...}``; a 422 also carries ``errors`` as ``[{field, message, type}]``
(the same shape the bot's Params validation produces), and on a 422 nothing is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from backroom.schedules.console.auth import User
from backroom.schedules.console.schemas import (
    ArtifactOut,
    AuditOut,
    BotOut,
    BotState,
    ErrorOut,
    InvalidOut,
    LogLineOut,
    LogList,
    RunDetail,
    RunList,
    RunOut,
    ScheduleOut,
    TriggerIn,
)
from backroom.schedules.console.state import api_user, console, require, source_of
from backroom.schedules.console.views import next_fires
from backroom.schedules.errors import ParamsInvalid
from backroom.schedules.history import Run
from backroom.schedules.status import ACTIVE, RunStatus
from backroom.schedules.triggers import describe_schedule

__all__ = ["artifact_path", "router"]

bearer = HTTPBearer(auto_error=False, description="API token of a [[console.users]] entry")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no or wrong API token"},
    403: {"model": ErrorOut, "description": "the user's role does not allow this"},
    422: {"model": InvalidOut, "description": "invalid request; `errors` name each field"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no such bot or run"}}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(bearer)], responses=ERRORS)
Caller = Annotated[User, Depends(api_user)]


def _run_or_404(request: Request, run_id: str) -> Run:
    run = console(request).history.get_run(run_id) if len(run_id) <= 32 else None
    if run is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return run


def _bot_or_404(request: Request, bot: str) -> type:
    cls = console(request).runner.bots.get(bot)
    if cls is None:
        raise HTTPException(404, f"no bot {bot!r}")
    return cls


def _schedules(request: Request, bot: str | None = None, fires: dict[str, Any] | None = None) -> list[ScheduleOut]:
    runner = console(request).runner
    fires = next_fires(runner) if fires is None else fires
    out = []
    for job_id, spec in runner.specs.items():
        if bot and spec.bot != bot:
            continue
        out.append(
            ScheduleOut(
                job_id=job_id,
                bot=spec.bot,
                schedule=spec.schedule,
                calendar=spec.calendar,
                description=describe_schedule(spec.schedule, runner.settings.timezone, spec.calendar),
                next_fire=fires.get(job_id),
                paused=runner.is_paused(spec.bot),
            )
        )
    return out


def _bot_out(request: Request, name: str, last: Run | None, fires: dict[str, Any] | None = None) -> BotOut:
    runner = console(request).runner
    info = runner.bots[name].describe()
    return BotOut(
        name=name,
        summary=info.get("summary", ""),
        params_schema=info["params_schema"],
        idempotent=bool(info.get("idempotent")),
        supports_dry_run=bool(info.get("supports_dry_run")),
        paused=runner.is_paused(name),
        schedules=_schedules(request, name, fires),
        last_run=RunOut.of(last) if last else None,
    )


# -- bots and schedules --------------------------------------------------------------------------
@router.get("/bots", response_model=list[BotOut], summary="Every bot with its parameter schema and schedules")
def list_bots(request: Request, user: Caller) -> list[BotOut]:
    runner = console(request).runner
    names = sorted(runner.bots)
    last = runner.history.last_runs(names)
    fires = next_fires(runner)
    return [_bot_out(request, n, last.get(n), fires) for n in names]


@router.get("/bots/{bot}", response_model=BotOut, responses=NOT_FOUND, summary="One bot")
def get_bot(request: Request, bot: str, user: Caller) -> BotOut:
    _bot_or_404(request, bot)
    return _bot_out(request, bot, console(request).history.last_runs([bot]).get(bot))


@router.get("/schedules", response_model=list[ScheduleOut], summary="Scheduled jobs with their next fire times")
def list_schedules(request: Request, user: Caller) -> list[ScheduleOut]:
    return _schedules(request)


@router.post(
    "/bots/{bot}/runs",
    status_code=202,
    response_model=RunOut,
    responses=NOT_FOUND,
    summary="Trigger a run now (operator)",
)
def trigger_run(request: Request, bot: str, body: TriggerIn, user: Caller) -> RunOut:
    state = console(request)
    require(request, user, "operator", "trigger", bot, "api")
    cls = _bot_or_404(request, bot)
    if body.dry_run and not getattr(cls, "supports_dry_run", False):
        raise _invalid(
            request,
            user,
            bot,
            [{"field": "dry_run", "message": "this bot does not support dry runs", "type": "unsupported"}],
        )
    try:
        run = state.runner.trigger(
            bot, body.params, actor=user.name, source=source_of(request, "api"), dry_run=body.dry_run
        )
    except ParamsInvalid as exc:
        raise _invalid(request, user, bot, exc.errors) from None
    return RunOut.of(run)


class InvalidParams(HTTPException):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, "invalid parameters")
        self.errors = errors


def _invalid(request: Request, user: User, bot: str, errors: list[dict[str, Any]]) -> InvalidParams:
    console(request).history.audit(
        user.name, "trigger", bot, source=source_of(request, "api"), outcome="rejected", detail={"errors": errors}
    )
    return InvalidParams(errors)


@router.post("/bots/{bot}/pause", response_model=BotState, responses=NOT_FOUND, summary="Pause a bot's schedules")
def pause_bot(request: Request, bot: str, user: Caller) -> BotState:
    require(request, user, "operator", "pause", bot, "api")
    _bot_or_404(request, bot)
    console(request).runner.pause(bot, actor=user.name, source=source_of(request, "api"))
    return BotState(bot=bot, paused=True)


@router.post("/bots/{bot}/resume", response_model=BotState, responses=NOT_FOUND, summary="Resume a bot's schedules")
def resume_bot(request: Request, bot: str, user: Caller) -> BotState:
    require(request, user, "operator", "resume", bot, "api")
    _bot_or_404(request, bot)
    console(request).runner.resume(bot, actor=user.name, source=source_of(request, "api"))
    return BotState(bot=bot, paused=False)


# -- runs --------------------------------------------------------------------------------------------
def _aware(value: dt.datetime | None, request: Request, field: str) -> dt.datetime | None:
    """``value`` in UTC (naive = the console's zone); a 422 when that falls outside years 1–9999."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=console(request).settings.zone)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 00:00 in UTC+8 is a moment in year 0
        raise InvalidParams([{"field": field, "message": "date out of range", "type": "value_error"}]) from None


def _check_cursor(cursor: str | None) -> None:
    if cursor is None:
        return
    stamp, sep, last_id = cursor.partition("|")
    try:
        ok = bool(sep) and dt.datetime.fromisoformat(stamp).tzinfo is not None and 0 < len(last_id) <= 32
    except ValueError:
        ok = False
    if not ok:
        raise InvalidParams(
            [{"field": "cursor", "message": "not a cursor returned by this API", "type": "value_error"}]
        )


@router.get("/runs", response_model=RunList, summary="Runs, newest first (keyset-paginated)")
def list_runs(
    request: Request,
    user: Caller,
    bot: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[list[RunStatus] | None, Query(description="repeat to ask for several")] = None,
    since: Annotated[dt.datetime | None, Query(description="queued at or after (naive = local time)")] = None,
    until: Annotated[dt.datetime | None, Query(description="queued before (naive = local time)")] = None,
    day: Annotated[dt.date | None, Query(description="a local calendar day (sets since/until)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> RunList:
    _check_cursor(cursor)
    start, end = _aware(since, request, "since"), _aware(until, request, "until")
    if day is not None:
        zone = console(request).settings.zone
        try:
            start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
        except OverflowError:
            raise InvalidParams([{"field": "day", "message": "date out of range", "type": "value_error"}]) from None
    page = console(request).history.list_runs(
        bot=bot, status=list(status) if status else None, since=start, until=end, limit=limit, cursor=cursor
    )
    return RunList(runs=[RunOut.of(r) for r in page.runs], next_cursor=page.next_cursor)


@router.get("/runs/{run_id}", response_model=RunDetail, responses=NOT_FOUND, summary="One run with its artifacts")
def get_run(request: Request, run_id: str, user: Caller) -> RunDetail:
    run = _run_or_404(request, run_id)
    arts = console(request).history.artifacts(run.id)
    base = f"/api/v1/runs/{run.id}"
    return RunDetail(
        **RunOut.of(run).model_dump(),
        traceback=run.traceback,
        artifacts=[ArtifactOut(name=a.name, size=a.size, url=f"{base}/artifacts/{a.name}") for a in arts],
        log_url=f"{base}/logs",
        events_url=f"{base}/events",
    )


#: the most message text one page of a run's log carries (a page may also end at ``limit`` lines)
LOG_PAGE_BYTES = 1024 * 1024


@router.get("/runs/{run_id}/logs", response_model=LogList, responses=NOT_FOUND, summary="A run's log lines")
def get_logs(
    request: Request,
    run_id: str,
    user: Caller,
    after: Annotated[int, Query(ge=0, le=2**62, description="only lines with a larger id")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> LogList:
    """One page of lines: at most ``limit`` lines and about :data:`LOG_PAGE_BYTES` of text; ``more``
    says whether to ask again with ``after=last_id``."""
    run = _run_or_404(request, run_id)
    history = console(request).history
    lines = history.logs(run.id, after_id=after, limit=limit, max_bytes=LOG_PAGE_BYTES)
    last_id = lines[-1].id if lines else after
    more = bool(lines) and bool(history.logs(run.id, after_id=last_id, limit=1))
    return LogList(
        run_id=run.id,
        status=run.status,
        lines=[LogLineOut(id=x.id, at=x.at, level=x.level, logger=x.logger, message=x.message) for x in lines],
        last_id=last_id,
        more=more,
    )


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunOut,
    responses={**NOT_FOUND, 409: {"model": ErrorOut}},
    summary="Cancel a queued or running run (operator)",
)
def cancel_run(request: Request, run_id: str, user: Caller) -> RunOut:
    require(request, user, "operator", "cancel", run_id, "api")
    run = _run_or_404(request, run_id)
    if run.status not in ACTIVE:
        raise HTTPException(409, f"run {run.id} has already ended ({run.status})")
    after = console(request).runner.cancel(run.id, actor=user.name, source=source_of(request, "api"))
    return RunOut.of(after or run)


def artifact_path(run: Run, name: str) -> Path | None:
    """The file of artifact ``name`` of ``run``, or None when it is not one, or lies outside the run's folder.

    Only names recorded for the run are served, and the resolved path (symbolic links followed)
    must stay under ``<run_dir>/artifacts``: ``../``, absolute paths, encoded slashes and links out
    all end here as None.
    """
    if not run.run_dir or not name or "\x00" in name:
        return None
    base = (Path(run.run_dir) / "artifacts").resolve()
    try:
        target = (base / name).resolve()
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(base) or target == base or not target.is_file():
        return None
    return target


INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "application/pdf")


@router.get(
    "/runs/{run_id}/artifacts/{name:path}",
    responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
    response_class=FileResponse,
    summary="Download one artifact",
)
def download_artifact(request: Request, run_id: str, name: str, user: Caller, inline: bool = False) -> FileResponse:
    run = _run_or_404(request, run_id)
    recorded = {a.name for a in console(request).history.artifacts(run.id)}
    path = artifact_path(run, name) if name in recorded else None
    if path is None:
        raise HTTPException(404, f"run {run.id} has no artifact {name!r}")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    disposition = "inline" if inline and media in INLINE_TYPES else "attachment"
    return FileResponse(
        path,
        media_type=media,
        filename=path.name,
        content_disposition_type=disposition,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


@router.get(
    "/runs/{run_id}/events",
    responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
    response_class=StreamingResponse,
    summary="Live log tail and status changes (server-sent events)",
)
async def run_events(
    request: Request,
    run_id: str,
    user: Caller,
    after: Annotated[int, Query(ge=0, le=2**62, description="resume after this log line id")] = 0,
) -> StreamingResponse:
    """``log`` events (one per line, id = line id), ``status`` events on change, then ``end``.

    A reconnecting browser sends ``Last-Event-ID``, and the tail resumes after that line.
    """
    history = console(request).history
    run = await run_in_threadpool(_run_or_404, request, run_id)
    with contextlib.suppress(ValueError):
        after = max(after, int(request.headers.get("last-event-id", "0") or 0))
    poll = float(console(request).extra.get("sse_poll", 0.4))
    return StreamingResponse(
        _event_stream(request, history, run.id, after, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def _event_stream(request: Request, history: Any, run_id: str, after: int, poll: float) -> AsyncIterator[str]:
    last_state: tuple | None = None
    yield "retry: 2000\n\n"
    while True:
        run = await run_in_threadpool(history.get_run, run_id)
        lines = await run_in_threadpool(history.logs, run_id, after, 500)
        for line in lines:
            after = line.id
            yield _sse(
                "log", {"id": line.id, "at": line.at.isoformat(), "level": line.level, "message": line.message}, line.id
            )
        state = (run.status, json.dumps(run.progress, sort_keys=True, default=str))
        if state != last_state:
            last_state = state
            yield _sse(
                "status",
                {
                    "status": run.status,
                    "progress": run.progress,
                    "duration_s": run.duration_s,
                    "summary": run.summary,
                    "error": run.error,
                },
            )
        if run.status not in ACTIVE and len(lines) < 500:
            yield _sse("end", {"status": run.status})
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll)


# -- audit -----------------------------------------------------------------------------------------
@router.get("/audit", response_model=list[AuditOut], summary="The audit log, newest first (admin)")
def audit_log(
    request: Request,
    user: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditOut]:
    require(request, user, "admin", "read-audit", "audit", "api")
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            source=e.source,
            outcome=e.outcome,
            detail=e.detail or {},
        )
        for e in console(request).history.audit_log(limit=limit, offset=offset)
    ]

"""Server-rendered pages: home, bot, run, runs, audit, login. Forms post back with a CSRF token.

Every state change goes through the runner (which writes the audit entry) after the same role
check the API makes; a refused change renders a 403 page and is audited too.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backroom.schedules.console.auth import ANONYMOUS, User
from backroom.schedules.console.forms import Field, form_fields, form_to_params, inbox_choices, save_upload_target
from backroom.schedules.console.i18n import LANGUAGES, Translator
from backroom.schedules.console.routes import INLINE_TYPES
from backroom.schedules.console.state import (
    Denied,
    check_csrf,
    client_of,
    console,
    csrf_token,
    page_user,
    require,
    session_user,
    source_of,
    translator,
)
from backroom.schedules.console.views import BotRow, bot_rows, next_fires, schedule_words
from backroom.schedules.durations import format_duration
from backroom.schedules.errors import ParamsInvalid
from backroom.schedules.jobs import effective_params
from backroom.schedules.settings import BotSettings
from backroom.schedules.status import ACTIVE, STATUSES, Trigger
from backroom.schedules.triggers import describe_schedule

__all__ = ["forbidden", "not_found", "router", "to_login"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def _local(request: Request, value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(console(request).settings.zone).strftime("%Y-%m-%d %H:%M:%S")


def _render(request: Request, template: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    base = {
        "request": request,
        "t": t,
        "lang": t.lang,
        "languages": LANGUAGES,
        "user": user,
        "auth_enabled": console(request).auth.enabled,
        "csrf": csrf_token(request),
        "local": lambda v: _local(request, v),
        "duration": format_duration,
        "zone": console(request).settings.timezone,
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after log-in (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def to_login(request: Request, expired: bool = False) -> Response:
    target = f"/login?next={quote(request.url.path)}" + ("&expired=1" if expired else "")
    return RedirectResponse(target, status_code=303)


def forbidden(request: Request, exc: Denied) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        exc.user,
        status_code=403,
        title="Forbidden",
        message="Your role does not allow this action.",
        detail=str(exc),
    )


def not_found(request: Request, detail: str) -> HTMLResponse:
    user, _ = session_user(request) if console(request).auth.enabled else (ANONYMOUS, False)
    return _render(request, "error.html", user, status_code=404, title="Not found", message=detail, detail="")


def _form_expired(request: Request, user: User) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        user,
        status_code=403,
        title="Forbidden",
        message="The form expired; please try again.",
        detail="",
    )


# -- log in / out, language --------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/", expired: int = 0) -> Response:
    if not console(request).auth.enabled:
        return RedirectResponse("/", status_code=303)
    return _render(
        request,
        "login.html",
        None,
        next=_safe_next(next),
        error="Your session has expired; please log in again." if expired else None,
        name="",
    )


@router.post("/login")
async def login(request: Request) -> Response:
    state = console(request)
    form = await request.form()
    target = _safe_next(str(form.get("next") or "/"))
    if not check_csrf(request, str(form.get("csrf") or "")):
        return _render(
            request,
            "login.html",
            None,
            status_code=403,
            next=target,
            error="The form expired; please try again.",
            name="",
        )
    name = str(form.get("name") or "")[:100]
    source = source_of(request, "web")
    address = client_of(request)
    throttle = state.throttle
    assert throttle is not None
    if throttle.blocked(address, name):
        if throttle.first_refusal(address, name):
            state.history.audit(name or "?", "login", "console", source=source, outcome="throttled")
        error = "Too many failed log-ins; wait a few minutes and try again."
        return _render(request, "login.html", None, status_code=429, next=target, error=error, name=name)
    user = await run_in_threadpool(state.auth.by_password, name, str(form.get("password") or ""))
    if user is None:
        throttle.failed(address, name)
        state.history.audit(name or "?", "login", "console", source=source, outcome="denied")
        return _render(
            request, "login.html", None, status_code=401, next=target, error="Wrong user name or password.", name=name
        )
    throttle.succeeded(address, name)
    request.session.clear()
    session = state.sessions.create(user.name, state.auth.credential_stamp(user.name) or "")
    request.session["sid"] = session.id
    csrf_token(request)  # a fresh token for the new session
    state.history.audit(user.name, "login", "console", source=source)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    user, _ = session_user(request)
    if user and check_csrf(request, str(form.get("csrf") or "")):
        console(request).history.audit(user.name, "logout", "console", source=source_of(request, "web"))
        console(request).sessions.end(request.session.get("sid", ""))
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
    return response


# -- home -------------------------------------------------------------------------------------------------
def _words(request: Request, t: Translator, schedule: str | None, calendar: str | None, english: str) -> str:
    if t.lang == "zh-CN":
        return describe_schedule(schedule, console(request).settings.timezone, calendar, lang=t.lang)
    return english


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = page_user(request)
    rows: list[BotRow] = bot_rows(console(request).runner)
    return _render(request, "home.html", user, rows=rows)


# -- a bot ---------------------------------------------------------------------------------------------------
def _bot_context(request: Request, bot: str) -> dict[str, Any]:
    state = console(request)
    runner = state.runner
    cls = runner.bots[bot]
    t = translator(request)
    schedules = []
    fires = next_fires(runner)
    for job_id, words, calendar in schedule_words(runner, bot):
        spec = runner.specs[job_id]
        schedules.append(
            {
                "job_id": job_id,
                "words": _words(request, t, spec.schedule, calendar, words),
                "raw": spec.schedule,
                "next": fires.get(job_id),
            }
        )
    defaults = state.settings.bots.get(bot, BotSettings()).params
    fields = form_fields(cls.Params.model_json_schema())
    for f in fields:
        if f.name in defaults:
            f.default = defaults[f.name]
    recent = state.history.list_runs(bot=bot, limit=20).runs
    bot_settings = state.settings.bots.get(bot, BotSettings())
    mail = bot_settings.mail
    return {
        "bot": bot,
        "summary": getattr(cls, "summary", ""),
        "schedules": schedules,
        "when": bot_settings.when,
        "condition": state.history.condition_state(bot) if bot_settings.when else None,
        "mail": f"{mail.user}@{mail.host}/{mail.folder}" if mail else None,
        "next": runner.next_fire_by_bot(fires).get(bot),
        "paused": runner.is_paused(bot),
        "fields": fields,
        "recent": recent,
        "supports_dry_run": bool(getattr(cls, "supports_dry_run", False)),
        "inbox": str(_inbox(request, bot)),
        "choices": inbox_choices(_inbox(request, bot)) if any(f.widget == "file" for f in fields) else [],
        "values": {},
        "errors": {},
        "form_error": None,
    }


def _inbox(request: Request, bot: str) -> Path:
    """The bot's inbox root: uploads land here and the picker lists it; a run reads nothing outside."""
    return console(request).settings.roots_for(bot).root("inbox")


@router.get("/bots/{bot}", response_class=HTMLResponse)
def bot_page(request: Request, bot: str) -> Response:
    user = page_user(request)
    if bot not in console(request).runner.bots:
        return not_found(request, f"no bot {bot!r}")
    return _render(request, "bot.html", user, **_bot_context(request, bot))


@router.post("/bots/{bot}/run")
async def run_now(request: Request, bot: str) -> Response:
    user = page_user(request)
    state = console(request)
    form = await request.form()
    if not check_csrf(request, str(form.get("csrf") or "")):
        return _form_expired(request, user)
    require(request, user, "operator", "trigger", bot, "web")
    cls = state.runner.bots.get(bot)
    if cls is None:
        return not_found(request, f"no bot {bot!r}")
    ctx = _bot_context(request, bot)
    fields: list[Field] = ctx["fields"]
    answers = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
    params, errors = form_to_params(fields, answers)
    uploads: dict[str, UploadFile] = {}
    for f in fields:
        item = form.get(f.name)
        if f.widget == "file" and isinstance(item, UploadFile) and item.filename:
            uploads[f.name] = item
    dry_run = str(form.get("__dry_run", "")) in ("on", "true", "1")
    defaults = state.settings.bots.get(bot, BotSettings()).params
    roots = state.settings.roots_for(bot)
    saved: dict[str, Path] = {}
    if not errors:
        # An upload is written first (never over an existing file) so the params are validated as the
        # run will see them: confined under the bot's roots. Refused params take the uploads back out.
        for name, item in uploads.items():
            saved[name] = await _save_upload(item, _inbox(request, bot))
        try:
            effective_params(cls, defaults, {**params, **{k: str(p) for k, p in saved.items()}}, roots=roots)
        except ParamsInvalid as exc:
            errors = {e["field"].split(".")[0]: e["message"] for e in exc.errors}
            for path in saved.values():
                path.unlink(missing_ok=True)
    if errors:
        state.history.audit(
            user.name, "trigger", bot, source=source_of(request, "web"), outcome="rejected", detail={"errors": errors}
        )
        ctx.update(
            values=answers, errors=errors, form_error="The parameters were not accepted; see the fields marked below."
        )
        return _render(request, "bot.html", user, status_code=422, **ctx)
    for name, path in saved.items():
        params[name] = str(path)
        state.history.audit(
            user.name,
            "upload",
            bot,
            source=source_of(request, "web"),
            detail={"param": name, "file": str(path), "size": path.stat().st_size},
        )
    run = state.runner.trigger(
        bot, params, actor=user.name, source=source_of(request, "web"), trigger=Trigger.MANUAL, dry_run=dry_run
    )
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


async def _save_upload(item: UploadFile, inbox: Path) -> Path:
    """Write an upload into the inbox without ever replacing an existing file."""
    while True:
        target = save_upload_target(inbox, item.filename or "upload")
        try:
            handle = open(target, "xb")  # noqa: SIM115 - closed below; "x" refuses to overwrite
        except FileExistsError:
            continue
        with handle:
            while chunk := await item.read(1 << 20):
                handle.write(chunk)
        return target


@router.post("/bots/{bot}/{action}")
async def pause_resume(request: Request, bot: str, action: str) -> Response:
    user = page_user(request)
    form = await request.form()
    if action not in ("pause", "resume"):
        return not_found(request, f"no action {action!r}")
    if not check_csrf(request, str(form.get("csrf") or "")):
        return _form_expired(request, user)
    require(request, user, "operator", action, bot, "web")
    runner = console(request).runner
    if bot not in runner.bots:
        return not_found(request, f"no bot {bot!r}")
    getattr(runner, action)(bot, actor=user.name, source=source_of(request, "web"))
    return RedirectResponse(f"/bots/{quote(bot)}", status_code=303)


# -- runs -------------------------------------------------------------------------------------------------
@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request, bot: str | None = None, status: str | None = None, cursor: str | None = None
) -> Response:
    user = page_user(request)
    state = console(request)
    status = status if status in STATUSES else None
    bot = bot or None
    try:
        page = state.history.list_runs(bot=bot, status=status, limit=50, cursor=cursor)
    except ValueError:
        page = state.history.list_runs(bot=bot, status=status, limit=50)
    return _render(
        request,
        "runs.html",
        user,
        runs=page.runs,
        next_cursor=page.next_cursor,
        bots=sorted(state.runner.bots),
        bot=bot,
        status=status,
        statuses=STATUSES,
    )


#: one page of a run's log on its page: so many lines, so much text (later pages: ``?after=ID``)
LOG_PAGE_LINES = 2000
LOG_PAGE_BYTES = 1024 * 1024


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, after: int = Query(0, ge=0, le=2**62)) -> Response:
    user = page_user(request)
    state = console(request)
    run = state.history.get_run(run_id) if len(run_id) <= 32 else None
    if run is None:
        return not_found(request, f"no run {run_id!r}")
    lines = state.history.logs(run.id, after_id=after, limit=LOG_PAGE_LINES, max_bytes=LOG_PAGE_BYTES)
    more_after = lines[-1].id if lines and state.history.logs(run.id, after_id=lines[-1].id, limit=1) else None
    arts = []
    for a in state.history.artifacts(run.id):
        suffix = Path(a.name).suffix.lower()
        arts.append(
            {
                "name": a.name,
                "size": a.size,
                "image": suffix in IMAGE_SUFFIXES,
                "url": f"/api/v1/runs/{run.id}/artifacts/{quote(a.name)}",
            }
        )
    return _render(
        request,
        "run.html",
        user,
        run=run,
        lines=lines,
        last_id=lines[-1].id if lines else after,
        more_after=more_after,
        artifacts=arts,
        active=run.status in ACTIVE,
        params_json=json.dumps(run.params or {}, ensure_ascii=False, indent=2),
        inline_types=INLINE_TYPES,
        status_labels={s: translator(request)(s) for s in STATUSES},
    )


@router.post("/runs/{run_id}/cancel")
async def cancel_page(request: Request, run_id: str) -> Response:
    user = page_user(request)
    form = await request.form()
    if not check_csrf(request, str(form.get("csrf") or "")):
        return _form_expired(request, user)
    require(request, user, "operator", "cancel", run_id, "web")
    state = console(request)
    run = state.history.get_run(run_id) if len(run_id) <= 32 else None
    if run is None:
        return not_found(request, f"no run {run_id!r}")
    if run.status in ACTIVE:
        state.runner.cancel(run.id, actor=user.name, source=source_of(request, "web"))
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


# -- audit ---------------------------------------------------------------------------------------------------
@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, page: int = 0) -> Response:
    user = page_user(request)
    require(request, user, "admin", "read-audit", "audit", "web")
    page = max(0, min(page, 100_000))
    entries = console(request).history.audit_log(limit=100, offset=page * 100)
    return _render(request, "audit.html", user, entries=entries, page=page, more=len(entries) == 100)

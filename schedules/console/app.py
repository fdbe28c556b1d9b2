"""``create_app(runner)``: the console's FastAPI application, as ``backroom serve`` runs it.

/api/v1/...   JSON API (bearer tokens or the session cookie), OpenAPI at /api/openapi.json
/...          server-rendered pages (session cookie, CSRF-protected forms)
/metrics      Prometheus text format
/health       for a load balancer or a systemd watchdog (no authentication: status only; details
              for a signed-in viewer)

Every request first passes :class:`~.guard.RequestGuard` (Host, Origin, body size).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from backroom.schedules.console import pages, queue_pages, routes, schemas, worker_pages
from backroom.schedules.console.auth import Auth, check_bind
from backroom.schedules.console.guard import RequestGuard, allowed_hosts
from backroom.schedules.console.metrics import make_registry, render
from backroom.schedules.console.state import ConsoleState, Denied, LoginRequired, api_user, csrf_token, source_of
from backroom.schedules.errors import UnsafeBind
from backroom.schedules.runner import Runner
from backroom.schedules.runsdir import runs_folder_problem

__all__ = ["UnsafeBind", "check_bind", "create_app"]

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

#: pages load only their own script and styles (inline style attributes draw the success meters)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def create_app(
    runner: Runner,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    https_only: bool | None = None,
) -> FastAPI:
    """The console for ``runner`` (started or not: an unstarted runner still queues and lists runs).

    ``environ`` replaces ``os.environ`` for resolving token and secret-key references (tests);
    ``clock`` is the time source for session expiry. The session cookie is ``Secure`` when
    ``console.public_url`` is https (``https_only`` overrides).
    """
    settings = runner.settings.console
    if https_only is None:
        https_only = bool(settings.public_url and settings.public_url.startswith("https://"))
    auth = Auth(settings, environ=environ)
    for problem in auth.token_problems:
        log.warning("console API token not usable, so it is refused: %s", problem)
    state = ConsoleState(runner=runner, auth=auth, clock=clock)
    app = FastAPI(
        title="Backroom console API",
        version="1",
        description="Trigger, watch and audit Backroom's bots. Authenticate with `Authorization: Bearer <token>`.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.console = state
    app.add_middleware(
        SessionMiddleware,
        secret_key=auth.session_secret(),
        session_cookie="backroom_session",
        max_age=state.session_seconds,
        same_site="lax",
        https_only=https_only,
    )
    app.add_middleware(
        RequestGuard,
        hosts=allowed_hosts(settings.host, settings.public_url, settings.allowed_hosts),
        public_url=settings.public_url,
        max_body=int(settings.max_body_mb * 1024 * 1024),
    )
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.include_router(queue_pages.router)
    app.include_router(worker_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    registry = make_registry(runner)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html") and request.url.path != "/api/docs":
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        return response

    @app.exception_handler(routes.InvalidParams)
    async def invalid_params(request: Request, exc: routes.InvalidParams) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "(request)",
                "message": str(e.get("msg", "invalid")),
                "type": str(e.get("type", "value_error")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return pages.forbidden(request, exc)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return pages.to_login(request, exc.expired)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if not request.url.path.startswith(("/api/", "/metrics", "/health")) and exc.status_code == 404:
            return pages.not_found(request, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/health", response_model=schemas.Health, tags=["operations"], responses={503: {"model": schemas.Health}})
    async def health(request: Request) -> JSONResponse:
        """200 when the database answers, runs can write their folders (and the scheduler runs, where it
        was started); 503 otherwise.

        Anonymous callers (a load balancer) get the status alone; a signed-in viewer gets the details."""

        def probe() -> dict[str, Any]:
            try:
                with runner.history.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                database = "ok"
                active = len(runner.history.active_runs())
            except Exception as exc:
                database, active = f"error: {type(exc).__name__}", 0
            scheduler = getattr(runner, "scheduler", None)
            sched = "off" if scheduler is None else ("running" if scheduler.running else "stopped")
            if sched == "running" and not getattr(runner, "owns_job_store", True):
                sched = "standby"  # lost the job store's owner lock: another serve schedules
            runs_folder = "error: not writable" if runs_folder_problem(runner.settings.runs_path) else "ok"
            ok = database == "ok" and sched not in ("stopped", "standby") and runs_folder == "ok"
            return {
                "status": "ok" if ok else "degraded",
                "database": database,
                "scheduler": sched,
                "runs_folder": runs_folder,
                "bots": len(runner.bots),
                "active_runs": active,
            }

        body = await run_in_threadpool(probe)
        code = 200 if body["status"] == "ok" else 503
        if state.auth.enabled:
            try:
                api_user(request)
            except HTTPException:
                return JSONResponse({"status": body["status"]}, status_code=code)
        return JSONResponse(body, status_code=code)

    @app.get("/api/v1/session", tags=["session"])
    async def session_info(request: Request) -> dict[str, str]:
        """Who this session is and its CSRF token, for scripts that change things through the session cookie
        (on a console without users, every change needs it in ``X-CSRF-Token``)."""
        user = api_user(request)
        return {"user": user.name, "role": user.role, "csrf": csrf_token(request)}

    @app.post("/api/v1/users/{name}/sign-out", tags=["session"])
    async def sign_out_everywhere(request: Request, name: str) -> dict[str, int]:
        """End every session of ``name``: an admin for anyone, a user for themselves. Audited."""
        user = api_user(request)
        if user.name != name and not user.can("admin"):
            raise Denied(user, "admin", "sign out another user")
        ended = state.sessions.end_all(name)
        runner.history.audit(
            user.name, "sign-out-everywhere", name, source=source_of(request, "api"), detail={"sessions": ended}
        )
        return {"sessions_ended": ended}

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, 401: {"model": schemas.ErrorOut}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics; needs a viewer token when users are configured."""
        if state.auth.enabled:
            api_user(request)
        body = await run_in_threadpool(render, registry)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app

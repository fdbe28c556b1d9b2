"""The BI dashboard with no API behind it: login form, session cookie, hourly table and SVG chart.

Sessions are signed cookies dated by the app's clock, so they expire after ``faults.session_ttl_s``
on a clock tests move. ``layout_variant = 1`` renames and reorders the columns."""

from __future__ import annotations

import datetime as dt
import secrets as pysecrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from jinja2 import DictLoader, Environment, select_autoescape

from backroom.sandbox.metrics_source.data import (
    _RENAMED,
    DASHBOARD_COLUMNS,
    LOCAL,
)
from backroom.sandbox.metrics_source.served import Served

__all__ = ["add_dashboard"]

_PAGES = {
    "login.html": """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>运营看板 登录</title></head>
<body><h1>呼叫中心运营看板</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<label>用户名 <input name="username" autocomplete="username"></label>
<label>密码 <input name="password" type="password"></label>
<button type="submit">登录</button></form></body></html>""",
    "home.html": """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>首页</title></head>
<body><nav><a href="/dashboard">运营看板</a> <a href="/logout">退出</a></nav>
<p>欢迎，{{ user }}</p></body></html>""",
    "dashboard.html": """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>运营看板</title>
<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:16px}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:2px 6px;text-align:right}th{background:#1f4e78;color:#fff}</style></head>
<body><nav><a href="/">首页</a></nav><h1>运营看板 {{ day }}</h1>
<form method="get" action="/dashboard"><label>日期 <input name="date" type="date" value="{{ day }}"></label>
<button type="submit">查询</button></form>
<svg width="720" height="160" role="img" aria-label="呼入量趋势">{% for q in chart %}
<polyline fill="none" stroke="{{ q.color }}" stroke-width="2" points="{{ q.points }}"/>{% endfor %}</svg>
<div class="{{ 'grid-v2' if variant else 'grid' }}"><table id="{{ 'kpi-table' if variant else 'metrics' }}">
<thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table></div></body></html>""",
}


def _clock_signer(now: Callable[[], dt.datetime]) -> type[TimestampSigner]:
    """A session signer that dates cookies by ``now``: sessions expire on the sandbox's clock, which
    tests move, rather than on the wall clock they would have to sleep through."""

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now().timestamp())

    return ClockSigner


def add_dashboard(app: FastAPI, served: Served) -> None:
    """Register the login and dashboard pages on ``app``."""
    data, now, glitch = served.data, served.now, served.glitch
    faults, username, password = served.faults, served.username, served.password
    signer = URLSafeTimedSerializer(pysecrets.token_hex(16), salt="metrics-session", signer=_clock_signer(now))
    env = Environment(loader=DictLoader(_PAGES), autoescape=select_autoescape(["html"]))

    def session_user(request: Request) -> str | None:
        raw = request.cookies.get("metrics_session")
        if not raw:
            return None
        try:
            max_age = faults.session_ttl_s or None
            return str(signer.loads(raw, max_age=max_age))
        except BadSignature:
            return None

    def page(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values))

    @app.get("/login")
    def login_form() -> Any:
        return page("login.html", error=None)

    @app.post("/login")
    def login(username_: str = Form("", alias="username"), password_: str = Form("", alias="password")) -> Any:
        if username_ != username or password_ != password:
            return HTMLResponse(env.get_template("login.html").render(error="用户名或密码错误"), status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie("metrics_session", signer.dumps(username_), httponly=True)
        return response

    @app.get("/logout")
    def logout() -> Any:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie("metrics_session")
        return response

    @app.get("/")
    def home(request: Request) -> Any:
        user = session_user(request)
        if not user:
            return RedirectResponse("/login", status_code=303)
        return page("home.html", user=user)

    @app.get("/dashboard")
    def dashboard(request: Request, date: str | None = None) -> Any:
        if not session_user(request):
            return RedirectResponse("/login", status_code=303)
        current = now()
        day = dt.date.fromisoformat(date) if date else current.astimezone(LOCAL).date()
        begin = dt.datetime.combine(day, dt.time(), LOCAL)
        end = min(begin + dt.timedelta(days=1), current)
        headers = list(DASHBOARD_COLUMNS)
        variant = faults.layout_variant
        if variant:
            headers = [_RENAMED.get(h, h) for h in headers]
            headers = headers[:2] + headers[2:][::-1]  # numbers in another order
        rows = []
        chart = []
        colors = ["#1f77b4", "#d62728", "#2ca02c"]
        by_queue = {queue: data.rows(queue, begin, end, 60) for queue in data.queues}
        peak = max((r["offered"] for rows_ in by_queue.values() for r in rows_), default=1) or 1
        for qi, (queue, hourly) in enumerate(by_queue.items()):
            points = " ".join(f"{20 + 28 * i},{150 - 130 * r['offered'] / peak:.0f}" for i, r in enumerate(hourly))
            chart.append({"color": colors[qi % 3], "points": points})
            for r in hourly:
                local = dt.datetime.fromisoformat(r["interval_start"]).astimezone(LOCAL)
                answered = r["answered"] or 1
                values = {
                    "queue": queue,
                    "hour": local.strftime("%H:00"),
                    "offered": glitch(f"{r['offered']:,}"),
                    "answered": glitch(f"{r['answered']:,}"),
                    "abandoned": glitch(r["abandoned"]),
                    "answered_within_20s": glitch(r["answered_within_20s"]),
                    "aht_seconds": glitch(f"{r['aht_seconds']:.1f}"),
                    "fcr_rate": glitch(f"{100 * r['fcr_resolved'] / answered:.1f}%"),
                    "csat_rate": glitch(f"{100 * r['csat_satisfied'] / (r['csat_responses'] or 1):.1f}%"),
                }
                by_header = {h: values[f] for h, f in DASHBOARD_COLUMNS.items()}
                by_header.update({_RENAMED[h]: by_header[h] for h in _RENAMED})
                rows.append([by_header[h] for h in headers])
        return page("dashboard.html", day=day.isoformat(), headers=headers, rows=rows, chart=chart, variant=variant)

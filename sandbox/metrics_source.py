"""Sandbox metrics source: contact-centre figures per queue and interval, four ways.

A stand-in for the systems a service centre reads its numbers from (an ACD/WFM reporting API, a
Prometheus server, a BI dashboard with no API). Figures are a pure function of ``(seed, queue,
interval)``, so every pull of the same interval returns the same numbers — which is what lets the
tests check that re-pulling replaces rather than duplicates. Volumes follow a realistic shape in
local time (Asia/Shanghai): quiet nights, a 10:00 peak, a lunch dip, a second peak at 15:00, a busy
Monday and quiet weekends.

Served on one app:

* ``GET /api/v1/queues`` and ``GET /api/v1/metrics?queue=&start=&end=&interval=15|30|60&limit=&cursor=``
  (``Authorization: Bearer <token>`` or HTTP basic; cursor pagination; ISO 8601 times, ``+08:00``);
* ``GET /metrics``: Prometheus exposition of the last complete 15-minute interval;
* ``GET /api/v1/query`` and ``/api/v1/query_range``: the Prometheus HTTP API for plain selectors
  such as ``cc_calls_offered{queue="billing"}`` (a sample at time T is the 15-minute interval that
  *ends* at T);
* ``GET /login`` + ``/dashboard?date=YYYY-MM-DD``: an HTML page (hourly table + SVG chart) behind a
  login form and a session cookie, with no API behind it.

Switches beyond :mod:`sandbox.faults`: ``POST /_sandbox/anomalies`` (a JSON list of
:class:`Anomaly`), ``POST /_sandbox/glitches`` (``non_numeric_every``: every Nth value rendered as
``"N/A"``; ``duplicate_rows``: each API row sent twice). ``layout_variant = 1`` renames and reorders
the dashboard's columns.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets as pysecrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from jinja2 import DictLoader, Environment, select_autoescape

from backroom.sandbox.faults import FaultMiddleware, Faults

__all__ = [
    "DASHBOARD_COLUMNS",
    "FIELDS",
    "PROM_METRICS",
    "QUEUES",
    "Anomaly",
    "MetricsData",
    "create_app",
]

LOCAL = ZoneInfo("Asia/Shanghai")
QUEUES: dict[str, float] = {"billing": 60.0, "tech": 40.0, "vip": 12.0}  # offered per 15 min at peak
FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "answered_within_20s",
    "answered_within_30s",
    "handle_seconds",
    "aht_seconds",
    "fcr_resolved",
    "csat_responses",
    "csat_satisfied",
    "staffed_seconds",
)
#: Prometheus gauge name -> field.
PROM_METRICS = {
    "cc_calls_offered": "offered",
    "cc_calls_answered": "answered",
    "cc_calls_abandoned": "abandoned",
    "cc_calls_answered_within_20s": "answered_within_20s",
    "cc_calls_answered_within_30s": "answered_within_30s",
    "cc_handle_seconds": "handle_seconds",
    "cc_aht_seconds": "aht_seconds",
    "cc_fcr_resolved": "fcr_resolved",
    "cc_csat_responses": "csat_responses",
    "cc_csat_satisfied": "csat_satisfied",
    "cc_staffed_seconds": "staffed_seconds",
}
#: Dashboard headers (normal layout) -> field; percentages are shown for the two rates.
DASHBOARD_COLUMNS = {
    "队列": "queue",
    "时段": "hour",
    "呼入量": "offered",
    "接通量": "answered",
    "放弃量": "abandoned",
    "20秒内接通": "answered_within_20s",
    "平均处理时长(秒)": "aht_seconds",
    "首解率": "fcr_rate",
    "满意度": "csat_rate",
}
_RENAMED = {"放弃量": "放弃数", "首解率": "一次解决率"}  # layout_variant = 1

# Share of the day's peak volume by local hour: quiet night, 10:00 peak, lunch dip, 15:00 peak.
_HOURLY = np.array(
    [0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.08, 0.25, 0.6, 0.9, 1.0, 0.95,
     0.7, 0.75, 0.9, 0.95, 0.85, 0.7, 0.55, 0.45, 0.4, 0.3, 0.18, 0.1]
)  # fmt: skip
_WEEKDAY = np.array([1.25, 1.1, 1.0, 1.0, 0.95, 0.6, 0.5])  # Monday first
_EPOCH = dt.datetime(2020, 1, 6, tzinfo=dt.UTC)  # a Monday, the origin of interval numbers


@dataclass
class Anomaly:
    """An injected incident: ``kind`` scales one behaviour of ``queue`` during [start, end).

    kinds: ``abandon`` (abandonment probability × factor), ``volume`` (offered × factor),
    ``aht`` (handle time × factor), ``csat`` (satisfied share × factor), ``outage`` (no rows).
    """

    queue: str
    start: dt.datetime
    end: dt.datetime
    kind: str = "abandon"
    factor: float = 3.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Anomaly:
        values = dict(data)
        for key in ("start", "end"):
            if isinstance(values[key], str):
                values[key] = dt.datetime.fromisoformat(values[key])
        return cls(**values)


def _hash_uniform(seed: int, queue_index: int, slots: np.ndarray, stream: int) -> np.ndarray:
    """Counter-based uniforms in (0, 1): splitmix64 of (seed, queue, slot, stream). Vectorised."""
    with np.errstate(over="ignore"):
        x = slots.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((seed * 1_000_003 + queue_index * 7919 + stream * 104_729) & 0xFFFFFFFFFFFFFFFF)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53) + 0.5 / float(1 << 53)


def _normal(seed: int, qi: int, slots: np.ndarray, stream: int) -> np.ndarray:
    u1 = _hash_uniform(seed, qi, slots, stream)
    u2 = _hash_uniform(seed, qi, slots, stream + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)


@dataclass
class MetricsData:
    """The generator: 15-minute figures per queue as a pure function of the seed."""

    seed: int = 7
    queues: dict[str, float] = field(default_factory=lambda: dict(QUEUES))
    anomalies: list[Anomaly] = field(default_factory=list)

    def quarter_rows(self, queue: str, start: dt.datetime, end: dt.datetime) -> dict[str, np.ndarray]:
        """Arrays of every field for the 15-minute intervals of ``queue`` starting in [start, end)."""
        if queue not in self.queues:
            raise KeyError(queue)
        qi = list(self.queues).index(queue)
        first = int(np.ceil((start - _EPOCH).total_seconds() / 900))
        last = int(np.ceil((end - _EPOCH).total_seconds() / 900))
        slots = np.arange(first, max(first, last), dtype=np.int64)
        starts_utc = _EPOCH.timestamp() + slots * 900.0
        local = starts_utc + 8 * 3600  # Asia/Shanghai has no DST
        hour = ((local // 3600) % 24).astype(int)
        weekday = (((local // 86400) + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
        level = self.queues[queue] * _HOURLY[hour] * _WEEKDAY[weekday]
        vol_f = np.ones_like(level)
        ab_f = np.ones_like(level)
        aht_f = np.ones_like(level)
        csat_f = np.ones_like(level)
        keep = np.ones(level.shape, dtype=bool)
        for anomaly in self.anomalies:
            if anomaly.queue != queue:
                continue
            hit = (starts_utc >= anomaly.start.timestamp()) & (starts_utc < anomaly.end.timestamp())
            target = {"volume": vol_f, "abandon": ab_f, "aht": aht_f, "csat": csat_f}.get(anomaly.kind)
            if anomaly.kind == "outage":
                keep &= ~hit
            elif target is not None:
                target[hit] *= anomaly.factor
        lam = level * vol_f
        offered = np.maximum(0, np.rint(lam + np.sqrt(lam) * _normal(self.seed, qi, slots, 1)))
        p_ab = np.clip((0.035 + 0.02 * _hash_uniform(self.seed, qi, slots, 3)) * ab_f, 0, 0.95)
        abandoned = np.minimum(offered, np.rint(offered * p_ab + 0.3 * _normal(self.seed, qi, slots, 4)).clip(0))
        answered = offered - abandoned
        sl = np.clip(0.84 + 0.05 * _normal(self.seed, qi, slots, 6) - 2.0 * (p_ab - 0.045), 0.2, 1.0)
        within20 = np.minimum(answered, np.rint(answered * sl))
        within30 = np.minimum(answered, within20 + np.rint((answered - within20) * 0.5))
        aht = np.clip((280.0 + 20 * qi + 25 * _normal(self.seed, qi, slots, 8)) * aht_f, 60, 3600)
        handle = np.rint(answered * aht)
        occupancy = np.clip(0.82 + 0.04 * _normal(self.seed, qi, slots, 10), 0.6, 0.95)
        staffed = np.maximum(2 * 900.0, np.rint(handle / occupancy))
        fcr = np.rint(answered * np.clip(0.74 + 0.05 * _normal(self.seed, qi, slots, 12), 0.3, 1.0))
        responses = np.rint(answered * 0.3)
        sat_share = np.clip((0.87 + 0.04 * _normal(self.seed, qi, slots, 14)) * csat_f, 0.0, 1.0)
        satisfied = np.minimum(responses, np.rint(responses * sat_share))
        aht_shown = np.where(answered > 0, np.round(handle / np.maximum(answered, 1), 1), 0.0)
        out = {
            "slot": slots,
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "answered_within_20s": within20,
            "answered_within_30s": within30,
            "handle_seconds": handle,
            "aht_seconds": aht_shown,
            "fcr_resolved": fcr,
            "csat_responses": responses,
            "csat_satisfied": satisfied,
            "staffed_seconds": staffed,
        }
        return {k: v[keep] for k, v in out.items()}

    def rows(self, queue: str, start: dt.datetime, end: dt.datetime, minutes: int = 15) -> list[dict[str, Any]]:
        """Rows of ``minutes``-long intervals (15, 30 or 60) in [start, end), sums over quarters."""
        if minutes not in (15, 30, 60):
            raise ValueError("interval must be 15, 30 or 60 minutes")
        per = minutes // 15
        start = _floor(start, minutes)
        data = self.quarter_rows(queue, start, end)
        groups: dict[int, dict[str, float]] = {}
        for i, slot in enumerate(data["slot"].tolist()):
            group = slot - slot % per
            acc = groups.setdefault(group, dict.fromkeys(FIELDS, 0.0))
            for name in FIELDS:
                if name != "aht_seconds":
                    acc[name] += float(data[name][i])
        out = []
        for group, acc in sorted(groups.items()):
            begin = _EPOCH + dt.timedelta(minutes=15 * group)
            if begin + dt.timedelta(minutes=minutes) > end:
                continue  # an interval is served only once it is complete
            acc["aht_seconds"] = round(acc["handle_seconds"] / acc["answered"], 1) if acc["answered"] else 0.0
            row: dict[str, Any] = {
                "queue": queue,
                "interval_start": begin.astimezone(LOCAL).isoformat(),
                "interval_minutes": minutes,
            }
            row.update({k: (v if k == "aht_seconds" else int(v)) for k, v in acc.items()})
            out.append(row)
        return out


def _floor(moment: dt.datetime, minutes: int) -> dt.datetime:
    seconds = (moment - _EPOCH).total_seconds()
    return _EPOCH + dt.timedelta(seconds=(seconds // (minutes * 60)) * minutes * 60)


@dataclass
class Glitches:
    non_numeric_every: int = 0
    duplicate_rows: bool = False


_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_selector(query: str) -> tuple[str, dict[str, str]]:
    """``name{label="v", ...}`` -> (name, labels). Only equality matchers, as the sandbox needs."""
    match = _SELECTOR.match(query)
    if not match:
        raise ValueError(f"unsupported PromQL (only plain selectors): {query!r}")
    labels: dict[str, str] = {}
    body = (match.group(2) or "").strip()
    if body:
        for part in body.split(","):
            if not part.strip():
                continue
            m = _MATCHER.fullmatch(part)
            if not m:
                raise ValueError(f'unsupported label matcher {part.strip()!r} (only label="value")')
            labels[m.group(1)] = m.group(2)
    return match.group(1), labels


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


def create_app(
    *,
    seed: int = 7,
    token: str = "metrics-token",
    username: str = "ops",
    password: str = "ops-pass",
    anomalies: list[Anomaly] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    page_limit: int = 500,
    faults: Faults | None = None,
) -> Any:
    """The metrics source as an ASGI app (FastAPI wrapped in :class:`FaultMiddleware`)."""
    faults = faults or Faults()
    data = MetricsData(seed=seed, anomalies=list(anomalies or []))
    glitches = Glitches()
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    signer = URLSafeTimedSerializer(pysecrets.token_hex(16), salt="metrics-session", signer=_clock_signer(now))
    env = Environment(loader=DictLoader(_PAGES), autoescape=select_autoescape(["html"]))
    counter = {"n": 0}

    app = FastAPI(title="Sandbox metrics source", docs_url=None, redoc_url=None)

    def glitch(value: Any) -> Any:
        if glitches.non_numeric_every:
            counter["n"] += 1
            if counter["n"] % glitches.non_numeric_every == 0:
                return "N/A"
        return value

    basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def authorised(request: Request) -> bool:
        """A bearer token (the API's own) or the dashboard user's HTTP basic credentials."""
        return request.headers.get("authorization", "") in (f"Bearer {token}", basic)

    def unauthorised() -> JSONResponse:
        return JSONResponse({"error": "missing or bad token"}, status_code=401)

    def parse_time(text: str | None, default: dt.datetime) -> dt.datetime:
        if not text:
            return default
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            value = dt.datetime.fromtimestamp(float(text), dt.UTC)
        return value if value.tzinfo else value.replace(tzinfo=LOCAL)

    # -- JSON API ---------------------------------------------------------------------------------
    @app.get("/api/v1/queues")
    def queues(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        return {"queues": list(data.queues)}

    @app.get("/api/v1/metrics")
    def metrics(
        request: Request,
        queue: str | None = None,
        start: str | None = None,
        end: str | None = None,
        interval: int = 15,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Any:
        if not authorised(request):
            return unauthorised()
        current = now()
        try:
            t_end = min(parse_time(end, current), current)
            t_start = parse_time(start, t_end - dt.timedelta(days=1))
            names = [queue] if queue else list(data.queues)
            rows: list[dict[str, Any]] = []
            for name in names:
                rows.extend(data.rows(name, t_start, t_end, interval))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        limit = max(1, min(limit, page_limit))
        page = rows[offset : offset + limit]
        nxt = offset + limit
        items = []
        for row in page:
            shown = {k: (glitch(v) if k in FIELDS else v) for k, v in row.items()}
            items.append(shown)
            if glitches.duplicate_rows:
                items.append(dict(shown))
        return {
            "items": items,
            "next_cursor": base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(rows) else None,
            "total": len(rows),
        }

    # -- Prometheus ---------------------------------------------------------------------------------
    def sample(name: str, queue: str, at: dt.datetime) -> float | None:
        """The value of gauge ``name`` at ``at``: the 15-minute interval ending at or before ``at``."""
        end = _floor(at, 15)
        rows = data.rows(queue, end - dt.timedelta(minutes=15), end, 15)
        return float(rows[0][PROM_METRICS[name]]) if rows else None

    @app.get("/metrics")
    def exposition() -> Any:
        lines = []
        at = now()
        for name, fld in PROM_METRICS.items():
            lines.append(f"# HELP {name} {fld} in the last complete 15-minute interval")
            lines.append(f"# TYPE {name} gauge")
            for queue in data.queues:
                value = sample(name, queue, at)
                if value is not None:
                    lines.append(f'{name}{{queue="{queue}"}} {value}')
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    def prom_error(message: str) -> JSONResponse:
        return JSONResponse({"status": "error", "errorType": "bad_data", "error": message}, status_code=400)

    def select(query: str) -> tuple[str, list[str]]:
        name, labels = parse_selector(query)
        if name not in PROM_METRICS:
            return name, []
        unknown = set(labels) - {"queue"}
        if unknown:
            return name, []
        return name, [q for q in data.queues if labels.get("queue", q) == q]

    @app.api_route("/api/v1/query", methods=["GET", "POST"])
    async def prom_query(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        args = dict(request.query_params)
        if request.method == "POST":
            args.update({k: str(v) for k, v in (await request.form()).items()})
        try:
            at = parse_time(args.get("time"), now())
            name, queues_ = select(args.get("query", ""))
        except ValueError as exc:
            return prom_error(str(exc))
        result = []
        for queue in queues_:
            value = sample(name, queue, at)
            if value is not None:
                result.append({"metric": {"__name__": name, "queue": queue}, "value": [at.timestamp(), str(value)]})
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    @app.api_route("/api/v1/query_range", methods=["GET", "POST"])
    async def prom_query_range(request: Request) -> Any:
        if not authorised(request):
            return unauthorised()
        args = dict(request.query_params)
        if request.method == "POST":
            args.update({k: str(v) for k, v in (await request.form()).items()})
        try:
            start = parse_time(args["start"], now())
            end = min(parse_time(args["end"], now()), now())
            step = float(args.get("step", "900").rstrip("s"))
            name, queues_ = select(args.get("query", ""))
        except (KeyError, ValueError) as exc:
            return prom_error(str(exc))
        if step <= 0 or (end - start).total_seconds() / step > 11_000:
            return prom_error("exceeded maximum resolution of 11,000 points per timeseries")
        result = []
        for queue in queues_:
            rows = data.rows(queue, _floor(start, 15) - dt.timedelta(minutes=15), end, 15)
            by_end = {
                dt.datetime.fromisoformat(r["interval_start"]).timestamp() + 900: float(r[PROM_METRICS[name]])
                for r in rows
            }
            values = []
            t = start.timestamp()
            while t <= end.timestamp() + 1e-6:
                key = (t // 900) * 900
                if key in by_end:
                    values.append([t, str(by_end[key])])
                t += step
            if values:
                result.append({"metric": {"__name__": name, "queue": queue}, "values": values})
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}

    # -- HTML dashboard ----------------------------------------------------------------------------
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

    # -- sandbox controls ----------------------------------------------------------------------------
    @app.get("/_sandbox/anomalies")
    def list_anomalies() -> Any:
        return [{**asdict(a), "start": a.start.isoformat(), "end": a.end.isoformat()} for a in data.anomalies]

    @app.post("/_sandbox/anomalies")
    async def set_anomalies(request: Request) -> Any:
        payload = await request.json()
        try:
            data.anomalies = [Anomaly.from_dict(item) for item in payload]
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return {"anomalies": len(data.anomalies)}

    @app.post("/_sandbox/glitches")
    async def set_glitches(request: Request) -> Any:
        payload = await request.json()
        for key, value in payload.items():
            if not hasattr(glitches, key):
                return JSONResponse({"error": f"unknown glitch {key!r}"}, status_code=400)
            setattr(glitches, key, value)
        counter["n"] = 0
        return asdict(glitches)

    wrapped = FaultMiddleware(app, faults)
    wrapped.state = app.state  # type: ignore[attr-defined]
    app.state.faults = faults
    app.state.data = data
    app.state.glitches = glitches
    app.state.started = time.time()
    return wrapped

"""The sandbox customer-service CRM: customer profiles and service records.

Reads have a REST API (``Authorization: Bearer <token>``, cursor pages like the billing system).
Writes have **no API**: only the web form (log in, search the customer, open, edit, save, read the
confirmation), as in many CRMs a service centre rents — so a migration bot must drive a browser.
Saving validates like the real thing and re-shows the form with the error (bad mobile number,
bad e-mail, negative amount...). ``layout_variant = 1`` moves and renames the controls (the labels
stay), ``session_ttl_s`` expires sessions mid-run.
"""

from __future__ import annotations

import datetime as dt
import hmac
import random
import re
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import DictLoader, Environment, select_autoescape

from backroom.sandbox.faults import FaultMiddleware, Faults
from backroom.sandbox.records import Collection, people, stamp
from backroom.sandbox.sessions import SessionStore

__all__ = ["EDITABLE", "PASSWORD", "TOKEN", "USER", "create_app", "validate"]

TOKEN = "crm-demo-token"
USER, PASSWORD = "agent", "crm-demo"

#: (form field, label) in form order; the bot finds inputs by these labels.
EDITABLE = [
    ("name", "姓名"),
    ("phone", "手机号"),
    ("email", "电子邮箱"),
    ("level", "客户等级"),
    ("city", "城市"),
    ("last_bill_no", "最近账单号"),
    ("last_bill_month", "最近账期"),
    ("last_bill_amount", "最近账单金额"),
    ("last_bill_status", "账单状态"),
    ("note", "备注"),
]
LEVELS = ["普通", "银卡", "金卡"]
BILL_STATUSES = ["", "已缴", "未缴", "逾期"]
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def validate(values: dict[str, str]) -> list[str]:
    """The CRM's own rules, applied when Save is pressed (messages as the screen shows them)."""
    errors = []
    if not values.get("name", "").strip():
        errors.append("姓名不能为空")
    if values.get("phone") and not _PHONE.match(values["phone"]):
        errors.append(f"手机号格式不正确：{values['phone']}（应为11位手机号）")
    if values.get("email") and not _EMAIL.match(values["email"]):
        errors.append(f"电子邮箱格式不正确：{values['email']}")
    if values.get("level") and values["level"] not in LEVELS:
        errors.append(f"客户等级无效：{values['level']}")
    if values.get("last_bill_month") and not _MONTH.match(values["last_bill_month"]):
        errors.append(f"最近账期应为 YYYY-MM：{values['last_bill_month']}")
    if values.get("last_bill_amount"):
        try:
            amount = Decimal(values["last_bill_amount"])
            if amount < 0:
                errors.append("最近账单金额不能为负数")
            elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
                errors.append("最近账单金额最多两位小数")
        except InvalidOperation:
            errors.append(f"最近账单金额不是数字：{values['last_bill_amount']}")
    if values.get("last_bill_status") and values["last_bill_status"] not in BILL_STATUSES:
        errors.append(f"账单状态无效：{values['last_bill_status']}")
    if len(values.get("note", "")) > 200:
        errors.append("备注最多200字")
    return errors


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }} - 客服CRM</title>
<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}label{display:block;margin:4px 0}
.alert-error{color:#b00}.flash{color:#070}</style></head><body>
<header><b>客服 CRM</b>{% if user %} · {{ user }} · <a href="/logout">退出</a>{% endif %}</header>
{% block body %}{% endblock %}</body></html>"""

_LOGIN = """{% extends "page" %}{% block body %}<h1>客服登录</h1>
{% if error %}<p class="alert-error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label>账号 <input name="username"></label><label>密码 <input name="password" type="password"></label>
<button type="submit">登录</button></form>{% endblock %}"""

_SEARCH = """{% extends "page" %}{% block body %}<h1>客户查询</h1>
<form method="get" action="/customers" role="search"><label>客户编号/姓名/手机
<input name="q" value="{{ q }}"></label><button type="submit">搜索</button></form>
<p><a href="/customers/new">新建客户</a></p>
{% if q %}<p class="count">找到 {{ found|length }} 位客户</p>{% endif %}
<ul id="results">{% for c in found %}<li><a class="customer" href="/customers/{{ c.customer_no }}"
data-no="{{ c.customer_no }}">{{ c.customer_no }} {{ c.name }}</a></li>{% endfor %}</ul>{% endblock %}"""

_VIEW = """{% extends "page" %}{% block body %}
{% if saved %}<p class="flash" role="status">保存成功：客户 {{ c.customer_no }} 已更新</p>{% endif %}
<h1>客户 {{ c.customer_no }}</h1><dl>{% for f, label in fields %}<dt>{{ label }}</dt>
<dd id="v-{{ f }}">{{ c[f] }}</dd>{% endfor %}</dl>
<a href="/customers/{{ c.customer_no }}/edit" role="button">编辑</a>{% endblock %}"""

_EDIT = """{% extends "page" %}{% block body %}<h1>{{ '新建客户' if new else '编辑客户 ' ~ c.customer_no }}</h1>
{% if errors %}<div class="alert-error" role="alert"><ul>{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul>
</div>{% endif %}
<form method="post" action="{{ action }}"><input type="hidden" name="csrf_token" value="{{ csrf }}">
{% if variant %}<button type="submit">提交保存</button>{% endif %}
{% if new %}<div class="field"><label for="fld-no">客户编号</label>
<input id="fld-no" name="customer_no" value="{{ c.customer_no }}"></div>{% endif %}
{% for f, label in fields %}<div class="field"><label for="fld-{{ prefix }}{{ f }}">{{ label }}</label>
{% if f == 'level' or f == 'last_bill_status' %}<select id="fld-{{ prefix }}{{ f }}" name="{{ prefix }}{{ f }}">
{% for o in (levels if f == 'level' else statuses) %}<option{% if c[f] == o %} selected{% endif %}>{{ o }}</option>
{% endfor %}</select>{% elif f == 'note' %}
<textarea id="fld-{{ prefix }}{{ f }}" name="{{ prefix }}{{ f }}">{{ c[f] }}</textarea>
{% else %}<input id="fld-{{ prefix }}{{ f }}" name="{{ prefix }}{{ f }}" value="{{ c[f] }}">{% endif %}</div>
{% endfor %}{% if not variant %}<button type="submit">保存</button>{% endif %}
<a href="/customers">取消</a></form>{% endblock %}"""


def _generate(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed * 17 + 3)
    out = []
    for p in people(seed, count):
        rec = {k: p[k] for k in ("customer_no", "name", "phone", "email", "city")}
        rec.update(
            level=rng.choice(LEVELS),
            note="",
            last_bill_no="",
            last_bill_month="",
            last_bill_amount="",
            last_bill_status="",
            updated_at=p["created_at"],
        )
        out.append(rec)
    return out


def create_app(
    seed: int = 7,
    customers: int = 200,
    *,
    token: str = TOKEN,
    password: str = PASSWORD,
    faults: Faults | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Any:
    """The CRM ASGI app. ``app.state.customers`` is the live data; ``app.state.saves`` counts saves.

    Web sessions age by ``clock`` (``app.state.sessions.clock``; the wall clock by default).
    """
    faults = faults or Faults()
    data = Collection("customer_no")
    data.load(_generate(seed, customers))
    records = Collection("id")
    rng = random.Random(seed)
    recs = []
    for i in range(1, customers * 2 + 1):
        moment = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i)
        recs.append(
            {
                "id": f"S{i:07d}",
                "customer_no": f"C{rng.randint(1, max(1, customers)):06d}",
                "channel": rng.choice(["电话", "在线客服", "微信", "邮件"]),
                "summary": rng.choice(["咨询账单", "投诉扣费", "修改套餐", "报修", "催缴提醒"]),
                "created_at": stamp(moment),
                "updated_at": stamp(moment),
            }
        )
    records.load(recs)
    sessions = SessionStore(faults, clock)
    env = Environment(
        loader=DictLoader({"page": _PAGE, "login": _LOGIN, "search": _SEARCH, "view": _VIEW, "edit": _EDIT}),
        autoescape=select_autoescape(default=True),
    )
    app = FastAPI(title="Sandbox CRM", docs_url=None, redoc_url=None)
    app.state.customers, app.state.records, app.state.faults = data, records, faults
    app.state.saves = {"ok": 0, "invalid": 0}
    app.state.sessions = sessions

    def need_token(request: Request) -> None:
        if not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
            raise HTTPException(401, "missing or wrong token (Authorization: Bearer ...)")

    @app.get("/api/customers")
    def list_customers(
        request: Request, limit: int = 100, cursor: str | None = None, updated_since: str | None = None
    ) -> Any:
        need_token(request)
        items, nxt = data.page(max(1, min(limit, 1000)), cursor, updated_since)
        return {"items": items, "next_cursor": nxt}

    @app.get("/api/customers/{no}")
    def get_customer(request: Request, no: str) -> Any:
        need_token(request)
        rec = data.records.get(no)
        if rec is None:
            raise HTTPException(404, f"customer {no} not found")
        return rec

    @app.get("/api/service-records")
    def list_records(
        request: Request, limit: int = 100, cursor: str | None = None, updated_since: str | None = None
    ) -> Any:
        need_token(request)
        items, nxt = records.page(max(1, min(limit, 1000)), cursor, updated_since)
        return {"items": items, "next_cursor": nxt}

    @app.api_route("/api/customers/{no}", methods=["PUT", "POST", "PATCH", "DELETE"])
    @app.api_route("/api/customers", methods=["PUT", "POST", "PATCH", "DELETE"])
    def no_writes() -> Any:
        raise HTTPException(405, "this CRM has no write API; use the web form")

    # -- web ----------------------------------------------------------------------------------
    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status)

    def session_user(request: Request) -> str | None:
        return sessions.user(request.cookies.get("csid"))

    def to_login(request: Request) -> RedirectResponse:
        expired = 1 if request.cookies.get("csid") else 0
        return RedirectResponse(f"/login?expired={expired}&next={quote(request.url.path)}", status_code=303)

    @app.get("/login")
    def login_form(request: Request, expired: int = 0, next: str = "/customers") -> Any:
        anchor = request.cookies.get("pre") or secrets.token_urlsafe(12)
        resp = render(
            "login",
            title="登录",
            csrf=sessions.csrf_for(anchor),
            user=None,
            error="会话已过期，请重新登录" if expired else None,
        )
        resp.set_cookie("pre", anchor, httponly=True, samesite="lax")
        return resp

    @app.post("/login")
    async def login(request: Request) -> Any:
        form = await request.form()
        anchor = request.cookies.get("pre")
        if not sessions.csrf_ok(anchor, str(form.get("csrf_token", ""))):
            return render(
                "login",
                403,
                title="登录",
                csrf=sessions.csrf_for(anchor or "x"),
                user=None,
                error="CSRF 校验失败，请刷新页面重试",
            )
        if form.get("username") != USER or not hmac.compare_digest(str(form.get("password", "")), password):
            return render("login", 401, title="登录", csrf=form.get("csrf_token"), user=None, error="账号或密码错误")
        resp = RedirectResponse("/customers", status_code=303)
        resp.set_cookie("csid", sessions.open(USER), httponly=True, samesite="lax")
        return resp

    @app.get("/logout")
    def logout() -> Any:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie("csid")
        return resp

    @app.get("/customers")
    def search(request: Request, q: str = "") -> Any:
        user = session_user(request)
        if user is None:
            return to_login(request)
        term = q.strip()
        found = []
        if term:
            for c in data.records.values():
                if term == c["customer_no"] or term in c["name"] or term == c["phone"]:
                    found.append(c)
                    if len(found) >= 50:
                        break
        return render("search", title="客户查询", user=user, q=term, found=found)

    def edit_page(
        request: Request, c: dict[str, Any], *, new: bool, errors: list[str] | None = None, status: int = 200
    ) -> Any:
        anchor = request.cookies.get("csid", "")
        variant = faults.layout_variant == 1
        return render(
            "edit",
            status,
            title="编辑客户",
            user=session_user(request),
            c=c,
            new=new,
            errors=errors,
            fields=EDITABLE,
            csrf=sessions.csrf_for(anchor),
            variant=variant,
            prefix="f_" if variant else "",
            levels=LEVELS,
            statuses=BILL_STATUSES,
            action="/customers/new" if new else f"/customers/{c['customer_no']}/edit",
        )

    @app.get("/customers/new")
    def new_form(request: Request, no: str = "") -> Any:
        if session_user(request) is None:
            return to_login(request)
        blank = {f: "" for f, _ in EDITABLE} | {"customer_no": no, "level": LEVELS[0]}
        return edit_page(request, blank, new=True)

    @app.get("/customers/{no}")
    def view(request: Request, no: str, saved: int = 0) -> Any:
        user = session_user(request)
        if user is None:
            return to_login(request)
        c = data.records.get(no)
        if c is None:
            raise HTTPException(404, f"客户 {no} 不存在")
        return render("view", title=f"客户 {no}", user=user, c=c, fields=EDITABLE, saved=saved)

    @app.get("/customers/{no}/edit")
    def edit_form(request: Request, no: str) -> Any:
        if session_user(request) is None:
            return to_login(request)
        c = data.records.get(no)
        if c is None:
            raise HTTPException(404, f"客户 {no} 不存在")
        return edit_page(request, c, new=False)

    async def submitted(request: Request) -> tuple[dict[str, str], bool]:
        form = await request.form()
        prefix = "f_" if faults.layout_variant == 1 else ""
        values = {f: str(form.get(prefix + f, form.get(f, ""))).strip() for f, _ in EDITABLE}
        ok = sessions.csrf_ok(request.cookies.get("csid"), str(form.get("csrf_token", "")))
        values["customer_no"] = str(form.get("customer_no", "")).strip()
        return values, ok

    @app.post("/customers/{no}/edit")
    async def save(request: Request, no: str) -> Any:
        if session_user(request) is None:
            return to_login(request)
        current = data.records.get(no)
        if current is None:
            raise HTTPException(404, f"客户 {no} 不存在")
        values, csrf_ok = await submitted(request)
        values["customer_no"] = no
        errors = validate(values) if csrf_ok else ["页面已过期（CSRF），请重新打开编辑页面"]
        if errors:
            app.state.saves["invalid"] += 1
            return edit_page(request, {**current, **values}, new=False, errors=errors)
        if any(current.get(f) != values[f] for f, _ in EDITABLE):
            data.put({**current, **values})
        app.state.saves["ok"] += 1
        return RedirectResponse(f"/customers/{no}?saved=1", status_code=303)

    @app.post("/customers/new")
    async def create(request: Request) -> Any:
        if session_user(request) is None:
            return to_login(request)
        values, csrf_ok = await submitted(request)
        errors = validate(values) if csrf_ok else ["页面已过期（CSRF），请重新打开编辑页面"]
        no = values["customer_no"]
        if not re.fullmatch(r"C\d{6}", no):
            errors.append(f"客户编号格式不正确：{no}（应为 C + 6 位数字）")
        elif no in data.records:
            errors.append(f"客户编号已存在：{no}")
        if errors:
            app.state.saves["invalid"] += 1
            return edit_page(request, values, new=True, errors=errors)
        data.put(dict(values))
        app.state.saves["ok"] += 1
        return RedirectResponse(f"/customers/{no}?saved=1", status_code=303)

    @app.get("/")
    def home() -> Any:
        return RedirectResponse("/customers", status_code=303)

    @app.get("/_sandbox/health")
    def health() -> Any:
        return {"ok": True, "customers": len(data.records), **app.state.saves}

    app.add_middleware(FaultMiddleware, faults=faults)
    return app

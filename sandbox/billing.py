"""The sandbox billing system: customers, accounts, monthly bills and payments.

Two faces, like the real thing: a REST API (``Authorization: Bearer <token>``, cursor pagination
``?limit=&cursor=`` answering ``{"items": [...], "next_cursor": ...}``, ``?updated_since=`` for
increments, ``PUT /api/customers/{no}`` for customer changes) and HTML pages behind a login form
with a CSRF token and a session cookie (a bill list with a search box and pagination) — the screen
a bot must scrape where there is no API.

Data is generated deterministically from a seed with Faker zh_CN (and some en_US names), volumes
by parameter. All misbehaviour comes from :mod:`sandbox.faults` (``app.state.faults``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import DictLoader, Environment, select_autoescape

from backroom.sandbox.faults import FaultMiddleware, Faults
from backroom.sandbox.records import Collection, people, stamp
from backroom.sandbox.sessions import SessionStore

__all__ = ["BillingData", "Collection", "SessionStore", "create_app", "people"]

TOKEN = "billing-demo-token"
USER, PASSWORD = "operator", "billing-demo"


@dataclass
class BillingData:
    customers: Collection = field(default_factory=lambda: Collection("customer_no"))
    accounts: Collection = field(default_factory=lambda: Collection("account_no"))
    bills: Collection = field(default_factory=lambda: Collection("bill_no"))
    payments: Collection = field(default_factory=lambda: Collection("payment_no"))

    @classmethod
    def generate(cls, seed: int = 7, customers: int = 200, months: int = 6) -> BillingData:
        data = cls()
        rng = random.Random(seed * 31 + 1)
        folks = people(seed, customers)
        for p in folks:
            p["updated_at"] = p["created_at"]
        data.customers.load(folks)
        accounts, bills, payments = [], [], []
        plans = [("基础套餐", Decimal("58.00")), ("畅享套餐", Decimal("128.00")), ("企业套餐", Decimal("398.00"))]
        for ci, p in enumerate(folks, start=1):
            plan, fee = plans[rng.randrange(len(plans))]
            acct = f"A{ci:07d}"
            accounts.append(
                {
                    "account_no": acct,
                    "customer_no": p["customer_no"],
                    "plan": plan,
                    "monthly_fee": str(fee),
                    "opened_at": p["created_at"],
                    "updated_at": p["created_at"],
                }
            )
            for m in range(months):
                year, month = 2024 + m // 12, m % 12 + 1
                extra = Decimal(rng.randrange(0, 20000)) / 100
                amount = fee + extra
                moment = dt.datetime(year, month, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=ci)
                roll = rng.random()
                status = "paid" if roll < 0.7 else ("unpaid" if roll < 0.9 else "overdue")
                bill_no = f"B{year}{month:02d}{ci:06d}"
                bills.append(
                    {
                        "bill_no": bill_no,
                        "customer_no": p["customer_no"],
                        "customer_name": p["name"],
                        "account_no": acct,
                        "month": f"{year}-{month:02d}",
                        "amount": str(amount),
                        "due_date": (dt.date(year, month, 1) + dt.timedelta(days=24)).isoformat(),
                        "status": status,
                        "updated_at": stamp(moment),
                    }
                )
                if status == "paid":
                    paid = moment + dt.timedelta(days=rng.randrange(1, 20), seconds=rng.randrange(86400))
                    payments.append(
                        {
                            "payment_no": f"P{bill_no[1:]}",
                            "bill_no": bill_no,
                            "amount": str(amount),
                            "channel": rng.choice(["微信支付", "支付宝", "银行转账", "柜台"]),
                            "paid_at": stamp(paid),
                            "updated_at": stamp(paid),
                        }
                    )
        data.accounts.load(accounts)
        data.bills.load(bills)
        data.payments.load(payments)
        return data


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }} - 计费系统</title>
<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:4px 8px}.error{color:#b00}</style></head><body>
<header><b>计费系统 Billing</b>{% if user %} · {{ user }} · <a href="/logout">退出</a>{% endif %}</header>
{% block body %}{% endblock %}</body></html>"""

_LOGIN = """{% extends "page" %}{% block body %}<h1>登录</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label>用户名 <input name="username" autocomplete="username"></label>
<label>密码 <input name="password" type="password"></label>
<button type="submit">登录</button></form>{% endblock %}"""

_BILLS = """{% extends "page" %}{% block body %}<h1>账单列表</h1>
{% if variant %}<nav class="pager">{% include "pager" %}</nav>{% endif %}
<form method="get" action="/bills" role="search">
<label>{{ '关键字' if variant else '搜索' }} <input name="{{ 'keyword' if variant else 'q' }}" value="{{ q }}"></label>
<button type="submit">查询</button></form>
<table id="bills"><thead><tr>{% for c in columns %}<th>{{ c[1] }}</th>{% endfor %}</tr></thead><tbody>
{% for b in bills %}<tr data-bill="{{ b.bill_no }}">
{% for c in columns %}<td class="{{ c[0] }}">{{ b[c[0]] }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
<p class="total">共 {{ total }} 条，第 {{ page }}/{{ pages }} 页</p>
{% if not variant %}<nav class="pager">{% include "pager" %}</nav>{% endif %}{% endblock %}"""

_PAGER = """{% if page > 1 %}<a rel="prev" href="/bills?{{ qs }}&page={{ page - 1 }}">上一页</a>{% endif %}
{% if page < pages %}<a rel="next" href="/bills?{{ qs }}&page={{ page + 1 }}">下一页</a>{% endif %}"""

_COLUMNS = [
    ("bill_no", "账单号"),
    ("customer_name", "客户"),
    ("phone", "手机"),
    ("month", "账期"),
    ("amount", "金额"),
    ("status_label", "状态"),
]
_STATUS = {"paid": "已缴", "unpaid": "未缴", "overdue": "逾期"}
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_app(
    seed: int = 7,
    customers: int = 200,
    months: int = 6,
    *,
    token: str = TOKEN,
    password: str = PASSWORD,
    faults: Faults | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Any:
    """The billing ASGI app; ``app.state.data`` is the live data, ``app.state.faults`` the switches.

    Web sessions age by ``clock`` (``app.state.sessions.clock``; the wall clock by default).
    """
    faults = faults or Faults()
    data = BillingData.generate(seed, customers, months)
    sessions = SessionStore(faults, clock)
    env = Environment(
        loader=DictLoader({"page": _PAGE, "login": _LOGIN, "bills": _BILLS, "pager": _PAGER}),
        autoescape=select_autoescape(default=True),
    )
    app = FastAPI(title="Sandbox billing", docs_url=None, redoc_url=None)
    app.state.data, app.state.faults, app.state.token, app.state.sessions = data, faults, token, sessions

    def need_token(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        if not hmac.compare_digest(auth, f"Bearer {token}"):
            raise HTTPException(401, "missing or wrong token (Authorization: Bearer ...)")

    def listing(coll: Collection, request: Request, limit: int, cursor: str | None, since: str | None) -> Any:
        need_token(request)
        if not 1 <= limit <= 1000:
            raise HTTPException(422, "limit must be 1..1000")
        try:
            items, nxt = coll.page(limit, cursor, since)
        except (ValueError, TypeError):
            raise HTTPException(400, "bad cursor or updated_since") from None
        return {"items": items, "next_cursor": nxt}

    for route, coll in (
        ("customers", data.customers),
        ("accounts", data.accounts),
        ("bills", data.bills),
        ("payments", data.payments),
    ):

        def make(c: Collection, route: str) -> None:
            def list_items(
                request: Request, limit: int = 100, cursor: str | None = None, updated_since: str | None = None
            ) -> Any:
                return listing(c, request, limit, cursor, updated_since)

            def one(request: Request, rid: str) -> Any:
                need_token(request)
                rec = c.records.get(rid)
                if rec is None:
                    raise HTTPException(404, f"{rid} not found")
                return rec

            app.add_api_route(f"/api/{route}", list_items, methods=["GET"])
            app.add_api_route(f"/api/{route}/{{rid}}", one, methods=["GET"])

        make(coll, route)

    @app.put("/api/customers/{no}")
    async def put_customer(no: str, request: Request) -> Any:
        need_token(request)
        current = data.customers.records.get(no)
        if current is None:
            raise HTTPException(404, f"customer {no} not found")
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "body is not JSON") from None
        allowed = {"name", "phone", "email", "city", "address"}
        errors = [f"unknown field {k!r}" for k in body if k not in allowed | {"customer_no"}]
        if "name" in body and not str(body["name"] or "").strip():
            errors.append("name: required")
        if body.get("phone") and not _PHONE.match(str(body["phone"])):
            errors.append(f"phone: {body['phone']!r} is not a mainland mobile number (11 digits)")
        if body.get("email") and not _EMAIL.match(str(body["email"])):
            errors.append(f"email: {body['email']!r} is not an e-mail address")
        if errors:
            return JSONResponse({"errors": errors}, status_code=422)
        changed = {k: v for k, v in body.items() if k in allowed}
        if all(current.get(k) == v for k, v in changed.items()):
            return current
        return data.customers.put({**current, **changed})

    # -- web pages ------------------------------------------------------------------------------
    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status)

    @app.get("/login")
    def login_form(request: Request, expired: int = 0) -> Any:
        anchor = request.cookies.get("pre") or secrets.token_urlsafe(12)
        resp = render(
            "login",
            title="登录",
            csrf=sessions.csrf_for(anchor),
            error="会话已过期，请重新登录" if expired else None,
            user=None,
        )
        resp.set_cookie("pre", anchor, httponly=True, samesite="lax")
        return resp

    @app.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password_: str = Form("", alias="password"),
        csrf_token: str = Form(""),
    ) -> Any:
        anchor = request.cookies.get("pre")
        if not sessions.csrf_ok(anchor, csrf_token):
            return render(
                "login",
                403,
                title="登录",
                csrf=sessions.csrf_for(anchor or "x"),
                error="CSRF 校验失败，请刷新页面重试",
                user=None,
            )
        if username != USER or not hmac.compare_digest(password_, password):
            return render("login", 401, title="登录", csrf=csrf_token, error="用户名或密码错误", user=None)
        resp = RedirectResponse("/bills", status_code=303)
        resp.set_cookie("bsid", sessions.open(username), httponly=True, samesite="lax")
        return resp

    @app.get("/logout")
    def logout() -> Any:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie("bsid")
        return resp

    @app.get("/bills")
    def bills_page(request: Request, q: str = "", keyword: str = "", page: int = 1) -> Any:
        user = sessions.user(request.cookies.get("bsid"))
        if user is None:
            expired = 1 if request.cookies.get("bsid") else 0
            return RedirectResponse(f"/login?expired={expired}", status_code=303)
        term = (keyword or q).strip()
        rows = []
        for b in sorted(data.bills.records.values(), key=lambda r: r["bill_no"]):
            cust = data.customers.records.get(b["customer_no"], {})
            if (
                term
                and term not in b["bill_no"]
                and term not in cust.get("name", "")
                and term not in cust.get("phone", "")
            ):
                continue
            rows.append(b)
        per = 20
        pages = max(1, math.ceil(len(rows) / per))
        page = min(max(1, page), pages)
        shown = []
        for b in rows[(page - 1) * per : page * per]:
            cust = data.customers.records.get(b["customer_no"], {})
            shown.append(
                {
                    **b,
                    "customer_name": cust.get("name", ""),
                    "phone": cust.get("phone", ""),
                    "status_label": _STATUS.get(b["status"], b["status"]),
                }
            )
        variant = faults.layout_variant == 1
        columns = list(reversed(_COLUMNS)) if variant else _COLUMNS
        from urllib.parse import urlencode

        qs = urlencode({"keyword" if variant else "q": term})
        return render(
            "bills",
            title="账单",
            user=user,
            bills=shown,
            total=len(rows),
            page=page,
            pages=pages,
            q=term,
            qs=qs,
            variant=variant,
            columns=columns,
        )

    @app.get("/")
    def home() -> Any:
        return RedirectResponse("/bills", status_code=303)

    @app.get("/_sandbox/health")
    def health() -> Any:
        return {"ok": True, "bills": len(data.bills.records), "customers": len(data.customers.records)}

    app.add_middleware(FaultMiddleware, faults=faults)
    return app

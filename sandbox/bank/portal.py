"""The portal's web pages: password + one-time code login, accounts, statement query and download."""

from __future__ import annotations

import datetime as dt
import html
import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backroom.sandbox.bank.data import BankData
from backroom.sandbox.bank.files import FORMATS, write_statement
from backroom.sandbox.faults import FaultMiddleware, Faults

__all__ = ["create_app"]

log = logging.getLogger("backroom.sandbox.bank")

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title} - 启航银行企业网银</title>
<style>body{{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px}}.err{{color:#b00}}</style></head><body>
<header><h1>启航银行 企业网银</h1>{nav}</header><main>{body}</main></body></html>"""


def _page(title: str, body: str, *, nav: bool = False) -> Any:
    links = '<nav><a href="/accounts">账户列表</a> | <a href="/logout">退出</a></nav>' if nav else ""
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body, nav=links))


def create_app(
    data: BankData | None = None,
    *,
    users: dict[str, str] | None = None,
    faults: Any = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Any:
    """The portal as an ASGI app; ``app.state.bank`` holds data, users, codes and sessions.

    Sessions age by ``clock`` (aware UTC; the wall clock by default), so tests move time instead of
    sleeping through ``session_ttl_s``.
    """
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    data = data or BankData()
    faults = faults or Faults()
    users = users or {"finance01": "Bank#2024"}
    state: dict[str, Any] = {"codes": {}, "pending": {}, "sessions": {}, "downloads": 0, "logins": 0}
    app = FastAPI(title="Sandbox bank portal", docs_url=None, redoc_url=None)
    app.state.faults = faults
    app.state.bank = state
    app.state.data = data

    def session_user(request: Request) -> str | None:
        token = request.cookies.get("bank_session", "")
        entry = state["sessions"].get(token)
        if entry is None:
            return None
        user, started = entry
        if faults.session_ttl_s and (now() - started).total_seconds() > faults.session_ttl_s:
            state["sessions"].pop(token, None)
            faults.bump("session_expired")
            return None
        return user

    def to_login(reason: str = "") -> Response:
        return RedirectResponse(f"/login?reason={reason}", status_code=303)

    @app.get("/")
    def index() -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.get("/login")
    def login_form(reason: str = "") -> Response:
        note = {"expired": "会话已超时，请重新登录", "bad": "用户名或密码错误"}.get(reason, "")
        body = (
            (f'<p class="err">{note}</p>' if note else "")
            + """
<form method="post" action="/login"><h2>登录</h2>
<p><label for="username">用户名</label> <input id="username" name="username" autocomplete="username"></p>
<p><label for="password">密码</label> <input id="password" name="password" type="password"></p>
<button type="submit" id="login">登录</button></form>"""
        )
        return _page("登录", body)

    @app.post("/login")
    def login(username: str = Form(""), password: str = Form("")) -> Response:
        if users.get(username) != password:
            return to_login("bad")
        code = f"{secrets.randbelow(10**6):06d}"
        ticket = secrets.token_urlsafe(16)
        state["codes"][username] = code
        state["pending"][ticket] = username
        log.warning("sandbox bank: one-time code for %s is %s", username, code)  # stands in for the SMS
        response = RedirectResponse("/otp", status_code=303)
        response.set_cookie("bank_pending", ticket, httponly=True)
        return response

    @app.get("/otp")
    def otp_form() -> Response:
        body = """<form method="post" action="/otp"><h2>短信验证</h2><p>验证码已发送至尾号 8008 的手机</p>
<p><label for="code">短信验证码</label> <input id="code" name="code" inputmode="numeric" maxlength="6"></p>
<button type="submit" id="verify">确认</button></form>"""
        return _page("短信验证", body)

    @app.post("/otp")
    def otp(request: Request, code: str = Form("")) -> Response:
        user = state["pending"].pop(request.cookies.get("bank_pending", ""), None)
        if user is None or state["codes"].pop(user, None) != code.strip():
            return _page("验证失败", '<p class="err">验证码错误或已失效</p><a href="/login">重新登录</a>')
        token = secrets.token_urlsafe(24)
        state["sessions"][token] = (user, now())
        state["logins"] += 1
        response = RedirectResponse("/accounts", status_code=303)
        response.set_cookie("bank_session", token, httponly=True)
        response.delete_cookie("bank_pending")
        return response

    @app.get("/logout")
    def logout(request: Request) -> Response:
        state["sessions"].pop(request.cookies.get("bank_session", ""), None)
        return to_login()

    @app.get("/accounts")
    def accounts(request: Request) -> Response:
        if session_user(request) is None:
            return to_login("expired")
        rows = "".join(
            f'<tr><td class="acct">{a}</td><td>{data.holder}</td><td>{c}</td>'
            f'<td><a href="/statement?account={a}">明细查询</a></td></tr>'
            for a, c in data.accounts
        )
        return _page(
            "账户列表",
            f"<h2>账户列表</h2><table id='accounts'><tr><th>账号</th><th>户名</th>"
            f"<th>币种</th><th></th></tr>{rows}</table>",
            nav=True,
        )

    @app.get("/statement")
    def statement_page(
        request: Request, account: str = "", start: str = "", end: str = "", fmt: str = "xlsx"
    ) -> Response:
        if session_user(request) is None:
            return to_login("expired")
        variant = faults.layout_variant
        options = "".join(
            f'<option value="{a}"{" selected" if a == account else ""}>{a}</option>' for a, _ in data.accounts
        )
        formats = "".join(f'<option value="{f}"{" selected" if f == fmt else ""}>{f.upper()}</option>' for f in FORMATS)
        ids = ("acct", "start", "end", "fmt", "query") if variant == 0 else ("zh", "qsrq", "zzrq", "gs", "btn-cx")
        names = ("account", "start", "end", "fmt") if variant == 0 else ("zh", "qsrq", "zzrq", "gs")
        button = f'<button type="submit" id="{ids[4]}">{"查询" if variant == 0 else "查 询"}</button>'
        fields = f"""
<p><label for="{ids[0]}">账号</label> <select id="{ids[0]}" name="{names[0]}">{options}</select></p>
<p><label for="{ids[1]}">起始日期</label> <input id="{ids[1]}" name="{names[1]}" type="date" value="{start}"></p>
<p><label for="{ids[2]}">截止日期</label> <input id="{ids[2]}" name="{names[2]}" type="date" value="{end}"></p>
<p><label for="{ids[3]}">文件格式</label> <select id="{ids[3]}" name="{names[3]}">{formats}</select></p>"""
        form = (
            f'<form method="get" action="/statement/query">{button if variant else ""}{fields}'
            f"{'' if variant else button}</form>"
        )
        return _page("明细查询", f"<h2>账户明细查询</h2>{form}", nav=True)

    def _args(request: Request) -> tuple[str, dt.date, dt.date, str]:
        q = request.query_params
        account = q.get("account") or q.get("zh") or ""
        start = q.get("start") or q.get("qsrq") or ""
        end = q.get("end") or q.get("zzrq") or ""
        fmt = q.get("fmt") or q.get("gs") or "xlsx"
        return account, dt.date.fromisoformat(start), dt.date.fromisoformat(end), fmt

    @app.get("/statement/query")
    def query(request: Request) -> Response:
        if session_user(request) is None:
            return to_login("expired")
        try:
            account, start, end, fmt = _args(request)
            st = data.statement(account, start, end)
        except (ValueError, KeyError):
            return _page("查询失败", '<p class="err">请填写正确的账号和日期</p>', nav=True)
        link = f"/statement/download?account={account}&start={start}&end={end}&fmt={fmt}"
        rows = "".join(
            f"<tr><td>{ln.date}</td><td>{html.escape(ln.counterparty)}</td><td>{ln.amount}</td></tr>"
            for ln in st.lines[:20]
        )
        body = f"""<h2>查询结果</h2><dl id="summary">
<dt>账号</dt><dd id="r-account">{account}</dd><dt>笔数</dt><dd id="r-count">{len(st.lines)}</dd>
<dt>期初余额</dt><dd id="r-opening">{st.opening}</dd><dt>期末余额</dt><dd id="r-closing">{st.closing}</dd></dl>
<a id="download" href="{link}">下载明细</a><table>{rows}</table>"""
        return _page("查询结果", body, nav=True)

    @app.get("/statement/download")
    def download(request: Request) -> Response:
        if session_user(request) is None:
            return to_login("expired")
        account, start, end, fmt = _args(request)
        st = data.statement(account, start, end)
        payload = write_statement(st, fmt)
        state["downloads"] += 1
        name = f"statement_{account[-4:]}_{start:%Y%m%d}_{end:%Y%m%d}.{FORMATS[fmt]}"
        return Response(
            payload,
            media_type="application/octet-stream",
            headers={"content-disposition": f'attachment; filename="{name}"', "x-statement-lines": str(len(st.lines))},
        )

    @app.post("/_sandbox/expire-sessions")
    def expire_sessions() -> Response:
        """End every session now: the server-side timeout a bot meets in the middle of its work."""
        ended = len(state["sessions"])
        state["sessions"].clear()
        return JSONResponse({"ended": ended})

    @app.get("/_sandbox/otp")
    def read_code(username: str) -> Response:
        code = state["codes"].get(username)
        if code is None:
            return JSONResponse({"error": f"no code pending for {username}"}, status_code=404)
        return JSONResponse({"username": username, "code": code})

    app.add_middleware(FaultMiddleware, faults=faults)  # the app stays the object, so app.state is reachable
    return app

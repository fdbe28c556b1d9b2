"""The sandbox helpdesk's web pages, for the browser adapter: login, ticket list, search, ticket page.

Login uses a CSRF token and a session cookie; a session expires after ``faults.session_ttl_s``
seconds of the desk's clock (tests move the clock). ``faults.layout_variant`` renames the search
box and the save button, as a real system's redesign would.
"""

from __future__ import annotations

import datetime as dt
import html
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backroom.sandbox.faults import Faults
from backroom.sandbox.helpdesk.model import CUSTOM_FIELDS, QUEUES, Helpdesk, iso

__all__ = ["add_pages"]


def add_pages(app: FastAPI, desk: Helpdesk, faults: Faults) -> None:
    """Register the HTML pages on ``app``; sessions live as long as the app."""
    sessions: dict[str, tuple[str, dt.datetime, str]] = {}  # sid -> (user, started, csrf)

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

    def after_write(request: Request, response: Response) -> Response:
        if faults.session_ends_after_write:
            sessions.pop(request.cookies.get("hd_session", ""), None)
        return response

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
            t = desk.ticket(tid)
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
            f"<li class='tx tx-{tx.type}' data-id='{tx.id}' data-type='{tx.type}' data-created='{iso(tx.created)}' "
            f"data-creator='{html.escape(tx.creator)}' data-field='{html.escape(tx.field)}' "
            f"data-old='{html.escape(tx.old)}' data-new='{html.escape(tx.new)}'>"
            f"<b>{tx.type}</b> {iso(tx.created)} {html.escape(tx.creator)} "
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
· 优先级 <span id="priority">{t.priority}</span> · 创建 <span id="created">{iso(t.created)}</span>
· 解决 <span id="resolved">{iso(t.resolved) or ""}</span> · 更新 <span id="last-updated">{iso(t.last_updated)}</span>
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

    def update_if_current(tid: int, form: Any, changes: dict[str, Any], user: str, done: str) -> Response:
        """Apply ``changes`` unless the ticket changed since the form was drawn (its version moved on)."""
        with desk.lock:
            ticket = desk.ticket(tid)
            if str(form.get("version", ticket.version)) != str(ticket.version):
                return RedirectResponse(f"/ticket/{tid}?msg=" + "工单已被他人修改，请刷新", status_code=303)
            desk.update(tid, changes, user)
        return RedirectResponse(f"/ticket/{tid}?msg={done}", status_code=303)

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
        return after_write(request, update_if_current(tid, form, changes, user, "已保存"))

    @app.post("/ticket/{tid}/comment")
    async def add_comment(tid: int, request: Request) -> Response:
        got = await checked_form(request)
        if isinstance(got, Response):
            return got
        user, form = got
        content = str(form.get("content", "")).strip()
        if not content:
            return RedirectResponse(f"/ticket/{tid}?msg=备注不能为空", status_code=303)
        desk.ticket(tid)
        desk.add_message(tid, "Comment", content, user)
        return after_write(request, RedirectResponse(f"/ticket/{tid}?msg=备注已添加", status_code=303))

    @app.post("/ticket/{tid}/status")
    async def set_status(tid: int, request: Request) -> Response:
        got = await checked_form(request)
        if isinstance(got, Response):
            return got
        user, form = got
        return after_write(
            request, update_if_current(tid, form, {"Status": str(form.get("status", ""))}, user, "状态已更新")
        )

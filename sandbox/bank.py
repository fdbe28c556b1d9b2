"""Sandbox bank portal: password + one-time code login, accounts, statement downloads.

A stand-in for a Chinese corporate online bank (企业网银). Everything is generated from a seed, so
the same account and date range always give the same lines and balances, whatever range is asked
for. Statements download as XLSX (title rows, 借方/贷方 columns), CSV in GB18030 (padded headers,
借贷标志, thousands separators, full-width spaces), MT940 and camt.053.

The one-time code stands in for an SMS: it is logged and readable at ``GET /_sandbox/otp``.
Misbehaviour comes from :mod:`sandbox.faults`: latency, 429/5xx, session expiry (``session_ttl_s``)
and a changed layout (``layout_variant = 1``: other element ids and names, the button moved and
renamed; the visible labels stay, as they do on real portals).

:func:`ledger_for` produces the company's side of the same money (with the noise a real ledger has:
booking-date shifts, fees the bank deducted, split invoices, abbreviated names, entries not yet
through the bank), so a demo or a test can reconcile one against the other.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import random
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backroom.sandbox.faults import FaultMiddleware, Faults

__all__ = ["BankData", "BankLine", "BankStatement", "create_app", "ledger_for", "write_statement"]

log = logging.getLogger("backroom.sandbox.bank")

FORMATS = {"xlsx": "xlsx", "csv": "csv", "mt940": "sta", "camt053": "xml"}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BankLine:
    date: dt.date
    line_id: str
    counterparty: str
    counterparty_account: str
    amount: Decimal  # signed, + money in
    purpose: str
    reference: str
    balance: Decimal


@dataclass(frozen=True)
class BankStatement:
    account: str
    holder: str
    currency: str
    start: dt.date
    end: dt.date
    opening: Decimal
    closing: Decimal
    lines: tuple[BankLine, ...]


@dataclass
class BankData:
    """Deterministic accounts and transactions. Lines exist from ``origin`` on."""

    seed: int = 42
    origin: dt.date = dt.date(2024, 1, 1)
    holder: str = "上海启航客服外包有限公司"
    accounts: tuple[tuple[str, str], ...] = (("6222020200112233445", "CNY"), ("6222020200998877665", "CNY"))
    lines_per_day: int = 6
    _companies: list[str] = field(default_factory=list, repr=False)
    _balances: dict[str, dict[dt.date, Decimal]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(self.seed)
        seen: set[str] = set()
        while len(self._companies) < 60:
            name = fake.company()
            if name not in seen:
                seen.add(name)
                self._companies.append(name)
        self._accounts_of = {
            n: f"{random.Random(f'{self.seed}{n}').randrange(10**15, 10**16)}" for n in self._companies
        }

    def _day(self, account: str, day: dt.date) -> list[tuple[str, str, Decimal, str, str]]:
        rng = random.Random(f"{self.seed}:{account}:{day.isoformat()}")
        count = rng.randint(0, self.lines_per_day) if day.weekday() < 5 else rng.randint(0, 1)
        out = []
        for n in range(count):
            name = rng.choice(self._companies)
            incoming = rng.random() < 0.6
            amount = Decimal(rng.randint(5_000, 5_000_000)) / 100
            invoice = f"INV{day:%Y%m}{rng.randint(10000, 99999)}"
            if incoming:
                purpose = rng.choice([f"货款 {invoice}", f"服务费 发票号{invoice}", f"{invoice} 外包服务费"])
            else:
                purpose = rng.choice([f"采购付款 {invoice}", f"支付 {invoice} 设备款", "代发工资", "房租"])
                amount = -amount
            out.append((f"{day:%Y%m%d}{account[-4:]}{n:04d}", name, amount, purpose, invoice))
        return out

    def _opening(self, account: str, day: dt.date) -> Decimal:
        """Balance at the start of ``day``: walks forward from the origin, remembering each day."""
        cache = self._balances.setdefault(account, {})
        if not cache:
            cache[self.origin] = Decimal(random.Random(f"{self.seed}:{account}:open").randint(1_000_000, 9_000_000))
        if day <= self.origin:
            return cache[self.origin]
        known = max((d for d in cache if d <= day), default=self.origin)
        balance = cache[known]
        while known < day:
            balance += sum((t[2] for t in self._day(account, known)), Decimal(0))
            known += dt.timedelta(days=1)
            cache[known] = balance
        return balance

    def statement(self, account: str, start: dt.date, end: dt.date) -> BankStatement:
        if account not in dict(self.accounts):
            raise KeyError(account)
        start = max(start, self.origin)
        opening = balance = self._opening(account, start)
        lines = []
        day = start
        while day <= end:
            for line_id, name, amount, purpose, invoice in self._day(account, day):
                balance += amount
                lines.append(BankLine(day, line_id, name, self._accounts_of[name], amount, purpose, invoice, balance))
            day += dt.timedelta(days=1)
        return BankStatement(
            account, self.holder, dict(self.accounts)[account], start, end, opening, balance, tuple(lines)
        )


# -- writers ----------------------------------------------------------------------------------------
def write_statement(st: BankStatement, fmt: str) -> bytes:
    """The statement as the portal hands it out in ``fmt`` (xlsx, csv, mt940, camt053)."""
    return {"xlsx": _xlsx, "csv": _csv, "mt940": _mt940, "camt053": _camt053}[fmt](st)


def _xlsx(st: BankStatement) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "账户明细"
    ws.append(["中国启航银行 账户交易明细"])
    ws.append([f"户名：{st.holder}", None, f"账号：{st.account}", None, "币种：人民币"])
    ws.append([f"查询期间：{st.start:%Y-%m-%d} 至 {st.end:%Y-%m-%d}"])
    ws.append([])
    ws.append(["交易日期", "交易流水号", "对方户名", "对方账号", "摘要", "借方发生额", "贷方发生额", "余额"])
    for ln in st.lines:
        ws.append(
            [
                ln.date.isoformat(),
                ln.line_id,
                ln.counterparty,
                ln.counterparty_account,
                ln.purpose,
                float(-ln.amount) if ln.amount < 0 else None,
                float(ln.amount) if ln.amount > 0 else None,
                float(ln.balance),
            ]
        )
    debit = sum((-ln.amount for ln in st.lines if ln.amount < 0), Decimal(0))
    credit = sum((ln.amount for ln in st.lines if ln.amount > 0), Decimal(0))
    ws.append(["合计", None, None, None, None, float(debit), float(credit), None])
    ws.append([f"期初余额：{st.opening}", None, f"期末余额：{st.closing}"])
    book.properties.created = dt.datetime.combine(st.end, dt.time())
    buf = io.BytesIO()
    book.save(buf)
    return _stable_zip(buf.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same workbook as the same bytes: a portal serves one file, whatever second it is saved in.

    Zip entries and openpyxl's "modified" property carry the time of saving; pinning them (to the
    "created" time the caller set) lets a test, and the reconcile bot, see that a statement downloaded
    twice is the same file.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                created = re.search(rb"<dcterms:created[^>]*>([^<]*)<", body)
                if created:
                    body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + created.group(1) + rb"\g<2>", body)
            pinned = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(pinned, body)
    return out.getvalue()


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _csv(st: BankStatement) -> bytes:
    rows = [
        f"账号：{st.account},户名：{st.holder},币种：人民币",
        f"起止日期：{st.start:%Y%m%d} 至 {st.end:%Y%m%d}",
        "  交易日期  ,  流水号  ,　对方户名　,对方账号,借贷标志,  发生额  ,  余额  ,用途",
    ]
    for ln in st.lines:
        flag = "贷" if ln.amount > 0 else "借"
        name = ln.counterparty.replace("有限公司", "　有限公司") if ln.line_id.endswith("1") else ln.counterparty
        rows.append(
            f'{ln.date:%Y%m%d},{ln.line_id},{name},{ln.counterparty_account},{flag},"{_money(abs(ln.amount))}",'
            f'"{_money(ln.balance)}",{ln.purpose}'
        )
    rows.append(f'合计,,,,,,"{_money(st.closing)}",')
    return ("\r\n".join(rows) + "\r\n").encode("gb18030")


def _mt940(st: BankStatement) -> bytes:
    def bal(tag: str, day: dt.date, value: Decimal) -> str:
        return f":{tag}:{'C' if value >= 0 else 'D'}{day:%y%m%d}{st.currency}{abs(value):.2f}".replace(".", ",")

    out = [f":20:STMT{st.start:%Y%m%d}", f":25:{st.account}", f":28C:{st.start:%j}/1", bal("60F", st.start, st.opening)]
    for ln in st.lines:
        mark = "C" if ln.amount > 0 else "D"
        amount = f"{abs(ln.amount):.2f}".replace(".", ",")
        out.append(f":61:{ln.date:%y%m%d}{ln.date:%m%d}{mark}{amount}NTRF{ln.reference}//{ln.line_id}")
        out.append(f":86:/NAME/{ln.counterparty}/ACCT/{ln.counterparty_account}/EREF/{ln.reference}/REMI/{ln.purpose}")
    out.append(bal("62F", st.end, st.closing))
    return ("\r\n".join(out) + "\r\n-").encode("utf-8")


def _camt053(st: BankStatement) -> bytes:
    from lxml import etree

    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    E = lambda tag, text=None, **attrs: _el(ns, tag, text, **attrs)  # noqa: E731

    doc = E("Document")
    stmt = etree.SubElement(etree.SubElement(doc, f"{{{ns}}}BkToCstmrStmt"), f"{{{ns}}}Stmt")
    stmt.append(E("Id", f"{st.account}-{st.start:%Y%m%d}"))
    stmt.append(E("CreDtTm", f"{st.end:%Y-%m-%d}T23:59:59"))
    period = E("FrToDt")
    period.append(E("FrDtTm", f"{st.start:%Y-%m-%d}T00:00:00"))
    period.append(E("ToDtTm", f"{st.end:%Y-%m-%d}T23:59:59"))
    stmt.append(period)
    acct = E("Acct")
    acct_id = E("Id")
    othr = E("Othr")
    othr.append(E("Id", st.account))
    acct_id.append(othr)
    acct.append(acct_id)
    acct.append(E("Ccy", st.currency))
    stmt.append(acct)
    for code, day, value in (("OPBD", st.start, st.opening), ("CLBD", st.end, st.closing)):
        bal = E("Bal")
        tp = E("Tp")
        cd = E("CdOrPrtry")
        cd.append(E("Cd", code))
        tp.append(cd)
        bal.append(tp)
        bal.append(E("Amt", f"{abs(value):.2f}", Ccy=st.currency))
        bal.append(E("CdtDbtInd", "CRDT" if value >= 0 else "DBIT"))
        dt_el = E("Dt")
        dt_el.append(E("Dt", day.isoformat()))
        bal.append(dt_el)
        stmt.append(bal)
    for ln in st.lines:
        credit = ln.amount > 0
        ntry = E("Ntry")
        ntry.append(E("Amt", f"{abs(ln.amount):.2f}", Ccy=st.currency))
        ntry.append(E("CdtDbtInd", "CRDT" if credit else "DBIT"))
        ntry.append(E("Sts", "BOOK"))
        for tag in ("BookgDt", "ValDt"):
            wrap = E(tag)
            wrap.append(E("Dt", ln.date.isoformat()))
            ntry.append(wrap)
        ntry.append(E("AcctSvcrRef", ln.line_id))
        tx = E("TxDtls")
        refs = E("Refs")
        refs.append(E("EndToEndId", ln.reference))
        tx.append(refs)
        party = "Dbtr" if credit else "Cdtr"
        parties = E("RltdPties")
        p = E(party)
        p.append(E("Nm", ln.counterparty))
        parties.append(p)
        pa = E(f"{party}Acct")
        pa_id = E("Id")
        pa_o = E("Othr")
        pa_o.append(E("Id", ln.counterparty_account))
        pa_id.append(pa_o)
        pa.append(pa_id)
        parties.append(pa)
        tx.append(parties)
        rmt = E("RmtInf")
        rmt.append(E("Ustrd", ln.purpose))
        tx.append(rmt)
        details = E("NtryDtls")
        details.append(tx)
        ntry.append(details)
        stmt.append(ntry)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _el(ns: str, tag: str, text: str | None = None, **attrs: str) -> Any:
    from lxml import etree

    el = etree.Element(f"{{{ns}}}{tag}", nsmap={None: ns} if tag == "Document" else None)
    for k, v in attrs.items():
        el.set(k, v)
    if text is not None:
        el.text = text
    return el


# -- the ledger side ----------------------------------------------------------------------------------
_ABBREVIATIONS = (("有限责任公司", ""), ("有限公司", ""), ("股份", ""), ("科技", "科技"))


def ledger_for(st: BankStatement, *, seed: int = 1, extra: int = 3) -> list[dict[str, Any]]:
    """The company's ledger entries for the money in ``st``, with a real ledger's noise.

    Most lines get one entry with the same amount, a booking date up to two days off and the
    counterparty written differently (without 有限公司); some incoming payments lost a bank fee
    (the ledger holds the invoice amount); one payment covers two invoices (two entries); now and
    then an entry is booked twice or names the group company that paid on the customer's behalf
    (both end up in review); and ``extra`` entries exist only in the ledger (cheques not yet
    presented).
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    n = 0
    for ln in st.lines:
        if rng.random() < 0.03:
            continue  # a true exception: the bank line has no ledger entry yet
        n += 1
        name = ln.counterparty
        if rng.random() < 0.4:
            name = name.replace("有限公司", "").replace("有限责任公司", "")
        shift = dt.timedelta(days=rng.choice([0, 0, 0, 1, -1, 2]))
        amount = ln.amount
        memo = ln.purpose
        if rng.random() < 0.08 and amount > 100:
            amount = amount + Decimal(rng.choice(["10.00", "15.00", "25.00"]))  # bank deducted its fee
            memo = f"{ln.reference} 含手续费"
        if rng.random() < 0.05 and abs(amount) > 1000:
            part = (amount * Decimal("0.4")).quantize(CENT)
            for k, value in enumerate((part, amount - part), start=1):
                rows.append(
                    {
                        "entry_id": f"JV{n:05d}-{k}",
                        "date": ln.date + shift,
                        "amount": value,
                        "currency": "CNY",
                        "counterparty": name,
                        "reference": f"{ln.reference}-{k}",
                        "memo": f"分笔 {memo}",
                    }
                )
            continue
        rows.append(
            {
                "entry_id": f"JV{n:05d}",
                "date": ln.date + shift,
                "amount": amount,
                "currency": "CNY",
                "counterparty": name,
                "reference": ln.reference if rng.random() < 0.85 else "",
                "memo": memo,
            }
        )
        if n % 25 == 10:  # booked twice by mistake: two equally good candidates, a person decides
            rows.append({**rows[-1], "entry_id": f"JV{n:05d}-D", "reference": ln.reference})
            rows[-2]["reference"] = ln.reference
        elif n % 25 == 20:  # paid by a group company on the customer's behalf: names differ
            rows[-1].update(counterparty="远景集团财务有限公司", reference="", memo="代付款")
    for k in range(extra):
        rows.append(
            {
                "entry_id": f"JV9{k:04d}",
                "date": st.end - dt.timedelta(days=k),
                "currency": "CNY",
                "amount": -Decimal(rng.randint(10_000, 900_000)) / 100,
                "counterparty": "未达供应商",
                "reference": f"CHK{k:06d}",
                "memo": "支票未兑付",
            }
        )
    return rows


# -- the portal -------------------------------------------------------------------------------------
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

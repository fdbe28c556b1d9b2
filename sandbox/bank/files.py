"""Statements as the portal hands them out: XLSX (title rows, 借方/贷方), CSV in GB18030, MT940, camt.053."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from typing import Any

from backroom.sandbox.bank.data import BankStatement

__all__ = ["FORMATS", "write_statement"]

FORMATS = {"xlsx": "xlsx", "csv": "csv", "mt940": "sta", "camt053": "xml"}


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

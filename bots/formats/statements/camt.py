"""ISO 20022 camt.053 (statement) and camt.052 (intraday report), read with lxml.

Namespaces differ by version (camt.053.001.02 ... .08), so elements are found by local name.
Balances: OPBD/PRCD open, CLBD close (camt.052 often has ITBD/none: no balance check then).
For a credit the counterparty is the debtor; for a debit it is the creditor.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.statements.amounts import parse_date
from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest

__all__ = ["parse_camt", "parse_camt_parts"]


def _find(node, path: str):  # type: ignore[no-untyped-def]
    """First descendant along ``a/b/c`` by local names (``.//`` at the start searches deep)."""
    xp = "./" + "/".join(f"*[local-name()='{p}']" for p in path.split("/"))
    found = node.xpath(xp)
    return found[0] if found else None


def _text(node, path: str) -> str:  # type: ignore[no-untyped-def]
    el = _find(node, path)
    return (el.text or "").strip() if el is not None else ""


def parse_camt(path: Path, data: bytes | None = None) -> list[Statement]:
    """All statements of the file; the first unreadable one is an error (see :func:`parse_camt_parts`)."""
    statements, errors = parse_camt_parts(path, data)
    if errors:
        raise errors[0]
    return statements


def parse_camt_parts(path: Path, data: bytes | None = None) -> tuple[list[Statement], list[StatementError]]:
    """The good statements (<Stmt>/<Rpt>) of the file, and an error for each one that could not be read.

    A bank's camt file often holds one statement per account; one bad entry must not throw away the
    other accounts' statements. Malformed XML stops the whole file (nothing in it can be trusted).
    """
    from lxml import etree

    path = Path(path)
    data = path.read_bytes() if data is None else data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementError(path, f"XML is malformed or truncated: {exc.msg}", line=exc.lineno) from exc
    reports = root.xpath(".//*[local-name()='Stmt' or local-name()='Rpt']")
    if not reports:
        raise StatementError(path, "no <Stmt> or <Rpt> element: expected camt.053 or camt.052")
    statements: list[Statement] = []
    errors: list[StatementError] = []
    for number, rpt in enumerate(reports, start=1):
        name = f"statement {number}" + (f" (<Id> {_text(rpt, 'Id')})" if _text(rpt, "Id") else "")
        try:
            statements.append(_statement(path, data, rpt))
        except _BadElement as exc:
            errors.append(StatementError(path, f"{name}: {exc.message}", line=exc.line, field=exc.field))
    return statements, errors


class _BadElement(Exception):
    """An element of one statement that cannot be read: where it is and why."""

    def __init__(self, message: str, line: int | None, field: str):
        super().__init__(message)
        self.message, self.line, self.field = message, line, field


def _statement(path: Path, data: bytes, rpt) -> Statement:  # type: ignore[no-untyped-def]
    from lxml import etree

    kind = "camt.053" if etree.QName(rpt).localname == "Stmt" else "camt.052"
    account = _text(rpt, "Acct/Id/IBAN") or _text(rpt, "Acct/Id/Othr/Id")
    currency = _currency(rpt)
    opening = closing = None
    for bal in rpt.xpath("./*[local-name()='Bal']"):
        code = _text(bal, "Tp/CdOrPrtry/Cd")
        try:
            amount = _signed(bal)
        except (ValueError, ArithmeticError) as exc:
            raise _BadElement(f"balance {code or '?'}: {exc}", bal.sourceline, "Bal") from exc
        if code in ("OPBD", "PRCD") and opening is None:
            opening = amount
        elif code in ("CLBD",):
            closing = amount
    lines = []
    for entry in rpt.xpath("./*[local-name()='Ntry']"):
        credit = _text(entry, "CdtDbtInd") == "CRDT"
        party = "Dbtr" if credit else "Cdtr"
        tx = _find(entry, "NtryDtls/TxDtls")
        scope = tx if tx is not None else entry
        name = _text(scope, f"RltdPties/{party}/Nm") or _text(scope, f"RltdPties/{party}/Pty/Nm")
        acct = _text(scope, f"RltdPties/{party}Acct/Id/Othr/Id") or _text(scope, f"RltdPties/{party}Acct/Id/IBAN")
        try:
            amount = _signed(entry)
            booking = parse_date(_text(entry, "BookgDt/Dt") or _text(entry, "BookgDt/DtTm"))
            value = _text(entry, "ValDt/Dt")
            value_date = parse_date(value) if value else None
        except (ValueError, ArithmeticError) as exc:
            raise _BadElement(f"entry: {exc}", entry.sourceline, "Ntry") from exc
        lines.append(
            StatementLine(
                account=account,
                booking_date=booking,
                value_date=value_date,
                amount=amount,
                currency=_find(entry, "Amt").get("Ccy", currency),
                counterparty_name=name,
                counterparty_account=acct,
                reference=_reference(scope),
                purpose=" ".join(t.text or "" for t in scope.xpath(".//*[local-name()='Ustrd']")).strip()
                or _text(entry, "AddtlNtryInf"),
                bank_line_id=_text(entry, "AcctSvcrRef") or _text(entry, "NtryRef"),  # else content + occurrence
                source_line=entry.sourceline,
            )
        )
    start = _text(rpt, "FrToDt/FrDtTm") or _text(rpt, "FrToDt/FrDt")
    end = _text(rpt, "FrToDt/ToDtTm") or _text(rpt, "FrToDt/ToDt")
    try:
        period = (parse_date(start) if start else None, parse_date(end) if end else None)
    except ValueError as exc:
        raise _BadElement(f"period: {exc}", rpt.sourceline, "FrToDt") from exc
    return Statement(
        account=account,
        currency=currency,
        lines=lines,
        opening_balance=opening,
        closing_balance=closing,
        period_start=period[0],
        period_end=period[1],
        source=str(path),
        format=kind,
        digest=file_digest(data),
        statement_id=_text(rpt, "Id"),
    )


def _currency(rpt) -> str:  # type: ignore[no-untyped-def]
    """The account's currency; else the balances'; else the entries' (never a guess of CNY)."""
    declared = _text(rpt, "Acct/Ccy")
    if declared:
        return declared.upper()
    amounts = "./*[local-name()='Bal']//*[local-name()='Amt'] | ./*[local-name()='Ntry']/*[local-name()='Amt']"
    for amt in rpt.xpath(amounts):
        if amt.get("Ccy"):
            return amt.get("Ccy").upper()
    return "CNY"  # an empty report without any amount: nothing is labelled by this


_RF = re.compile(r"^RF\d\d([0-9A-Z]{1,21})$")


def _reference(scope) -> str:  # type: ignore[no-untyped-def]
    """Structured creditor reference (SCOR, ISO 11649 RF...) first, then the end-to-end id.

    An RF reference also gives the creditor's own reference inside it (RF18 539007547034 → 539007547034),
    which is what the ledger records as the invoice number.
    """
    refs: list[str] = []
    for node in scope.xpath(".//*[local-name()='Strd']//*[local-name()='CdtrRefInf']"):
        ref = re.sub(r"\s", "", _text(node, "Ref")).upper()
        if ref:
            refs.append(ref)
            m = _RF.match(ref)
            if m:
                refs.append(m.group(1))
    e2e = _text(scope, "Refs/EndToEndId")
    if e2e and e2e.upper() != "NOTPROVIDED":
        refs.append(e2e)
    return " ".join(dict.fromkeys(refs))


def _signed(node) -> Decimal:  # type: ignore[no-untyped-def]
    amt = _find(node, "Amt")
    if amt is None or not (amt.text or "").strip():
        raise ValueError("expected <Amt> with a value")
    value = Decimal(amt.text.strip())
    return value if _text(node, "CdtDbtInd") == "CRDT" else -value

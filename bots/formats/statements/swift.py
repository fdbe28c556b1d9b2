"""SWIFT MT940 (end of day) and MT942 (intraday) statements, read with the ``mt-940`` package.

A file may hold several statements (one ``:20:`` block each). ``:86:`` information is kept as the
purpose text; the common sub-fields (``/NAME/``, ``/ACCT/``, ``/EREF/``, ``/REMI/``) are lifted into
the counterparty and reference fields. A statement without its closing ``:62F:`` is truncated.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest

__all__ = ["parse_swift"]

_SUBFIELD = re.compile(r"/(NAME|ACCT|EREF|REMI|ORDP|BENM|CREF)/([^/]*)")


def _subfields(details: str) -> dict[str, str]:
    return {k: v.strip() for k, v in _SUBFIELD.findall(details.replace("\n", ""))}


def _blocks(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").strip()
    text = re.sub(r"^\{1:[^}]*\}(\{2:[^}]*\})?(\{3:.*?\})?\{4:\n?", "", text, flags=re.S)
    text = re.sub(r"\n?-\}(\{5:.*\})?$", "", text, flags=re.S)
    parts = re.split(r"(?m)^(?=:20:)", text)
    return [p for p in parts if p.strip().startswith(":20:")]


def parse_swift(path: Path, data: bytes | None = None) -> list[Statement]:
    import mt940

    path = Path(path)
    data = path.read_bytes() if data is None else data
    text = data.decode("utf-8", errors="strict") if _is_utf8(data) else data.decode("latin-1")
    blocks = _blocks(text)
    if not blocks:
        raise StatementError(path, "no ':20:' statement found; expected an MT940/MT942 file")
    statements = []
    for number, block in enumerate(blocks, start=1):
        is_942 = ":34F:" in block or ":13D:" in block or ":13:" in block
        try:
            parsed = mt940.parse(block)
        except Exception as exc:
            raise StatementError(path, f"statement {number} is malformed: {exc}") from exc
        meta = parsed.data
        if not is_942 and "final_closing_balance" not in meta:
            raise StatementError(path, f"statement {number} has no closing balance (:62F:): the file looks truncated")
        if not is_942 and "final_opening_balance" not in meta:
            raise StatementError(path, f"statement {number} has no opening balance (:60F:/:60M:)")
        account = str(meta.get("account_identification", "")).strip()
        lines = []
        currency = "CNY"
        for index, tx in enumerate(parsed.transactions, start=1):
            d = tx.data
            amount = d["amount"]
            currency = amount.currency or currency
            details = str(d.get("transaction_details") or "")
            sub = _subfields(details)
            booking = d.get("entry_date") or d.get("date")
            lines.append(
                StatementLine(
                    account=account,
                    booking_date=_date(booking),
                    value_date=_date(d.get("date")),
                    amount=Decimal(amount.amount),
                    currency=amount.currency or currency,
                    counterparty_name=sub.get("NAME", sub.get("ORDP", sub.get("BENM", ""))),
                    counterparty_account=sub.get("ACCT", ""),
                    reference=sub.get("EREF", "") or _nonref(d.get("customer_reference")),
                    purpose=sub.get("REMI", details.replace("\n", " ").strip()),
                    bank_line_id=_nonref(d.get("bank_reference")) or f"{meta.get('transaction_reference', '')}-{index}",
                    source_line=index,
                )
            )
        opening = meta.get("final_opening_balance")
        closing = meta.get("final_closing_balance")
        statements.append(
            Statement(
                account=account,
                currency=(opening.amount.currency if opening else currency) or currency,
                lines=lines,
                opening_balance=Decimal(opening.amount.amount) if opening else None,
                closing_balance=Decimal(closing.amount.amount) if closing else None,
                period_start=_date(opening.date) if opening else None,
                period_end=_date(closing.date) if closing else None,
                source=str(path),
                format="mt942" if is_942 else "mt940",
                digest=file_digest(data),
                statement_id=f"{meta.get('transaction_reference', '')}/{meta.get('statement_number', '')}",
            )
        )
    return statements


def _nonref(value: object) -> str:
    text = str(value or "").strip()
    return "" if text.upper() in ("NONREF", "NONE") else text


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    raise ValueError(f"expected a date, got {value!r}")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

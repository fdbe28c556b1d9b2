"""SWIFT MT940 (end of day) and MT942 (intraday) statements, as banks write them.

Read with the ``mt-940`` package, one ``:20:`` block (page) at a time, so that:

* a statement spread over pages (``:62M:`` closing a page, ``:60M:`` opening the next) is joined
  back into one statement, each page checked to continue the one before;
* reversals carry the right sign (``RC`` reverses a credit: money out; ``RD`` reverses a debit:
  money in) — the package leaves both positive;
* ``:86:`` is read whether structured the German/SEPA way (``?20``…``?63`` with ``EREF+``/``SVWZ+``),
  the slash way (``/NAME/``, ``/REMI/``, ``/EREF/``, ``/IBAN/``), or free text; ``:NS:`` text is kept
  in the purpose;
* a page that cannot be read fails alone: :func:`parse_swift_parts` returns the good statements
  and, for each bad one, an error naming it and the line where it starts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest

__all__ = ["parse_swift", "parse_swift_parts", "structured_details"]

_SLASH_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|ACCT|ORDP|BENM|CNTP|MARF|CSID|RTRN|PREF|ULTC|ULTD|PURP|CREF|ADDR|ISDT|"
    "SVCL|BENM|ULTB|OCMT|CHGS|EXCH|BUSP"
)
_SLASH = re.compile(rf"/({_SLASH_KEYS})/")
_QMARK = re.compile(r"\?(\d\d)")
_SEPA_KEYS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_ENVELOPE_HEAD = re.compile(r"\{1:[^}]*\}(?:\{2:[^}]*\})?(?:\{3:(?:\{[^}]*\})*\})?\{4:")
_ENVELOPE_TAIL = re.compile(r"-\}(?:\{5:(?:\{[^}]*\})*\})?")


def structured_details(details: str) -> dict[str, str]:
    """``:86:`` to ``name``, ``account``, ``reference``, ``purpose`` (whatever is there)."""
    flat = details.replace("\r", "").replace("\n", "")
    subfields = re.match(r"^(?:\d{3})?([?>])\d\d", flat)
    if subfields:
        return _question_mark(flat, subfields.group(1))
    if _SLASH.search(flat):
        return _slashes(flat)
    return {"purpose": re.sub(r"\s+", " ", details).strip()}


def _question_mark(flat: str, separator: str = "?") -> dict[str, str]:
    """German/SEPA ``:86:``: ``166?00GUTSCHRIFT?20EREF+X?21SVWZ+Rechnung?32Name?31IBAN``.

    Triodos writes the same numbered subfields with ``>`` (``000>100133967858>20 HUUR>21 KANTOOR``),
    its ``>10`` being the counterparty's account (``?10`` is a batch number in the German scheme).
    """
    parts: dict[int, str] = {}
    pieces = (_QMARK if separator == "?" else re.compile(r">(\d\d)")).split(flat)
    for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
        parts[int(code)] = parts.get(int(code), "") + value
    text = "".join(parts.get(i, "") for i in [*range(20, 30), *range(60, 64)])
    sepa: dict[str, str] = {}
    split = _SEPA_KEYS.split(text)
    for key, value in zip(split[1::2], split[2::2], strict=False):
        sepa[key] = sepa.get(key, "") + value.strip()
    reference = sepa.get("EREF", "")
    if reference.upper() == "NOTPROVIDED":
        reference = ""
    purpose = sepa.get("SVWZ") or (split[0].strip() if split[0].strip() else text.strip())
    purpose = re.sub(r"\s+", " ", purpose)
    return {
        "name": (parts.get(32, "") + parts.get(33, "")).strip(),
        "account": (parts.get(10, "") if separator == ">" else parts.get(31, "")).strip(),
        "reference": reference or sepa.get("KREF", ""),
        "purpose": purpose,
        "booking_text": parts.get(0, "").strip(),
    }


def _slashes(flat: str) -> dict[str, str]:
    """Slash-keyed ``:86:`` (ABN AMRO, ING, Rabobank, Chinese banks' MT940): ``/NAME/X/REMI/Y``."""
    pieces = _SLASH.split(flat)
    values: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=False):
        values.setdefault(key, value.strip().strip("/").strip())
    cntp = values.get("CNTP", "").split("/")  # /CNTP/account/BIC/name/city/
    reference = values.get("EREF", "")
    if reference.upper() == "NOTPROVIDED":
        reference = ""
    remi = values.get("REMI", "")
    if remi.startswith(("USTD//", "STRD/")):  # ISO remittance: unstructured text or a creditor reference
        remi = remi.split("/")[-1] or remi
    return {
        "name": values.get("NAME") or values.get("ORDP") or values.get("BENM") or (cntp[2] if len(cntp) > 2 else ""),
        "account": values.get("IBAN") or values.get("ACCT") or (cntp[0] if cntp[0] else ""),
        "reference": reference or values.get("CREF", "") or values.get("PREF", ""),
        # an empty /REMI/ (Rabobank's "/REMI//ISDT/...") says there is no text; no /REMI/ at all keeps the field
        "purpose": remi if "REMI" in values else re.sub(r"\s+", " ", flat).strip(),
    }


@dataclass
class _Page:
    number: int
    line: int
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    transactions: list[Any] = field(default_factory=list)
    is_942: bool = False


def _pages(text: str) -> list[_Page]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ENVELOPE_HEAD.sub("", text)
    text = _ENVELOPE_TAIL.sub("", text)
    starts = [m.start() for m in re.finditer(r"(?m)^:20:", text)]
    pages = []
    for n, start in enumerate(starts, start=1):
        end = starts[n] if n < len(starts) else len(text)
        block = re.sub(r"(?m)^-\s*$", "", text[start:end]).strip()
        pages.append(_Page(n, text.count("\n", 0, start) + 1, block))
    return pages


def parse_swift_parts(path: Path, data: bytes | None = None) -> tuple[list[Statement], list[StatementError]]:
    """The good statements of the file, and an error for each one that could not be read."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    text = data.decode("utf-8") if _is_utf8(data) else data.decode("latin-1")
    pages = _pages(text)
    if not pages:
        raise StatementError(path, "no ':20:' statement found; expected an MT940/MT942 file")
    errors: list[StatementError] = []
    groups: list[list[_Page]] = []
    open_group: list[_Page] | None = None
    for page in pages:
        try:
            _read_page(path, page)
        except StatementError as exc:
            errors.append(exc)
            if open_group is not None:  # a bad page breaks the statement it belongs to
                _close(path, open_group, groups, errors)
                open_group = None
            continue
        meta = page.meta
        continues = "intermediate_opening_balance" in meta and "final_opening_balance" not in meta
        if open_group is not None and not continues:
            _close(path, open_group, groups, errors)
            open_group = None
        if open_group is not None:
            open_group.append(page)
        else:
            open_group = [page]
        if page.is_942 or "final_closing_balance" in meta:
            groups.append(open_group)
            open_group = None
        elif "intermediate_closing_balance" not in meta:
            errors.append(
                StatementError(
                    path,
                    f"statement {_name(page)} has no closing balance (:62F:/:62M:): the file looks truncated",
                    line=page.line,
                )
            )
            open_group = None
    if open_group is not None:
        _close(path, open_group, groups, errors)
    statements = []
    for group in groups:
        try:
            statements.append(_statement(path, data, group))
        except StatementError as exc:
            errors.append(exc)
    return statements, errors


def parse_swift(path: Path, data: bytes | None = None) -> list[Statement]:
    """All statements of the file; the first unreadable one is an error (see :func:`parse_swift_parts`)."""
    statements, errors = parse_swift_parts(path, data)
    if errors:
        raise errors[0]
    return statements


def _name(page: _Page) -> str:
    ref = page.meta.get("transaction_reference") or page.text[4:40].split("\n")[0]
    seq = page.meta.get("statement_number")
    return f"{page.number} (:20: {ref}" + (f", :28C: {seq}/{page.meta.get('sequence_number')}" if seq else "") + ")"


def _close(path: Path, group: list[_Page], groups: list[list[_Page]], errors: list[StatementError]) -> None:
    """A statement left open at :62M: with no next page: a statement part, or a truncated file.

    Banks (ABN AMRO's downloads, for one) cut a long statement at the end of the requested period:
    the file then holds a page that opens with :60M: and closes with :62M:, the rest of the
    statement coming in the next download. Such a part is read on its intermediate balances. A
    statement that *began* in this file (:60F:) and stops at :62M: lost its last pages: an error.
    """
    first = group[0].meta
    if "final_opening_balance" not in first and "intermediate_opening_balance" in first:
        groups.append(group)
    else:
        errors.append(_unfinished(path, group))


def _unfinished(path: Path, group: list[_Page]) -> StatementError:
    last = group[-1]
    return StatementError(
        path,
        f"statement {_name(group[0])} ends its page {last.number} with an intermediate balance (:62M:) "
        "but no next page (:60M:) follows: the file looks truncated",
        line=last.line,
    )


def _read_page(path: Path, page: _Page) -> None:
    import mt940

    page.is_942 = ":34F:" in page.text or ":13D:" in page.text or ":13:" in page.text
    try:
        parsed = mt940.parse(page.text, processors={"post_transaction_details": []})  # :86: read here
    except Exception as exc:
        raise _malformed(path, page, exc) from exc
    page.meta, page.transactions = dict(parsed.data), list(parsed.transactions)
    if not page.is_942 and not ({"final_opening_balance", "intermediate_opening_balance"} & set(page.meta)):
        raise StatementError(path, f"statement {_name(page)} has no opening balance (:60F:/:60M:)", line=page.line)
    if not page.meta.get("account_identification") and page.transactions:
        raise StatementError(path, f"statement {_name(page)} names no account (:25:)", line=page.line)


def _malformed(path: Path, page: _Page, exc: Exception) -> StatementError:
    """Name the field the package could not read, and the file line it is on."""
    tag, value = (exc.args[1], exc.args[2]) if len(exc.args) == 3 else (None, None)
    tag_id = getattr(tag, "id", None)
    line = page.line
    if tag_id is not None and isinstance(value, str):
        needle = f":{tag_id}:{value.splitlines()[0] if value else ''}"
        at = page.text.find(needle)
        if at >= 0:
            line += page.text.count("\n", 0, at)
        what = f"cannot read :{tag_id}: {value.splitlines()[0] if value else ''!r}"
    else:
        what = str(exc)
    ref = page.text[4:60].split("\n")[0]
    return StatementError(path, f"statement {page.number} (:20: {ref}) is malformed: {what}", line=line)


def _balance(meta: dict[str, Any], *keys: str) -> Any:
    return next((meta[k] for k in keys if k in meta), None)


def _statement(path: Path, data: bytes, pages: list[_Page]) -> Statement:
    first, last = pages[0], pages[-1]
    account = str(first.meta.get("account_identification", "")).strip()
    for prev, page in pairwise(pages):
        closing = _balance(prev.meta, "intermediate_closing_balance")
        opening = _balance(page.meta, "intermediate_opening_balance")
        if str(page.meta.get("account_identification", "")).strip() != account:
            raise StatementError(path, f"page {page.number} continues another account's statement", line=page.line)
        if closing is not None and opening is not None and closing.amount.amount != opening.amount.amount:
            raise StatementError(
                path,
                f"statement {_name(first)}: page {page.number} opens with {opening.amount.amount} but the page "
                f"before closed with {closing.amount.amount}",
                line=page.line,
            )
    opening = _balance(first.meta, "final_opening_balance", "intermediate_opening_balance")
    closing = _balance(last.meta, "final_closing_balance", "intermediate_closing_balance")
    currency = (opening.amount.currency if opening else "") or ""
    lines: list[StatementLine] = []
    for page in pages:
        for tx in page.transactions:
            line = _line(account, tx, len(lines) + 1, page)
            currency = currency or line.currency
            lines.append(line)
    return Statement(
        account=account,
        currency=currency or "CNY",
        lines=lines,
        opening_balance=Decimal(opening.amount.amount) if opening else None,
        closing_balance=Decimal(closing.amount.amount) if closing else None,
        period_start=_date(opening.date) if opening else None,
        period_end=_date(closing.date) if closing else None,
        source=str(path),
        format="mt942" if first.is_942 else "mt940",
        digest=file_digest(data),
        statement_id=f"{first.meta.get('transaction_reference', '')}/{first.meta.get('statement_number', '')}",
        notes=([f"{len(pages)} pages joined"] if len(pages) > 1 else [])
        + (["a part of a longer statement (:60M: to :62M:)"] if _is_part(last) else []),
    )


def _line(account: str, tx: Any, index: int, page: _Page) -> StatementLine:
    d = tx.data
    amount = d["amount"]
    status = str(d.get("status", "")).upper()
    value = abs(Decimal(amount.amount))
    signed = value if status in ("C", "RD") else -value  # RC reverses a credit (out), RD a debit (in)
    details = str(d.get("transaction_details") or "")
    sub = structured_details(details)
    extra = re.sub(r"(?m)^\d\d", "", str(d.get("non_swift") or "")).replace("\n", " ").strip()
    purpose = " ".join(p for p in (sub.get("purpose", ""), extra) if p)
    booking = d.get("entry_date") or d.get("date")
    return StatementLine(
        account=account,
        booking_date=_date(booking),
        value_date=_date(d.get("date")),
        amount=signed,
        currency=amount.currency or d.get("currency") or "",
        counterparty_name=sub.get("name", ""),
        counterparty_account=sub.get("account", "").replace(" ", ""),
        reference=sub.get("reference", "") or _nonref(d.get("customer_reference")),
        purpose=purpose,
        bank_line_id=_nonref(d.get("bank_reference")),
        source_line=index,
    )


def _nonref(value: object) -> str:
    text = str(value or "").strip()
    return "" if text.upper() in ("NONREF", "NONE", "NOTPROVIDED") else text


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


def _is_part(last: _Page) -> bool:
    """An MT940 statement whose last page closes with :62M: (MT942 reports have no :62F: at all)."""
    return not last.is_942 and "final_closing_balance" not in last.meta

"""Chinese bank exports: CSV (GBK/GB18030 or UTF-8) and XLSX/XLS, read through profiles.

The layout is found, not assumed: title rows (户名, 账号, 查询期间, 期初余额) sit above the header,
the header row is the first that a profile recognises, footer rows (合计...) are skipped, and the
running balance column, when present, is checked line by line. Anything that does not fit is a
:class:`StatementError` naming the file, row and column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from backroom.bots.formats.encoding import decode as decode_text
from backroom.bots.formats.errors import EncodingError
from backroom.bots.formats.statements.amounts import AmountError, clean_text, parse_amount, parse_date
from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest
from backroom.bots.formats.statements.profiles import BUILTIN_PROFILES, Profile, normalise_header

__all__ = ["decode", "parse_table_statement", "read_rows"]

_HEADER_SEARCH_ROWS = 30
_ACCOUNT_RE = re.compile(r"(?:账号|帐号|账户|卡号)\s*[:：]?\s*([0-9][0-9 \-]{5,}[0-9])")
_CURRENCY_RE = re.compile(r"(?:币种|币别)\s*[:：]?\s*([A-Za-z]{3}|人民币|美元|港币|欧元)")
_OPENING_RE = re.compile(r"期初余额\s*[:：]?\s*([-+]?[0-9,]+(?:\.\d+)?)")
_CLOSING_RE = re.compile(r"期末余额\s*[:：]?\s*([-+]?[0-9,]+(?:\.\d+)?)")
_DATE_TEXT = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{8}"
_PERIOD_RE = re.compile(rf"({_DATE_TEXT})\s*(?:至|到|-|~|—)\s*({_DATE_TEXT})")
_CURRENCY_NAMES = {"人民币": "CNY", "美元": "USD", "港币": "HKD", "欧元": "EUR"}


def decode(data: bytes, path: Path, encoding: str | None) -> str:
    """Bytes to text by the formats room's one rule (:mod:`backroom.bots.formats.encoding`), strictly."""
    try:
        return decode_text(data, declared=encoding)
    except EncodingError as exc:
        raise StatementError(
            path,
            f"{exc}; expected a Chinese bank CSV in GBK/GB18030 or UTF-8 "
            "— set the profile's 'encoding' if your bank uses another",
            line=exc.line,
        ) from None


def read_rows(path: Path, data: bytes, encoding: str | None = None) -> list[list[str]]:
    """All rows of a CSV, XLSX or XLS file as cleaned strings (row numbers are index + 1)."""
    suffix = path.suffix.lower()
    if data[:4] == b"PK\x03\x04" or suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or suffix == ".xls":
        return _xls_rows(path, data)
    text = decode(data, path, encoding)
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return [[clean_text(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(path: Path, data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise StatementError(path, f"the workbook is damaged or truncated ({exc}); download it again") from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(c) for c in row])
        return rows
    finally:
        book.close()


def _xls_rows(path: Path, data: bytes) -> list[list[str]]:
    try:
        import xlrd  # optional: only old .xls exports need it
    except ImportError as exc:
        raise StatementError(path, "old .xls workbooks need the 'xlrd' package; or save the file as .xlsx") from exc
    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:
        raise StatementError(path, f"the .xls workbook is damaged or truncated ({exc})") from exc
    sheet = book.sheet_by_index(0)
    rows = []
    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:  # dates are day numbers in .xls; the workbook says from when
                row.append(_cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode)))
            else:
                row.append(_cell_text(cell.value))
        rows.append(row)
    return rows


def _cell_text(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return clean_text(value)


def _match_header(row: Sequence[str], profile: Profile) -> tuple[dict[str, int], str | None]:
    cells = [normalise_header(c) for c in row]
    found: dict[str, int] = {}
    for field, aliases in profile.fields().items():
        for alias in aliases:  # the first alias that appears wins, in the profile's order
            if alias in cells:
                idx = cells.index(alias)
                if idx not in found.values():
                    found[field] = idx
                    break
    return found, profile.amount_mode(set(found)) if "date" in found else None


def _find_header(rows: list[list[str]], profiles: Sequence[Profile]) -> tuple[int, Profile, dict[str, int], str]:
    best: tuple[int, int, Profile, dict[str, int], str] | None = None
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if sum(1 for c in row if c) < 2:
            continue
        for profile in profiles:
            found, mode = _match_header(row, profile)
            if mode is None:
                continue
            score = len(found)
            if best is None or score > best[0]:
                best = (score, index, profile, found, mode)
        if best is not None:
            break  # the header is the first row any profile recognises
    if best is None:
        raise LookupError
    return best[1], best[2], best[3], best[4]


def _title_info(lines: list[list[str]]) -> dict[str, str]:
    text = " ".join(" ".join(c for c in row if c) for row in lines)
    info: dict[str, str] = {}
    for key, rx in (
        ("account", _ACCOUNT_RE),
        ("currency", _CURRENCY_RE),
        ("opening", _OPENING_RE),
        ("closing", _CLOSING_RE),
    ):
        m = rx.search(text)
        if m:
            info[key] = m.group(1).replace(" ", "").replace("-", "") if key == "account" else m.group(1)
    m = _PERIOD_RE.search(text)
    if m:
        info["start"], info["end"] = m.group(1), m.group(2)
    return info


def parse_table_statement(
    path: Path,
    data: bytes | None = None,
    profiles: Sequence[Profile] | None = None,
    *,
    account: str = "",
) -> Statement:
    """Read a Chinese bank CSV/XLSX/XLS export into a :class:`Statement`."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    profiles = list(profiles or ()) + BUILTIN_PROFILES
    encodings = {p.encoding for p in profiles if p.encoding}
    rows = read_rows(path, data, next(iter(encodings)) if len(encodings) == 1 else None)
    try:
        header_index, profile, cols, mode = _find_header(rows, profiles)
    except LookupError:
        seen = next((r for r in rows[:_HEADER_SEARCH_ROWS] if sum(1 for c in r if c) >= 3), None)
        shown = ", ".join(repr(c) for c in (seen or []) if c) or "no row with several columns"
        raise StatementError(
            path,
            f"unknown statement layout: no profile recognises the columns seen ({shown}); expected a date "
            "column (交易日期) and amounts as 借方/贷方 columns, one signed 交易金额, or 发生额 with 借贷标志 "
            f"— add a profile for this bank (tried: {', '.join(p.name for p in profiles)})",
        ) from None
    header = rows[header_index]
    info = _title_info(rows[:header_index])
    lines: list[StatementLine] = []
    footer_rows: list[list[str]] = []
    markers = tuple(profile.footer_markers)
    acct = info.get("account") or account  # the file knows best; the caller's is a fall-back
    currency = _CURRENCY_NAMES.get(info.get("currency", ""), info.get("currency", "CNY")).upper() or "CNY"
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        number = index + 1
        if not any(row):
            continue
        if row[0].startswith(markers) or any(c.startswith(markers) for c in row[:2]):
            footer_rows.append(row)
            continue
        if footer_rows:  # free text after the footer (打印时间, 银行盖章) is not a line
            footer_rows.append(row)
            continue
        if len([c for c in row]) < max(cols.values()) + 1:
            raise StatementError(
                path,
                f"row has {len(row)} fields but the header has {len(header)}: the file looks truncated",
                line=number,
            )
        lines.append(_line(path, number, row, cols, mode, profile, header, acct, currency))
    info.update({k: v for k, v in _title_info(footer_rows).items() if k in ("opening", "closing")})
    statement = Statement(
        account=acct,
        currency=currency,
        lines=lines,
        source=str(path),
        format=f"table:{profile.name}",
        digest=file_digest(data),
    )
    _balances(path, statement, info)
    if "start" in info:
        statement.period_start, statement.period_end = parse_date(info["start"]), parse_date(info["end"])
    return statement


def _line(
    path: Path,
    number: int,
    row: list[str],
    cols: dict[str, int],
    mode: str,
    profile: Profile,
    header: list[str],
    account: str,
    currency: str,
) -> StatementLine:
    def get(field: str) -> str:
        idx = cols.get(field)
        return row[idx] if idx is not None and idx < len(row) else ""

    def money(field: str, blank_as_zero: bool = True) -> Decimal | None:
        try:
            return parse_amount(get(field), blank_as_zero=blank_as_zero)
        except AmountError as exc:
            raise StatementError(path, str(exc), line=number, field=header[cols[field]]) from None

    if mode == "debit-credit":
        amount = (money("credit") or Decimal(0)) - (money("debit") or Decimal(0))
    elif mode == "flag":
        flag = get("direction").lower()
        value = money("amount") or Decimal(0)
        if flag in profile.credit_flags:
            amount = abs(value)
        elif flag in profile.debit_flags:
            amount = -abs(value)
        else:
            raise StatementError(
                path, f"expected 借 or 贷 but found {flag!r}", line=number, field=header[cols["direction"]]
            )
    else:
        amount = money("amount") or Decimal(0)
    try:
        booking = parse_date(get("date"))
        value_date = parse_date(get("value_date")) if get("value_date") else None
    except ValueError as exc:
        raise StatementError(path, str(exc), line=number, field=header[cols["date"]]) from None
    cur = get("currency")
    return StatementLine(
        account=account,
        booking_date=booking,
        value_date=value_date,
        amount=amount,
        currency=_CURRENCY_NAMES.get(cur, cur.upper() or currency),
        counterparty_name=get("counterparty_name"),
        counterparty_account=get("counterparty_account").replace(" ", ""),
        reference=get("reference"),
        purpose=get("purpose"),
        bank_line_id=get("line_id"),
        balance_after=money("balance", blank_as_zero=False) if "balance" in cols else None,
        source_line=number,
    )


def _balances(path: Path, statement: Statement, info: dict[str, str]) -> None:
    """Opening/closing from the title or footer, else from the running balance column (checked)."""
    lines = statement.lines
    with_balance = [ln for ln in lines if ln.balance_after is not None]
    if with_balance and len(with_balance) == len(lines):
        ordered = lines
        if not _running_ok(lines) and _running_ok(lines[::-1]):
            ordered = lines[::-1]  # newest-first export
            statement.lines = ordered
        for prev, cur in pairwise(ordered):
            assert prev.balance_after is not None and cur.balance_after is not None
            if prev.balance_after + cur.amount != cur.balance_after:
                raise StatementError(
                    path,
                    f"running balance breaks: {prev.balance_after} + {cur.amount} ≠ {cur.balance_after} "
                    "(a line is missing or an amount is wrong)",
                    line=cur.source_line,
                )
        first, last = ordered[0], ordered[-1]
        assert first.balance_after is not None
        statement.opening_balance = first.balance_after - first.amount
        statement.closing_balance = last.balance_after
    if "opening" in info:
        statement.opening_balance = parse_amount(info["opening"])
    if "closing" in info:
        statement.closing_balance = parse_amount(info["closing"])


def _running_ok(lines: list[StatementLine]) -> bool:
    return all(
        p.balance_after is not None and c.balance_after is not None and p.balance_after + c.amount == c.balance_after
        for p, c in pairwise(lines)
    )

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from backroom.bots.formats.encoding import decode as decode_text
from backroom.bots.formats.errors import EncodingError
from backroom.bots.formats.statements.amounts import AmountError, clean_text, parse_amount, parse_date
from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest
from backroom.bots.formats.statements.profiles import BUILTIN_PROFILES, GENERIC, Profile, normalise_header

__all__ = ["decode", "parse_table_statement", "read_rows"]

_HEADER_SEARCH_ROWS = 40
_CURRENCY_NAMES = {
    "人民币": "CNY",
    "人民币元": "CNY",
    "本币": "CNY",
    "美元": "USD",
    "港币": "HKD",
    "港元": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
}
_DATE_TEXT = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{8}"
_AMOUNT_TEXT = r"[-+]?[0-9][0-9,]*(?:\.\d+)?"


def _label(*words: str) -> str:
    """A label as banks print it: ``账　　号：`` pads the characters with (full-width) spaces."""
    return "(?:" + "|".join(r"\s*".join(re.escape(ch) for ch in w) for w in words) + r")\s*[:：]?\s*"


_ACCOUNT_RE = re.compile(_label("账号", "帐号", "卡号", "账户号码", "查询账号", "账户") + r"([0-9][0-9 \-*]{5,}[0-9])")
_HOLDER_RE = re.compile(_label("户名", "账户名称", "账户名", "客户名称", "单位名称") + r"([^\s:：]{2,40})")
_CURRENCY_RE = re.compile(
    _label("币种", "币别", "货币") + r"(人民币元|人民币|美元|港币|港元|欧元|日元|英镑|[A-Za-z]{3}(?![A-Za-z]))"
)
_OPENING_RE = re.compile(_label("期初余额", "上期余额", "起始余额") + f"({_AMOUNT_TEXT})")
_CLOSING_RE = re.compile(_label("期末余额", "本期余额", "截止余额") + f"({_AMOUNT_TEXT})")
_PERIOD_RE = re.compile(rf"({_DATE_TEXT})\s*(?:至|到|-|~|—|－)\s*({_DATE_TEXT})")
_START_RE = re.compile(_label("起始日期", "开始日期", "查询起日", "起日") + f"({_DATE_TEXT})")
_END_RE = re.compile(_label("终止日期", "结束日期", "截止日期", "查询止日", "止日") + f"({_DATE_TEXT})")


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
    delimiter = _delimiter(text[:16384])
    return [[clean_text(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _delimiter(sample: str) -> str:
    """Comma, tab or semicolon: the one that cuts the most lines into the same number of fields.

    Counting characters is not enough: ICBC pads every cell of its comma-separated export with a
    leading tab, so a row has more tabs than commas.
    """
    lines = sample.splitlines()[:-1] or sample.splitlines()  # the last line of a sample may be cut
    best, best_score = ",", (-1, 0, -1)
    for delimiter in (",", "\t", ";"):
        rows = [r for r in csv.reader(lines, delimiter=delimiter) if len(r) > 1]
        widths = Counter(len(r) for r in rows)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        # a cell that still ends in another delimiter ("交易日期," split on tabs) was cut wrongly
        others = tuple(d for d in ",;" if d != delimiter)
        bad = sum(1 for r in rows for c in r if c.strip().endswith(others) or c.strip().startswith(others))
        if (count, -bad, width) > best_score:
            best, best_score = delimiter, (count, -bad, width)
    return best


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


def _fill_generic(row: Sequence[str], found: dict[str, int]) -> dict[str, int]:
    """Columns the chosen profile does not list, looked up under every name banks use."""
    cells = [normalise_header(c) for c in row]
    cols = dict(found)
    for field, aliases in GENERIC.items():
        if field in cols or field in ("date", "debit", "credit", "amount", "direction", "purpose"):
            continue
        for alias in aliases:
            n = normalise_header(alias)
            if n in cells and cells.index(n) not in cols.values():
                cols[field] = cells.index(n)
                break
    return cols


def _purpose_columns(row: Sequence[str], profile: Profile, cols: dict[str, int]) -> list[int]:
    """Every purpose-like column present (摘要, 用途, 客户摘要...): references hide in any of them."""
    cells = [normalise_header(c) for c in row]
    wanted = profile.purpose_headers() + [normalise_header(h) for h in GENERIC["purpose"]]
    used = set(cols.values())
    out: list[int] = []
    for name in wanted:
        if name in cells:
            idx = cells.index(name)
            if idx not in used and idx not in out:
                out.append(idx)
    return out


def _eligible(profile: Profile, user: bool, context: str, row: Sequence[str]) -> int:
    """2 = asked for in config, 1 = a bank profile whose bank the file names, 0 = generic, -1 = not this bank."""
    if user:
        return 2
    if not profile.bank:
        return 0
    if profile.names_bank(context):
        return 1
    cells = {normalise_header(c) for c in row}
    if profile.signature and all(normalise_header(h) in cells for h in profile.signature):
        return 1
    return -1


def _find_header(
    rows: list[list[str]], profiles: Sequence[Profile], n_user: int, name: str
) -> tuple[int, Profile, dict[str, int], str]:
    """The first row a profile recognises; the bank is named by the file name or the rows above it
    (not by the rows below: a counterparty's bank, 工商银行北京分行, names no layout)."""
    best: tuple[tuple[int, int, int], int, Profile, dict[str, int], str] | None = None
    context = name
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if sum(1 for c in row if c) < 2:
            context += " " + " ".join(row)
            continue
        for order, profile in enumerate(profiles):
            rank = _eligible(profile, order < n_user, context, row)
            if rank < 0:
                continue
            found, mode = _match_header(row, profile)
            if mode is None:
                continue
            score = (rank, len(found), -order)
            if best is None or score > best[0]:
                best = (score, index, profile, found, mode)
        if best is not None:
            break  # the header is the first row any profile recognises
        context += " " + " ".join(row)
    if best is None:
        raise LookupError
    return best[1], best[2], best[3], best[4]


def _header_like(rows: list[list[str]]) -> list[str]:
    """The row that looks most like a header (for the error message), not merely the first long one."""
    known = {normalise_header(h) for names in GENERIC.values() for h in names}
    scored = [(sum(1 for c in r if normalise_header(c) in known), -i) for i, r in enumerate(rows[:_HEADER_SEARCH_ROWS])]
    if not scored:
        return []
    hits, neg = max(scored)
    if hits == 0:
        return next((r for r in rows[:_HEADER_SEARCH_ROWS] if sum(1 for c in r if c) >= 3), [])
    return rows[-neg]


def _title_info(lines: list[list[str]]) -> dict[str, str]:
    """Label-value pairs of a header block (账号/户名/币种/起止日期/期初余额/期末余额), cells or one line."""
    text = " ".join(" ".join(c for c in row if c) for row in lines)
    info: dict[str, str] = {}
    for key, rx in (
        ("account", _ACCOUNT_RE),
        ("holder", _HOLDER_RE),
        ("currency", _CURRENCY_RE),
        ("opening", _OPENING_RE),
        ("closing", _CLOSING_RE),
    ):
        m = rx.search(text)
        if m:
            info[key] = re.sub(r"[ \-]", "", m.group(1)) if key == "account" else m.group(1)
    m = _PERIOD_RE.search(text)
    start, end = _START_RE.search(text), _END_RE.search(text)
    if start and end:
        info["start"], info["end"] = start.group(1), end.group(1)
    elif m:
        info["start"], info["end"] = m.group(1), m.group(2)
    return info


def _currency_code(text: str, default: str = "") -> str:
    text = text.strip()
    if not text:
        return default
    code = _CURRENCY_NAMES.get(text, text.upper())
    return "CNY" if code == "RMB" else code


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
    user = list(profiles or ())
    profiles = user + BUILTIN_PROFILES
    encodings = {p.encoding for p in user if p.encoding}
    rows = read_rows(path, data, next(iter(encodings)) if len(encodings) == 1 else None)
    try:
        header_index, profile, found, mode = _find_header(rows, profiles, len(user), path.name)
    except LookupError:
        shown = ", ".join(repr(c) for c in _header_like(rows) if c) or "no row with several columns"
        raise StatementError(
            path,
            f"unknown statement layout: no profile recognises the columns seen ({shown}); expected a date "
            "column (交易日期/记账日期) and amounts as 借方/贷方 (收入/支出) columns, one signed 交易金额, "
            "or 发生额 with a 借贷 flag — add a profile for this bank in config "
            f"(tried: {', '.join(p.name for p in profiles)})",
        ) from None
    header = rows[header_index]
    cols = _fill_generic(header, found)
    if mode == "signed":  # a 借贷 column the profile did not expect still decides the sign
        cells = [normalise_header(c) for c in header]
        flag = next((cells.index(n) for n in map(normalise_header, GENERIC["direction"]) if n in cells), None)
        if flag is not None and flag not in cols.values():
            cols["direction"], mode = flag, "flag"
    purpose_cols = _purpose_columns(header, profile, cols)
    info = _title_info(rows[:header_index])
    acct = info.get("account") or account  # the file knows best; the caller's is a fall-back
    currency = _currency_code(info.get("currency", ""), "CNY")
    table = _Table(path, header, cols, purpose_cols, mode, profile, acct, currency)
    lines: list[StatementLine] = []
    footer_rows: list[list[str]] = []
    notes: list[str] = []
    header_cells = [normalise_header(c) for c in header]
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        number = index + 1
        if not any(row):
            continue
        if [normalise_header(c) for c in row] == header_cells:
            continue  # the header repeated on a new page
        kind = table.classify(row, number)
        if kind == "line":
            lines.append(table.line(number, row))
        elif kind == "footer":
            footer_rows.append(row)
            table.check_totals(row, number, lines)
        else:
            footer_rows.append(row)
            notes.append(" ".join(c for c in row if c)[:200])
    info.update({k: v for k, v in _title_info(footer_rows).items() if k in ("opening", "closing")})
    acct = _own_account(path, table, rows, lines, acct)
    statement = Statement(
        account=acct,
        currency=currency,
        lines=lines,
        source=str(path),
        format=f"table:{profile.name}",
        digest=file_digest(data),
        holder=info.get("holder", ""),
        bank=profile.bank,
        notes=notes,
    )
    _balances(path, statement, info)
    if "start" in info:
        statement.period_start, statement.period_end = parse_date(info["start"]), parse_date(info["end"])
    return statement


class _Table:
    """One export's columns, and how to read a row of it."""

    def __init__(
        self,
        path: Path,
        header: list[str],
        cols: dict[str, int],
        purpose_cols: list[int],
        mode: str,
        profile: Profile,
        account: str,
        currency: str,
    ) -> None:
        self.path, self.header, self.cols, self.purpose_cols = path, header, cols, purpose_cols
        self.mode, self.profile, self.account, self.currency = mode, profile, account, currency
        self.amount_fields = [f for f in ("debit", "credit", "amount") if f in cols]

    def get(self, row: list[str], field: str) -> str:
        idx = self.cols.get(field)
        return row[idx] if idx is not None and idx < len(row) else ""

    def money(self, row: list[str], field: str, number: int, blank_as_zero: bool = True) -> Decimal | None:
        try:
            return parse_amount(self.get(row, field), blank_as_zero=blank_as_zero)
        except AmountError as exc:
            raise StatementError(self.path, str(exc), line=number, field=self.header[self.cols[field]]) from None

    def classify(self, row: list[str], number: int) -> str:
        """``line``, ``footer`` (合计 rows: totals are checked) or ``note`` (disclaimers, print stamps)."""
        try:
            parse_date(self.get(row, "date"))
            dated = True
        except ValueError:
            dated = False
        texts = [c for c in row if c]
        squeezed = [re.sub(r"\s", "", c) for c in texts]
        if dated:  # a dated row is a line, whatever its 摘要 says (合计付款 is a payment)
            if len(row) < max(self.cols.values()) + 1:
                raise StatementError(
                    self.path,
                    f"row has {len(row)} fields but the header has {len(self.header)}: the file looks truncated",
                    line=number,
                )
            return "line"
        if any(m in c for c in squeezed[:3] for m in self.profile.footer_markers):
            return "footer"
        has_amount = any(self.get(row, f) for f in self.amount_fields)
        noted = any(c.startswith(tuple(self.profile.note_markers)) for c in squeezed)
        if not has_amount and (noted or len(texts) <= 2):  # a row with amounts is never waved through
            return "note"
        raise StatementError(
            self.path,
            f"expected a date like 2024-03-01 but found {self.get(row, 'date')!r} in a row that has amounts "
            "(not a 合计 row, not a note)",
            line=number,
            field=self.header[self.cols["date"]],
        )

    def check_totals(self, row: list[str], number: int, lines: list[StatementLine]) -> None:
        """A 合计 row that prints credit/debit totals must agree with the lines read: no line lost."""
        if self.mode != "debit-credit":
            return
        try:
            debit = parse_amount(self.get(row, "debit"))
            credit = parse_amount(self.get(row, "credit"))
        except AmountError:
            return  # a 合计 row with text in the amount columns says nothing checkable
        credits = sum((ln.amount for ln in lines if ln.amount > 0), Decimal(0))
        debits = -sum((ln.amount for ln in lines if ln.amount < 0), Decimal(0))
        for said, read, name in ((credit, credits, "credit"), (debit, debits, "debit")):
            if said is not None and abs(said) != read:
                raise StatementError(
                    self.path,
                    f"the file's own total of {name}s is {said} but its lines add to {read} "
                    "(a line is missing or unreadable)",
                    line=number,
                    field=self.header[self.cols[name]],
                )

    def direction(self, row: list[str], number: int) -> int:
        flag = clean_text(self.get(row, "direction")).lower()
        tokens = [flag, *re.findall(r"[\u4e00-\u9fff]+|[a-z]+|\d+|[+-]", flag)]  # "借Dr" → 借, dr
        for token in tokens:
            if token in self.profile.credit_flags:
                return 1
            if token in self.profile.debit_flags:
                return -1
        raise StatementError(
            self.path,
            f"expected a 借/贷 flag (借, 贷, 借 Dr, 贷 Cr, D, C, 收, 支) but found {flag!r}",
            line=number,
            field=self.header[self.cols["direction"]],
        )

    def line(self, number: int, row: list[str]) -> StatementLine:
        if self.mode == "debit-credit":
            amount = (self.money(row, "credit", number) or Decimal(0)) - (
                self.money(row, "debit", number) or Decimal(0)
            )
        elif self.mode == "flag":
            amount = self.direction(row, number) * abs(self.money(row, "amount", number) or Decimal(0))
        else:
            amount = self.money(row, "amount", number) or Decimal(0)
        try:
            booking = parse_date(self.get(row, "date"))
            value_date = parse_date(self.get(row, "value_date")) if self.get(row, "value_date") else None
        except ValueError as exc:
            raise StatementError(self.path, str(exc), line=number, field=self.header[self.cols["date"]]) from None
        name, acct = self.get(row, "counterparty_name"), self.get(row, "counterparty_account")
        combined = self.get(row, "counterparty_combined")
        if combined and not (name and acct):
            c_name, c_acct = _split_counterparty(combined)
            name, acct = name or c_name, acct or c_acct
        purposes: list[str] = []
        for idx in self.purpose_cols:
            text = row[idx] if idx < len(row) else ""
            if text and text not in purposes:
                purposes.append(text)
        return StatementLine(
            account=self.account,
            booking_date=booking,
            value_date=value_date,
            amount=amount,
            currency=_currency_code(self.get(row, "currency"), self.currency),
            counterparty_name=name,
            counterparty_account=acct.replace(" ", ""),
            counterparty_bank=self.get(row, "counterparty_bank"),
            reference=self.get(row, "reference"),
            purpose=" / ".join(purposes),
            bank_line_id=self.get(row, "line_id"),
            balance_after=self.money(row, "balance", number, blank_as_zero=False) if "balance" in self.cols else None,
            source_line=number,
        )


def _own_account(path: Path, table: _Table, rows: list[list[str]], lines: list[StatementLine], acct: str) -> str:
    """对公 exports print the account on every row instead of above the table: one account per file."""
    if "own_account" not in table.cols or not lines:
        return acct
    seen = {re.sub(r"[ \-]", "", table.get(rows[ln.source_line - 1], "own_account")) for ln in lines if ln.source_line}
    seen.discard("")
    if len(seen) > 1:
        tails = ", ".join(f"…{a[-4:]}" for a in sorted(seen))  # account numbers never whole in a message
        raise StatementError(path, f"the file holds several accounts ({tails}); export one account per file")
    if seen and not acct:
        acct = seen.pop()
        lines[:] = [replace(ln, account=acct) for ln in lines]
    return acct


_ACCOUNT_TOKEN = re.compile(r"[0-9][0-9*]{5,}[0-9]")


def _split_counterparty(text: str) -> tuple[str, str]:
    """``张三 6222****1234`` / ``6222...1234/某某公司`` → (name, account)."""
    m = _ACCOUNT_TOKEN.search(text.replace(" ", "") if not re.search(r"[^\d\s*]", text) else text)
    if not m:
        return text.strip(), ""
    name = (text[: m.start()] + " " + text[m.end() :]).strip(" /|,，-")
    return re.sub(r"\s+", " ", name), m.group(0)


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

"""The company's side: ledger entries from an SQL query or an Excel export.

Both sources come down to rows with entry id, date, amount (signed from the bank account's view:
money in is positive), currency, counterparty, reference / invoice numbers and memo. Column names
are matched against Chinese and English aliases, so a 凭证号/日期/借方/贷方/往来单位 export works as
well as a query that aliases its columns ``entry_id, date, amount, ...``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from backroom.bots.formats.statements.amounts import AmountError, clean_text, parse_amount, parse_date
from backroom.bots.formats.statements.profiles import normalise_header
from backroom.bots.sdk.errors import BusinessError, ConfigError

__all__ = ["LedgerEntry", "LedgerError", "entries_from_rows", "read_excel_ledger", "read_sql_ledger"]

ALIASES: dict[str, list[str]] = {
    "entry_id": ["entry_id", "id", "凭证号", "分录号", "凭证编号", "记账凭证号", "单据号"],
    "date": ["date", "booking_date", "日期", "记账日期", "凭证日期", "业务日期"],
    "amount": ["amount", "金额", "发生额"],
    "debit": ["debit", "借方", "借方金额", "收入"],
    "credit": ["credit", "贷方", "贷方金额", "支出"],
    "currency": ["currency", "币种", "币别"],
    "counterparty": ["counterparty", "往来单位", "对方单位", "客户/供应商", "客商", "对方户名", "单位名称"],
    "reference": ["reference", "invoice", "invoices", "发票号", "发票号码", "参考号", "业务单号", "合同号"],
    "memo": ["memo", "摘要", "备注", "说明"],
    "account": ["account", "bank_account", "银行账号", "银行账户", "账号", "本方账号", "开户账号", "银行帐号"],
}


class LedgerError(BusinessError):
    """A ledger row cannot be read; names the source, row and column."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str
    date: dt.date
    amount: Decimal  # signed: + money into the bank account (a debit to it)
    currency: str = "CNY"
    counterparty: str = ""
    reference: str = ""
    memo: str = ""
    account: str = ""  # the bank account the entry moves (an 账号 column, or the ledger's configured account)


_CURRENCY_NAMES = {
    "人民币": "CNY",
    "人民币元": "CNY",
    "本币": "CNY",
    "美元": "USD",
    "港币": "HKD",
    "港元": "HKD",
    "欧元": "EUR",
}


def _currency(text: str) -> str:
    code = _CURRENCY_NAMES.get(text, text.upper() or "CNY")
    return "CNY" if code == "RMB" else code


def _columns(header: Sequence[str], source: str) -> dict[str, int]:
    cells = [normalise_header(h) for h in header]
    found: dict[str, int] = {}
    for field, names in ALIASES.items():
        for name in names:
            n = normalise_header(name)
            if n in cells:
                found[field] = cells.index(n)
                break
    has_amount = "amount" in found or ("debit" in found and "credit" in found)
    missing = [f for f in ("entry_id", "date") if f not in found] + ([] if has_amount else ["amount"])
    if missing:
        raise LedgerError(
            f"{source}: ledger columns {', '.join(missing)} not found; saw {', '.join(repr(h) for h in header if h)}"
            " (expected e.g. 凭证号, 日期, 金额 or 借方/贷方, 往来单位, 发票号, 摘要)"
        )
    return found


def entries_from_rows(
    header: Sequence[str], rows: Iterable[Sequence[Any]], source: str, first_row: int = 2
) -> list[LedgerEntry]:
    """Rows (with their header) to entries; a bad cell raises naming row and column."""
    cols = _columns([clean_text(h) for h in header], source)
    entries = []
    for number, row in enumerate(rows, start=first_row):
        if not any(v not in (None, "") for v in row):
            continue

        def get(field: str, row: Sequence[Any] = row) -> Any:
            idx = cols.get(field)
            return row[idx] if idx is not None and idx < len(row) else None

        try:
            if "amount" in cols:
                amount = parse_amount(get("amount"), blank_as_zero=True)
            else:
                amount = (parse_amount(get("debit"), blank_as_zero=True) or Decimal(0)) - (
                    parse_amount(get("credit"), blank_as_zero=True) or Decimal(0)
                )
            date = parse_date(get("date"))
        except (AmountError, ValueError) as exc:
            raise LedgerError(f"{source}, row {number}: {exc}") from None
        entry_id = clean_text(get("entry_id"))
        if not entry_id:
            raise LedgerError(f"{source}, row {number}: the entry id is empty")
        entries.append(
            LedgerEntry(
                entry_id=entry_id,
                date=date,
                amount=amount or Decimal(0),
                currency=_currency(clean_text(get("currency"))),
                counterparty=clean_text(get("counterparty")),
                reference=clean_text(get("reference")),
                memo=clean_text(get("memo")),
                account=clean_text(get("account")).replace(" ", "").replace("-", ""),
            )
        )
    ids = [e.entry_id for e in entries]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise LedgerError(f"{source}: entry id {dup!r} appears more than once")
    return entries


def read_excel_ledger(path: Path, sheet: str | None = None) -> list[LedgerEntry]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LedgerError(f"{path}: cannot open the ledger workbook ({exc})") from exc
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header: Sequence[Any] = ()
        skipped = 0
        for header in rows:  # title rows above the header are skipped
            skipped += 1
            cells = [normalise_header(clean_text(h)) for h in header if h is not None]
            if any(normalise_header(a) in cells for a in ALIASES["date"]):
                break
        return entries_from_rows([clean_text(h) for h in header], list(rows), str(path), first_row=skipped + 1)
    finally:
        book.close()


def read_sql_ledger(url: str, query: str, params: Mapping[str, Any] | None = None) -> list[LedgerEntry]:
    """Run the configured query on the accounting database (read-only use) and read its rows."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(query), dict(params or {}))
            header = list(result.keys())
            rows = [tuple(r) for r in result]
    except SQLAlchemyError as exc:
        raise ConfigError(f"ledger query failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return entries_from_rows(header, rows, "ledger query")

"""The reconciliation workbook, and reading reviewers' decisions back out of it.

Sheets: 汇总 (summary and how each stage matched), 已匹配 (pairs with rule and score), 银行未达 and
账面未达 (unmatched on each side), 待复核 (suggestions: a reviewer writes 确认 or 拒绝 in the first
column and drops the workbook into the review inbox; the next run applies it), 调整建议 (fee / FX
differences to book), 余额调节表 (bank balance ± outstanding items = book balance) and 对账单检查
(balance, continuity, duplicate and gap findings per statement file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from backroom.bots.formats.statements import StatementLine
from backroom.bots.reconcile.ledger import LedgerEntry

__all__ = [
    "AccountGroup",
    "Decision",
    "ReportData",
    "business_period",
    "read_decisions",
    "reconciliation",
    "report_filename",
    "write_workbook",
]

REVIEW_SHEET = "待复核"
# both sides of a pair, as the matched and the review sheets show them
PAIR_COLUMNS = (
    "银行行键 bank keys",
    "银行日期",
    "银行金额",
    "对方户名",
    "摘要",
    "账簿分录 ledger ids",
    "账簿日期",
    "账簿金额",
    "往来单位",
    "发票/摘要",
)
DECISION_HEADER = "决定(确认/拒绝)"
CONFIRM_WORDS = {"确认", "confirm", "confirmed", "yes", "y", "是", "ok", "✓", "同意"}
REJECT_WORDS = {"拒绝", "reject", "rejected", "no", "n", "否", "✗", "不同意"}

STAGE_EXPLANATIONS = {
    "confirmed": "kept from earlier runs (auto-matched or confirmed by a reviewer)",
    "reference": "1. an invoice/reference number in the bank text equals the ledger's, amount equal",
    "amount-date-name": "2. amount equal, dates within the window, counterparty the same company",
    "combined": "3. one bank line pays several ledger entries (subset-sum, same counterparty)",
    "split": "3. several bank lines pay one ledger entry (subset-sum, same counterparty)",
    "fee": "4. the bank deducted a fee: matched, the difference proposed as bank charges",
    "fx": "4. an FX difference within tolerance: matched, the difference proposed as FX gain/loss",
    "amount-date": "amount and date agree but the names do not: review only",
}


@dataclass
class Decision:
    match_id: str
    bank_keys: list[str]
    ledger_ids: list[str]
    decision: str  # confirm | reject
    rule: str = ""


@dataclass
class AccountGroup:
    """One bank account in one currency: it gets its own 余额调节表."""

    account: str
    currency: str
    bank_balance: Decimal | None = None
    bank_balance_date: Any = None
    book_balance: Decimal | None = None


@dataclass
class ReportData:
    bank: Mapping[str, StatementLine]
    ledger: Mapping[str, LedgerEntry]
    matched: list[dict[str, Any]]  # rows: id, bank_keys, ledger_ids, rule, score, status, adjustment, note
    review: list[dict[str, Any]]
    unmatched_bank: list[str]
    unmatched_ledger: list[str]
    statements: list[dict[str, Any]]  # file, account, format, period, opening, closing, lines, findings
    stage_counts: dict[str, int] = field(default_factory=dict)
    bank_balance: Decimal | None = None
    bank_balance_date: Any = None
    book_balance: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    groups: list[AccountGroup] = field(default_factory=list)  # empty: one 余额调节表 for everything

    def in_group(self, group: AccountGroup | None) -> ReportData:
        """This data cut down to one account and currency (the whole when ``group`` is None)."""
        if group is None:
            return self

        def bank_ok(k: str) -> bool:
            ln = self.bank.get(k)
            return ln is not None and ln.account == group.account and ln.currency == group.currency

        def book_ok(k: str) -> bool:
            e = self.ledger.get(k)
            return e is not None and e.account == group.account and e.currency == group.currency

        def row_ok(r: dict[str, Any]) -> bool:
            return any(bank_ok(k) for k in r["bank_keys"]) or any(book_ok(k) for k in r["ledger_ids"])

        return ReportData(
            bank={k: v for k, v in self.bank.items() if bank_ok(k)},
            ledger={k: v for k, v in self.ledger.items() if book_ok(k)},
            matched=[r for r in self.matched if row_ok(r)],
            review=[r for r in self.review if row_ok(r)],
            unmatched_bank=[k for k in self.unmatched_bank if bank_ok(k)],
            unmatched_ledger=[k for k in self.unmatched_ledger if book_ok(k)],
            statements=[s for s in self.statements if s.get("account") == group.account],
            bank_balance=group.bank_balance,
            bank_balance_date=group.bank_balance_date,
            book_balance=group.book_balance,
        )


def _direction_bank(amount: Decimal) -> str:
    return "银行已收企业未收" if amount > 0 else "银行已付企业未付"


def _direction_book(amount: Decimal) -> str:
    return "企业已收银行未收" if amount > 0 else "企业已付银行未付"


def reconciliation(data: ReportData, group: AccountGroup | None = None) -> dict[str, Decimal | None]:
    """The 余额调节表 figures (of one account and currency when ``group`` is given).

    Suggestions not yet decided count as outstanding on both sides.
    """
    data = data.in_group(group)
    open_bank = list(dict.fromkeys([*data.unmatched_bank, *(k for r in data.review for k in r["bank_keys"])]))
    matched_book = {k for r in data.matched for k in r["ledger_ids"]}
    open_book = [  # each entry once, whether unmatched, suggested or an alternative; never a matched one
        k
        for k in dict.fromkeys(
            [*data.unmatched_ledger, *(k for r in data.review for k in (*r["ledger_ids"], *r.get("alternatives", ())))]
        )
        if k not in matched_book
    ]
    bank_in = sum((data.bank[k].amount for k in open_bank if k in data.bank and data.bank[k].amount > 0), Decimal(0))
    bank_out = -sum((data.bank[k].amount for k in open_bank if k in data.bank and data.bank[k].amount < 0), Decimal(0))
    book_in = sum(
        (data.ledger[k].amount for k in open_book if k in data.ledger and data.ledger[k].amount > 0), Decimal(0)
    )
    book_out = -sum(
        (data.ledger[k].amount for k in open_book if k in data.ledger and data.ledger[k].amount < 0), Decimal(0)
    )
    adjustments = sum((Decimal(r["adjustment"]) for r in data.matched), Decimal(0))
    adj_bank = None if data.bank_balance is None else data.bank_balance + book_in - book_out
    adj_book = None if data.book_balance is None else data.book_balance + bank_in - bank_out - adjustments
    return {
        "bank_balance": data.bank_balance,
        "book_in": book_in,
        "book_out": book_out,
        "adjusted_bank": adj_bank,
        "book_balance": data.book_balance,
        "bank_in": bank_in,
        "bank_out": bank_out,
        "adjustments": adjustments,
        "adjusted_book": adj_book,
        "difference": None if adj_bank is None or adj_book is None else adj_bank - adj_book,
    }


def _dates(days: set[dt.date]) -> Any:
    """One day as a real date (sortable, formatted by Excel); several as text, in order."""
    if len(days) == 1:
        return next(iter(days))
    return ", ".join(d.isoformat() for d in sorted(days)) or None


def _bank_cells(data: ReportData, keys: Sequence[str]) -> list[Any]:
    lines = [data.bank[k] for k in keys if k in data.bank]
    return [
        _dates({ln.booking_date for ln in lines}),
        sum((ln.amount for ln in lines), Decimal(0)),
        " / ".join(dict.fromkeys(ln.counterparty_name for ln in lines)),
        " / ".join(ln.purpose for ln in lines),
    ]


def _ledger_cells(data: ReportData, ids: Sequence[str]) -> list[Any]:
    entries = [data.ledger[i] for i in ids if i in data.ledger]
    return [
        _dates({e.date for e in entries}),
        sum((e.amount for e in entries), Decimal(0)),
        " / ".join(dict.fromkeys(e.counterparty for e in entries)),
        " / ".join(filter(None, (e.reference or e.memo for e in entries))),
    ]


def business_period(data: ReportData) -> str:
    """The period the bank lines cover: ``2024-03`` for one calendar month, else ``2024-03-01至2024-04-15``."""
    days = sorted({ln.booking_date for ln in data.bank.values()})
    if not days:
        return f"{data.bank_balance_date}" if data.bank_balance_date else ""
    first, last = days[0], days[-1]
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%Y-%m}"
    return f"{first:%Y-%m-%d}至{last:%Y-%m-%d}"


def report_filename(data: ReportData) -> str:
    """``银行对账_<last 4 digits of the account>_<period>.xlsx`` (no account part for several accounts)."""
    from backroom.bots.reports import period_filename

    accounts = {ln.account for ln in data.bank.values() if ln.account}
    tail = next(iter(accounts))[-4:] if len(accounts) == 1 else ""
    return period_filename("银行对账", business_period(data) or "未定期间", tail)


def _status_line(rec: Mapping[str, Decimal | None], data: ReportData) -> str:
    """What the manager needs to know first, in words."""
    difference = rec["difference"]
    if difference is None:
        state = "账面余额未配置，只计算了银行一方"
    elif difference == 0:
        state = "已平衡：调节后差额为 0"
    else:
        state = f"未平衡：调节后差额 {difference:,.2f}，需查明"
    left = []
    if data.review:
        left.append(f"{len(data.review)} 笔待复核")
    if data.unmatched_bank or data.unmatched_ledger:
        left.append(f"银行未达 {len(data.unmatched_bank)} 笔、企业未达 {len(data.unmatched_ledger)} 笔")
    return state + ("；" + "，".join(left) if left else "")


def write_workbook(path: Path, data: ReportData) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from backroom.bots.reports import (
        RED_FILL,
        YELLOW_FILL,
        add_sign_off,
        fit_columns,
        highlight_rows,
        set_print,
        write_table,
    )

    book = Workbook()
    ws = book.active
    ws.title = "汇总"
    rec = reconciliation(data)
    n_bank, n_book = len(data.bank), len(data.ledger)
    matched_bank = sum(len(r["bank_keys"]) for r in data.matched)
    matched_book = sum(len(r["ledger_ids"]) for r in data.matched)
    bad_statements = sum(1 for s in data.statements if s.get("rejected"))
    balanced = sum(1 for s in data.statements if not s.get("rejected") and "[balance]" not in str(s.get("findings")))
    summary = [
        ("银行流水 bank lines", n_bank),
        ("已匹配 matched bank lines", matched_bank),
        ("银行未达 unmatched bank lines", len(data.unmatched_bank)),
        ("银行未达金额 unmatched bank total", sum((data.bank[k].amount for k in data.unmatched_bank), Decimal(0))),
        ("账簿分录 ledger entries", n_book),
        ("已匹配 matched ledger entries", matched_book),
        ("账面未达 unmatched ledger entries", len(data.unmatched_ledger)),
        (
            "账面未达金额 unmatched ledger total",
            sum((data.ledger[k].amount for k in data.unmatched_ledger), Decimal(0)),
        ),
        ("待复核 suggestions to review", len(data.review)),
        ("调整建议 proposed adjustments", sum(1 for r in data.matched if Decimal(r["adjustment"]) != 0)),
        (
            "可疑 suspicious: suggestions + statements with findings",
            len(data.review) + sum(1 for s in data.statements if s.get("findings")),
        ),
        (
            "余额校验 balance check (opening + lines = closing)",
            f"{balanced}/{len(data.statements)} statements ok",
        ),
        ("对账单 statements read", len(data.statements)),
        ("被拒对账单 statements rejected", bad_statements),
        ("银行余额 bank balance", rec["bank_balance"]),
        ("账面余额 book balance", rec["book_balance"]),
        ("调节后差额 difference after reconciliation", rec["difference"]),
    ]
    period = business_period(data)
    ws.cell(row=1, column=1, value=f"银行存款对账汇总（{period}）" if period else "银行存款对账汇总").font = Font(
        bold=True, size=14
    )
    ws.cell(row=2, column=1, value=_status_line(rec, data))
    last = write_table(ws, ["项目 item", "数值 value"], summary, start_row=3, freeze=True)
    ws.cell(row=last + 2, column=1, value="匹配规则 how lines were matched").font = Font(bold=True)
    stage_rows = [
        (rule, data.stage_counts.get(rule, 0), data.stage_counts.get(f"{rule}:review", 0), text)
        for rule, text in STAGE_EXPLANATIONS.items()
    ]
    write_table(
        ws,
        ["规则 rule", "自动匹配 auto", "待复核 review", "说明 explanation"],
        stage_rows,
        start_row=last + 3,
        freeze=False,
    )
    for note in data.notes:
        ws.append([note])
    add_sign_off(ws)

    ws = book.create_sheet("已匹配")
    rows = [
        [
            r["id"],
            r["rule"],
            r["score"],
            r["status"],
            ", ".join(r["bank_keys"]),
            *_bank_cells(data, r["bank_keys"]),
            ", ".join(r["ledger_ids"]),
            *_ledger_cells(data, r["ledger_ids"]),
            Decimal(r["adjustment"]),
            r["note"],
        ]
        for r in data.matched
    ]
    write_table(
        ws,
        [
            "匹配号 match id",
            "规则 rule",
            "得分 score",
            "状态 status",
            *PAIR_COLUMNS,
            "差额 adjustment",
            "说明 note",
        ],
        rows,
    )

    ws = book.create_sheet("银行未达")
    rows = [
        [
            k,
            ln.account,
            ln.booking_date,
            ln.amount,
            ln.counterparty_name,
            ln.counterparty_account,
            ln.reference,
            ln.purpose,
            _direction_bank(ln.amount),
        ]
        for k in data.unmatched_bank
        if (ln := data.bank.get(k))
    ]
    write_table(
        ws,
        ["银行行键 bank key", "账号", "交易日期", "金额", "对方户名", "对方账号", "参考号", "摘要", "未达类型"],
        rows,
    )

    ws = book.create_sheet("账面未达")
    rows = [
        [e.entry_id, e.date, e.amount, e.currency, e.counterparty, e.reference, e.memo, _direction_book(e.amount)]
        for k in data.unmatched_ledger
        if (e := data.ledger.get(k))
    ]
    write_table(ws, ["分录号 entry id", "日期", "金额", "币种", "往来单位", "发票/参考号", "摘要", "未达类型"], rows)

    ws = book.create_sheet(REVIEW_SHEET)
    rows = [
        [
            "",
            r["id"],
            r["rule"],
            r["score"],
            r["note"],
            ", ".join(r["bank_keys"]),
            *_bank_cells(data, r["bank_keys"]),
            ", ".join(r["ledger_ids"]),
            *_ledger_cells(data, r["ledger_ids"]),
            ", ".join(r.get("alternatives", ())),
        ]
        for r in data.review
    ]
    last = write_table(
        ws,
        [
            DECISION_HEADER,
            "匹配号 match id",
            "规则 rule",
            "得分 score",
            "原因 why",
            *PAIR_COLUMNS,
            "其他候选 alternatives",
        ],
        rows,
    )
    if rows:
        dv = DataValidation(type="list", formula1='"确认,拒绝"', allow_blank=True)
        ws.add_data_validation(dv)
        dv.add(f"A2:A{last}")
        highlight_rows(ws, "A", 2, last, "", YELLOW_FILL)

    ws = book.create_sheet("调整建议")
    rows = []
    for r in data.matched:
        adj = Decimal(r["adjustment"])
        if adj:
            what = "银行手续费 bank charges" if r["rule"] == "fee" else "汇兑损益 FX gain/loss"
            rows.append(
                [
                    r["id"],
                    r["rule"],
                    ", ".join(r["bank_keys"]),
                    ", ".join(r["ledger_ids"]),
                    _bank_cells(data, r["bank_keys"])[1],
                    _ledger_cells(data, r["ledger_ids"])[1],
                    adj,
                    f"借: {what} {abs(adj)} / 贷: 银行存款",
                ]
            )
    write_table(
        ws, ["匹配号", "规则", "银行行键", "账簿分录", "银行金额", "账簿金额", "差额", "建议分录 proposed entry"], rows
    )

    ws = book.create_sheet("余额调节表")
    for group in data.groups or [None]:
        _reconciliation_block(ws, data, group)
    ws.freeze_panes = None  # several tables on one sheet: nothing to freeze
    ws.print_title_rows = None
    fit_columns(ws, first_row=2)  # by display width: "加：企业已收、银行未收" is not cut off
    add_sign_off(ws)

    ws = book.create_sheet("对账单检查")
    rows = [
        [
            s["file"],
            s.get("account", ""),
            s.get("format", ""),
            s.get("period", ""),
            s.get("opening"),
            s.get("closing"),
            s.get("lines", 0),
            "拒绝 rejected" if s.get("rejected") else "导入 imported",
            s.get("findings", ""),
        ]
        for s in data.statements
    ]
    last = write_table(
        ws, ["文件 file", "账号", "格式", "期间", "期初余额", "期末余额", "笔数", "结果", "发现 findings"], rows
    )
    highlight_rows(ws, "H", 2, last, "拒绝 rejected", RED_FILL)
    for sheet in book.worksheets:
        set_print(sheet, company="银行存款对账", period=period)
    book.active = 0
    book.save(path)
    return path


def _reconciliation_block(ws: Any, data: ReportData, group: AccountGroup | None) -> None:
    """One 银行存款余额调节表 with its outstanding items listed under it."""
    from openpyxl.styles import Font

    from backroom.bots.reports import RED_FILL, write_table

    part = data.in_group(group)
    rec = reconciliation(part)
    start = ws.max_row + 2 if ws.max_row > 1 else 1
    who = f"账号 {group.account} 币种 {group.currency}  " if group else ""
    ws.cell(row=start, column=1, value="银行存款余额调节表").font = Font(bold=True, size=14)
    ws.cell(row=start, column=4, value=f"{who}截至 {part.bank_balance_date or ''}")
    table = [
        ("银行对账单余额", rec["bank_balance"], "企业银行存款日记账余额", rec["book_balance"]),
        ("加：企业已收、银行未收", rec["book_in"], "加：银行已收、企业未收", rec["bank_in"]),
        ("减：企业已付、银行未付", rec["book_out"], "减：银行已付、企业未付", rec["bank_out"]),
        ("", None, "减：待入账手续费/汇兑差额", rec["adjustments"]),
        ("调节后的存款余额", rec["adjusted_bank"], "调节后的存款余额", rec["adjusted_book"]),
        ("差额 difference", rec["difference"], "", None),
    ]
    last = write_table(ws, ["项目", "金额", "项目", "金额"], table, start_row=start + 2, freeze=False)
    if rec["difference"] not in (None, Decimal(0)):
        ws.cell(row=last, column=2).fill = RED_FILL
    if rec["book_balance"] is None:
        ws.cell(
            row=last + 1, column=1, value="账面余额未配置 (config book_opening_balance): only the bank side is computed"
        )
    items = [
        ["银行未达", ln.booking_date, ln.amount, ln.counterparty_name, ln.purpose, _direction_bank(ln.amount), k]
        for k in part.unmatched_bank
        if (ln := part.bank.get(k))
    ] + [
        ["账面未达", e.date, e.amount, e.counterparty, e.reference or e.memo, _direction_book(e.amount), k]
        for k in part.unmatched_ledger
        if (e := part.ledger.get(k))
    ]
    items += [["待复核", None, None, "", r["note"], "suggestion not yet decided", r["id"]] for r in part.review]
    ws.cell(row=last + 2, column=1, value="未达账项 outstanding items").font = Font(bold=True)
    write_table(
        ws,
        ["类别", "日期", "金额", "对方", "摘要/参考号", "未达类型", "行键/分录号"],
        items,
        start_row=last + 3,
        freeze=False,
    )


def read_decisions(path: Path) -> list[Decision]:
    """Confirm/reject decisions a reviewer wrote into the 待复核 sheet (blank rows are undecided)."""
    from openpyxl import load_workbook

    from backroom.bots.sdk.errors import BusinessError

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise BusinessError(f"{path}: cannot open the reviewed workbook ({exc})") from exc
    try:
        if REVIEW_SHEET not in book.sheetnames:
            raise BusinessError(f"{path}: no sheet {REVIEW_SHEET!r}; is this a reconcile report?")
        rows = list(book[REVIEW_SHEET].iter_rows(values_only=True))
    finally:
        book.close()
    if not rows:
        return []
    header = [str(h or "") for h in rows[0]]
    col = {name: header.index(name) for name in header}
    try:
        i_dec, i_id = col[DECISION_HEADER], col["匹配号 match id"]
        i_bank, i_book, i_rule = col["银行行键 bank keys"], col["账簿分录 ledger ids"], col["规则 rule"]
    except KeyError as exc:
        raise BusinessError(f"{path}: the {REVIEW_SHEET} sheet lacks column {exc}; saw {header}") from None
    out = []
    for number, row in enumerate(rows[1:], start=2):
        word = str(row[i_dec] or "").strip().lower()
        if not word:
            continue
        if word in CONFIRM_WORDS:
            decision = "confirm"
        elif word in REJECT_WORDS:
            decision = "reject"
        else:
            raise BusinessError(f"{path}, {REVIEW_SHEET} row {number}: expected 确认 or 拒绝, found {row[i_dec]!r}")
        split = lambda v: [p.strip() for p in str(v or "").split(",") if p.strip()]  # noqa: E731
        out.append(Decision(str(row[i_id]), split(row[i_bank]), split(row[i_book]), decision, str(row[i_rule] or "")))
    return out

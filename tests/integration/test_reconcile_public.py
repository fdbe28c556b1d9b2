"""The reconcile bot on a real bank's file: Rabobank's published MT940 sample, two statements in one file.

Both statements carry the same :20: and :28C: (Rabobank numbers its downloads, not its statements):
they must both be imported and continue each other's balances. The ledger booked the four payments;
John Doe's two 10.00 carry the same reference (a recurring payment), so those two are not matched
automatically but suggested for review, each with the nearer-dated entry and the other as alternative.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from backroom.bots.reconcile import Reconcile, ReconcileConfig, ReconcileParams
from backroom.bots.sdk.testing import make_context, make_params

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "statements" / "public"
ACCOUNT = "NL71RABO0123456789"

# entry, date, amount, counterparty, invoice: what the bookkeeper wrote (L4 booked two days late)
BOOKED = [
    ("L1", dt.date(2013, 1, 1), "-25.00", "Contra Account Holder", ""),
    ("L2", dt.date(2013, 1, 2), "-10.00", "John Doe", "201301234"),
    ("L3", dt.date(2013, 1, 8), "-25.00", "Contra Account Holder", ""),
    ("L4", dt.date(2013, 1, 11), "-10.00", "John Doe", "201301234"),
    ("L5", dt.date(2013, 1, 12), "-99.00", "Not Yet At The Bank", ""),
]


def _ledger(path: Path) -> Path:
    book = Workbook()
    ws = book.active
    ws.append(["凭证号", "日期", "金额", "币种", "往来单位", "发票号", "摘要", "银行账号"])
    for entry, day, amount, name, ref in BOOKED:
        ws.append([entry, day, float(Decimal(amount)), "EUR", name, ref, "", ACCOUNT])
    book.save(path)
    return path


def test_rabobank_file_two_statements_same_number_reconcile(tmp_path: Path) -> None:
    (tmp_path / "var" / "inbox" / "reconcile").mkdir(parents=True, exist_ok=True)
    config = ReconcileConfig(
        accounts=[ACCOUNT],
        ledger={"kind": "excel", "path": str(_ledger(tmp_path / "ledger.xlsx"))},
        book_opening_balance=Decimal("1000.00"),
    )
    ctx = make_context(tmp_path, "reconcile", config=config)
    try:
        statement = tmp_path / "rabobank.sta"
        statement.write_bytes((PUBLIC / "mt940" / "jejik_rabobank-iban.sta").read_bytes())
        result = Reconcile().run(ctx, make_params(ReconcileParams, ctx, statement=statement))
    finally:
        ctx.close()
    assert result.status == "succeeded", result.summary
    assert result.counts["statements_imported"] == 2 and result.counts["statements_rejected"] == 0
    assert result.counts["bank_lines"] == 4 and result.counts["matched"] == 2, (result.summary, result.counts)
    assert result.counts["review"] == 2
    assert result.counts["unmatched_bank"] == 0 and result.counts["unmatched_ledger"] == 1
    # bank 930.00; book 1000 - 169 = 831.00; the ledger's -99.00 not yet at the bank explains it all
    assert result.outputs["difference"] == "0.00", result.outputs
    book = load_workbook(result.outputs["workbook"], read_only=True)
    try:
        review = [r for r in book["待复核"].iter_rows(min_row=2, values_only=True) if any(r)]
        matched = [r for r in book["已匹配"].iter_rows(min_row=2, values_only=True) if any(r)]
    finally:
        book.close()
    # bank date, suggested entry, alternative: each payment with its own booking
    # dates are real dates in the sheet (a manager sorts and filters them)
    assert sorted((r[6], r[10], r[15]) for r in review) == [
        (dt.datetime(2013, 1, 2), "L2", "L4"),
        (dt.datetime(2013, 1, 9), "L4", "L2"),
    ]
    assert len(matched) == 2 and all("CONTRA ACCOUNT HOLDER" in " ".join(map(str, r)) for r in matched)

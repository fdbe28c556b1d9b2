"""The reconcile bot end to end on Chinese bank exports: every layout, several accounts.

The ledger is what an accountant books for the transactions in :mod:`tests.fixtures.bank_exports`:
dates a day or two off, abbreviated names, one salary payment booked as two entries, the bank's
fees not yet booked, a cheque the bank has not seen. The truth of which bank line pays which entry
is known, so the run's auto-matches are scored (precision and recall), and the 余额调节表 of each
account must close to zero.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from backroom.bots.formats.statements import parse_statement
from backroom.bots.reconcile import Reconcile, ReconcileConfig, ReconcileParams
from backroom.bots.sdk.testing import make_context, make_params
from tests.fixtures.bank_exports import LAYOUTS, OPENING, TXS, write_sample

# ledger entry -> the bank transaction (serial) it books; None: only in the books
BOOKED = [
    ("L1", "A0001", 1, "15800.00", "某某贸易", "INV20240301"),
    ("L4", "A0004", 2, "-3250.50", "北京某某物业管理", ""),
    ("L5", "A0005", -1, "1234567.89", "深圳某某科技", "HT-2024-017"),
    ("L6a", "A0006", 0, "-50000.00", "某某人力资源服务有限公司", ""),
    ("L6b", "A0006", 0, "-38000.00", "某某人力资源服务有限公司", ""),
    ("L9", None, 0, "-5000.00", "某某供应商", "支票 1234"),
]
TRUTH = {(serial, entry) for entry, serial, *_ in BOOKED if serial}


def _ledger(path: Path, accounts: list[str], currency: str = "人民币", *, account_column: bool = True) -> Path:
    book = Workbook()
    ws = book.active
    ws.append(["银行存款日记账"])
    ws.append(
        ["凭证号", "日期", "金额", "币种", "往来单位", "发票号", "摘要", "银行账号" if account_column else "备注"]
    )
    when = {tx.serial: tx.when.date() for tx in TXS}
    for account in accounts:
        for entry, serial, shift, amount, name, ref in BOOKED:
            day = when[serial] + dt.timedelta(days=shift) if serial else dt.date(2024, 3, 20)
            ws.append([f"{account[-4:]}-{entry}", day, float(Decimal(amount)), currency, name, ref, "", account])
    book.save(path)
    return path


def _run(tmp_path: Path, config: ReconcileConfig, **params):
    ctx = make_context(tmp_path, "reconcile", config=config)
    try:
        return Reconcile().run(ctx, make_params(ReconcileParams, ctx, **params))
    finally:
        ctx.close()


def _matched(workbook: str) -> list[tuple[list[str], list[str]]]:
    book = load_workbook(workbook, read_only=True)
    try:
        rows = list(book["已匹配"].iter_rows(values_only=True))[1:]
    finally:
        book.close()
    return [(r[4].split(", "), r[9].split(", ")) for r in rows if r and r[0]]


def _score(statement_path: Path, matched: list[tuple[list[str], list[str]]]) -> tuple[int, int]:
    """(correct pairs, pairs found) of bank transaction serial ↔ ledger entry."""
    (st,) = parse_statement(statement_path)
    serial = {ln.key: next(tx.serial for tx in TXS if tx.amount == ln.amount) for ln in st.lines}
    found = {(serial[b], e.split("-", 1)[1]) for bank_keys, entries in matched for b in bank_keys for e in entries}
    return len(found & TRUTH), len(found)


@pytest.mark.slow  # 22 runs of the bot, about 8 s
def test_every_bank_layout_reconciles_with_full_precision(tmp_path: Path) -> None:
    correct = found = 0
    for layout in LAYOUTS:
        room = tmp_path / layout.name
        room.mkdir()
        sample = write_sample(layout, room)
        ledger = _ledger(room / "ledger.xlsx", [sample_account := "6222020200112233445"], sample.currency)
        config = ReconcileConfig(
            accounts=[sample_account], ledger={"kind": "excel", "path": str(ledger)}, book_opening_balance=OPENING
        )
        result = _run(room, config, statement=sample.path)
        assert result.status == "succeeded", (layout.name, result.summary)
        assert result.outputs["difference"] == "0.00", (layout.name, result.outputs)
        ok, n = _score(sample.path, _matched(result.outputs["workbook"]))
        assert ok == n, f"{layout.name}: a wrong auto-match"
        correct, found = correct + ok, found + n
    recall = correct / (len(TRUTH) * len(LAYOUTS))
    print(json.dumps({"layouts": len(LAYOUTS), "precision": correct / found, "recall": round(recall, 3)}))
    assert found and correct == found  # precision 1.0: nothing matched wrongly
    assert recall >= 0.8


def test_two_accounts_two_reconciliations(tmp_path: Path) -> None:
    """Two bank accounts in two banks, one ledger with a 银行账号 column: one 余额调节表 each."""
    icbc = next(lay for lay in LAYOUTS if lay.name == "icbc-corporate")
    cmb = next(lay for lay in LAYOUTS if lay.name == "cmb-personal")
    a, b = "11112222333344445555", "755900001111"
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    write_sample(icbc, inbox, account=a)
    write_sample(cmb, inbox, account=b)
    ledger = _ledger(tmp_path / "ledger.xlsx", [a, b])
    config = ReconcileConfig(
        accounts=[a, b],
        ledger={"kind": "excel", "path": str(ledger)},
        book_opening_balances={a: OPENING, f"{b}/CNY": OPENING},
    )
    result = _run(tmp_path, config)
    assert result.status == "succeeded" and result.counts["statements_imported"] == 2
    assert result.outputs["differences"] == {f"{a} CNY": "0.00", f"{b} CNY": "0.00"}
    book = load_workbook(result.outputs["workbook"], read_only=True)
    try:
        rows = [r for r in book["余额调节表"].iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        book.close()
    titles = [r[3] for r in rows if r[0] == "银行存款余额调节表"]
    assert [t.split("截至")[0].strip() for t in titles] == [f"账号 {a} 币种 CNY", f"账号 {b} 币种 CNY"]
    closing = OPENING + sum((tx.amount for tx in TXS), Decimal(0))
    assert [Decimal(str(r[1])) for r in rows if r[0] == "银行对账单余额"] == [closing, closing]
    outstanding = [r for r in rows if r[0] in ("银行未达", "账面未达")]
    # per account: the two unbooked fees on the bank side, the cheque on the book side
    assert sorted((r[0], Decimal(str(r[2]))) for r in outstanding) == sorted(
        [("银行未达", Decimal("-10.00"))] * 4 + [("账面未达", Decimal("-5000.00"))] * 2
    )
    matched = _matched(result.outputs["workbook"])
    assert all({e.split("-")[0] for e in entries} == {bk.split("|")[0][-4:]} for bks, entries in matched for bk in bks)


def test_partly_broken_mt940_imports_the_good_statements(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "statements" / "abnamro_broken.sta"
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    (inbox / "abn.sta").write_bytes(data.read_bytes())
    ledger = _ledger(tmp_path / "ledger.xlsx", [])
    result = _run(tmp_path, ReconcileConfig(accounts=["517852257"], ledger={"kind": "excel", "path": str(ledger)}))
    # statement 1 (two pages) goes in; statement 3 cannot be read; statement 4 is readable but its
    # opening balance does not continue statement 1's closing (statement 3 is missing in between)
    assert result.status == "succeeded"
    assert result.counts["statements_imported"] == 1 and result.counts["statements_rejected"] == 2
    assert "2 statement(s) rejected (abn.sta statement 3, abn.sta 2011-05-24 ~ 2011-05-25)" in result.summary, (
        result.summary
    )
    why = next((tmp_path / "runs").rglob("abn.sta.why.txt")).read_text("utf-8")
    assert "line 37" in why and "statement 3" in why
    book = load_workbook(result.outputs["workbook"], read_only=True)
    try:
        checks = list(book["对账单检查"].iter_rows(values_only=True))[1:]
    finally:
        book.close()
    assert sorted(r[7] for r in checks) == ["导入 imported", "拒绝 rejected", "拒绝 rejected"]
    assert any("[continuity]" in str(r[8]) for r in checks) and any("line 37" in str(r[8]) for r in checks)
    assert (inbox / "abn.sta").read_bytes() == data.read_bytes()  # the input stays as it was


def test_one_ledger_per_account_by_config(tmp_path: Path) -> None:
    """No 账号 column: each ledger says in config which account it books."""
    a, b = "11112222333344445555", "755900001111"
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    write_sample(next(lay for lay in LAYOUTS if lay.name == "spdb-corporate"), inbox, account=a)
    write_sample(next(lay for lay in LAYOUTS if lay.name == "psbc-personal"), inbox, account=b)
    la = _ledger(tmp_path / "a.xlsx", [a], account_column=False)
    lb = _ledger(tmp_path / "b.xlsx", [b], account_column=False)
    config = ReconcileConfig(
        accounts=[a, b],
        ledger={"kind": "excel", "path": str(la), "account": a},
        ledgers=[{"kind": "excel", "path": str(lb), "account": b}],
        book_opening_balances={a: OPENING, b: OPENING},
    )
    result = _run(tmp_path, config)
    assert result.outputs["differences"] == {f"{a} CNY": "0.00", f"{b} CNY": "0.00"}
    assert result.counts["ledger_entries"] == 2 * len(BOOKED)


def test_ledger_without_accounts_shares_one_pool_and_says_so(tmp_path: Path) -> None:
    a, b = "11112222333344445555", "755900001111"
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    write_sample(next(lay for lay in LAYOUTS if lay.name == "cib-corporate"), inbox, account=a)
    write_sample(next(lay for lay in LAYOUTS if lay.name == "cib-personal"), inbox, account=b)
    ledger = _ledger(tmp_path / "l.xlsx", [a, b], account_column=False)
    result = _run(tmp_path, ReconcileConfig(accounts=[a, b], ledger={"kind": "excel", "path": str(ledger)}))
    assert list(result.outputs["differences"]) == [""]  # one 余额调节表 for both accounts, as before
    book = load_workbook(result.outputs["workbook"], read_only=True)
    try:
        notes = [r[0] for r in book["汇总"].iter_rows(values_only=True) if r and r[0]]
    finally:
        book.close()
    assert any("carry no bank account" in str(n) for n in notes)


def test_identical_fees_without_id_or_balance_do_not_collapse(tmp_path: Path) -> None:
    """Two identical 10.00 fees, no 流水号, no 余额: both reach the 余额调节表 (no false −10.00)."""
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    (inbox / "fees.csv").write_bytes(
        (
            "账号：6222020200112233445\n期初余额：100.00 期末余额：580.00\n交易日期,交易金额,对方户名,摘要\n"
            "2024-03-01,-10.00,,手续费\n2024-03-01,-10.00,,手续费\n2024-03-02,500.00,某某贸易有限公司,INV20240302\n"
        ).encode("gbk")
    )
    book = Workbook()
    ws = book.active
    ws.append(["凭证号", "日期", "金额", "往来单位", "发票号"])
    ws.append(["V1", dt.date(2024, 3, 2), 500.0, "某某贸易", "INV20240302"])
    book.save(tmp_path / "l.xlsx")
    config = ReconcileConfig(
        accounts=["6222020200112233445"],
        ledger={"kind": "excel", "path": str(tmp_path / "l.xlsx")},
        book_opening_balance=Decimal("100.00"),
    )
    result = _run(tmp_path, config)
    assert result.counts["bank_lines"] == 3 and result.counts["unmatched_bank"] == 2
    assert result.outputs["difference"] == "0.00"
    again = _run(tmp_path, config)  # a later day: everything read back from the state
    assert again.counts["bank_lines"] == 3 and again.outputs["difference"] == "0.00"

"""The reconcile bot end to end on sandbox statements and ledgers, through a real Context."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from backroom.bots.reconcile import Reconcile, ReconcileConfig, ReconcileParams
from backroom.bots.sdk.testing import make_context, make_params
from tests.fixtures.reconcile import ACCOUNT, MARCH, write_ledger_xlsx


def _config(ledger: Path, opening: Decimal | None = None, **kw) -> ReconcileConfig:
    return ReconcileConfig(
        accounts=[ACCOUNT], ledger={"kind": "excel", "path": str(ledger)}, book_opening_balance=opening, **kw
    )


def _run(tmp_path: Path, config: ReconcileConfig, **params):
    (tmp_path / "var" / "inbox" / "reconcile").mkdir(parents=True, exist_ok=True)  # a missing inbox fails the run
    ctx = make_context(tmp_path, "reconcile", config=config)
    try:
        return Reconcile().run(ctx, make_params(ReconcileParams, ctx, **params)), ctx
    finally:
        ctx.close()


def _sheet(path: str, name: str) -> list[tuple]:
    book = load_workbook(path, read_only=True)
    try:
        return [r for r in book[name].iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        book.close()


def test_month_reconciles_to_zero_difference(tmp_path, write_bank_statement, march_ledger, bank_data) -> None:
    st = bank_data.statement(ACCOUNT, *MARCH)
    result, _ = _run(tmp_path, _config(march_ledger, st.opening), statement=write_bank_statement("xlsx"))
    assert result.status == "succeeded"
    c = result.counts
    assert c["bank_lines"] == len(st.lines)
    assert c["matched"] >= 0.9 * len(st.lines)
    assert c["unmatched_ledger"] >= 3  # the outstanding cheques ledger_for adds
    assert result.outputs["difference"] == "0.00"
    book = result.outputs["workbook"]
    rec = _sheet(book, "余额调节表")
    assert rec[2][0] == "银行对账单余额" and Decimal(str(rec[2][1])) == st.closing
    matched = _sheet(book, "已匹配")[1:]
    rules = {row[1] for row in matched}
    assert {"reference", "fee"} <= rules
    assert all(row[2] is not None for row in matched)  # every match records its score
    adjustments = _sheet(book, "调整建议")[1:]
    assert adjustments and all(row[1] == "fee" for row in adjustments)


def test_incremental_days_keep_matches(tmp_path, write_bank_statement, bank_data) -> None:
    from backroom.sandbox.bank import ledger_for

    st = bank_data.statement(ACCOUNT, *MARCH)
    ledger = write_ledger_xlsx(tmp_path / "ledger.xlsx", ledger_for(st, extra=0))
    config = _config(ledger, st.opening)
    first, _ = _run(tmp_path, config, statement=write_bank_statement("xlsx", MARCH[0], dt.date(2024, 3, 15)))
    second, _ = _run(tmp_path, config, statement=write_bank_statement("csv", dt.date(2024, 3, 16), MARCH[1]))
    assert first.counts["statements_imported"] == second.counts["statements_imported"] == 1
    assert second.counts["bank_lines"] == len(st.lines)
    assert second.counts["matched"] > first.counts["matched"]
    assert second.counts["auto_matched_now"] < second.counts["matched"]  # earlier matches were kept, not redone
    kept = [
        r for r in _sheet(second.outputs["workbook"], "已匹配")[1:] if r[3] == "auto" and "earlier" in (r[15] or "")
    ]
    assert len(kept) == first.counts["auto_matched_now"]


def test_same_statement_twice_and_broken_continuity(tmp_path, write_bank_statement, march_ledger, bank_data) -> None:
    config = _config(march_ledger)
    path = write_bank_statement("xlsx", MARCH[0], dt.date(2024, 3, 10))
    first, _ = _run(tmp_path, config, statement=path)
    again, _ = _run(tmp_path, config, statement=path)
    assert first.counts["statements_imported"] == 1
    assert again.counts["statements_imported"] == 0 and again.counts["statements_already_imported"] == 1
    assert again.counts["statements_rejected"] == 0 and again.status == "succeeded"  # nothing was lost
    assert "1 already imported before" in again.summary
    checks = _sheet(again.outputs["workbook"], "对账单检查")
    assert "duplicate-file" in checks[1][8]
    same_as_mt940 = write_bank_statement("mt940", MARCH[0], dt.date(2024, 3, 10))
    third, _ = _run(tmp_path, config, statement=same_as_mt940)
    assert "duplicate-statement" in _sheet(third.outputs["workbook"], "对账单检查")[1][8]
    # a statement that skips a day AND starts from another balance: rejected with a copy and a reason
    gap = write_bank_statement("camt053", dt.date(2024, 3, 12), dt.date(2024, 3, 20))
    fourth, _ = _run(tmp_path, config, statement=gap)
    assert fourth.counts["statements_rejected"] == 1
    findings = _sheet(fourth.outputs["workbook"], "对账单检查")[1][8]
    assert "[continuity]" in findings and "[gap]" in findings
    why = next(Path(fourth.outputs["workbook"]).parent.glob("rejected/*.why.txt"))
    assert "does not continue the previous closing balance" in why.read_text(encoding="utf-8")
    assert gap.exists()  # the input is never moved or deleted


def test_bad_file_is_rejected_and_the_run_goes_on(tmp_path, march_ledger) -> None:
    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    (inbox / "broken.csv").write_bytes(b"Buchungstag,Umsatz\n1,2\n")
    result, _ = _run(tmp_path, _config(march_ledger))
    # its only statement was rejected: the run goes on to its report, then says it failed
    assert result.status == "failed" and result.counts["statements_rejected"] == 1
    assert "every statement was rejected" in result.summary and result.outputs["workbook"]
    assert (inbox / "broken.csv").exists()
    again, _ = _run(tmp_path, _config(march_ledger))
    assert again.counts["statements_rejected"] == 0  # an inbox file is looked at once
    assert again.status == "succeeded"


def test_inbox_file_with_two_statements(tmp_path, bank_data, march_ledger) -> None:
    from backroom.sandbox.bank import write_statement

    inbox = tmp_path / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    first = bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 15))
    second = bank_data.statement(ACCOUNT, dt.date(2024, 3, 16), dt.date(2024, 3, 31))
    (inbox / "march.sta").write_bytes(write_statement(first, "mt940") + b"\r\n" + write_statement(second, "mt940"))
    result, _ = _run(tmp_path, _config(march_ledger, first.opening))
    assert result.counts["statements_imported"] == 2 and result.outputs["difference"] == "0.00"
    copy = tmp_path / "copy.sta"
    copy.write_bytes((inbox / "march.sta").read_bytes())
    again, _ = _run(tmp_path, _config(march_ledger, first.opening), statement=copy)
    assert again.counts["statements_already_imported"] == 2 and again.counts["statements_imported"] == 0
    assert again.counts["statements_rejected"] == 0


def test_camt_file_with_one_bad_statement_imports_the_other_and_says_so(tmp_path, bank_data, march_ledger) -> None:
    """Some rejected: the run succeeds (the runner records it with_warnings) and its summary names which."""
    import re

    from backroom.sandbox.bank import write_statement

    first = bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 15))
    second = bank_data.statement(ACCOUNT, dt.date(2024, 3, 16), dt.date(2024, 3, 31))
    one = write_statement(first, "camt053").decode("utf-8")
    two = write_statement(second, "camt053").decode("utf-8")
    stmt = re.search(r"<Stmt>.*</Stmt>", two, re.S).group(0)
    broken = re.sub(r"(<Ntry>\s*<Amt[^>]*>)[^<]+", r"\g<1>12,3O", stmt, count=1)
    assert broken != stmt
    path = tmp_path / "march.xml"
    path.write_text(one.replace("</Stmt>", "</Stmt>" + broken, 1), "utf-8")
    result, _ = _run(tmp_path, _config(march_ledger, first.opening), statement=path)
    assert result.status == "succeeded"
    assert result.counts["statements_imported"] == 1 and result.counts["statements_rejected"] == 1
    assert "1 statement(s) rejected (march.xml statement 2)" in result.summary
    assert "the others were imported" in result.summary
    why = next(Path(result.outputs["workbook"]).parent.glob("rejected/march.xml.why.txt")).read_text("utf-8")
    assert "statement 2" in why and "line" in why


def test_review_decisions_are_read_back(tmp_path, write_bank_statement) -> None:
    stmt = write_bank_statement("xlsx", MARCH[0], dt.date(2024, 3, 5))
    from backroom.bots.formats.statements import parse_statement

    (st,) = parse_statement(stmt)
    a, b = st.lines[0], st.lines[1]
    rows = [  # a's amount with a different company (suggestion), b's amount twice (ambiguous)
        {"entry_id": "G-1", "date": a.booking_date, "amount": a.amount, "counterparty": "完全不同的单位"},
        {"entry_id": "G-2", "date": b.booking_date, "amount": b.amount, "counterparty": b.counterparty_name},
        {"entry_id": "G-3", "date": b.booking_date, "amount": b.amount, "counterparty": b.counterparty_name},
    ]
    ledger = write_ledger_xlsx(tmp_path / "ledger.xlsx", rows)
    config = _config(ledger)
    first, _ = _run(tmp_path, config, statement=stmt)
    review = _sheet(first.outputs["workbook"], "待复核")
    assert first.counts["review"] == 2 and first.counts["auto_matched_now"] == 0
    book = load_workbook(first.outputs["workbook"])
    ws = book["待复核"]
    for row in range(2, ws.max_row + 1):
        bank_key = ws.cell(row=row, column=6).value
        ws.cell(row=row, column=1, value="确认" if bank_key == a.key else "拒绝")
    reviewed = tmp_path / "var/inbox/reconcile/review/reviewed.xlsx"
    reviewed.parent.mkdir(parents=True)
    book.save(reviewed)
    second, _ = _run(tmp_path, config)
    assert second.counts["decisions_applied"] == 2
    matched = _sheet(second.outputs["workbook"], "已匹配")[1:]
    rejected_ledger = next(r[10] for r in review[1:] if r[5] == b.key)
    other = ({"G-2", "G-3"} - {rejected_ledger}).pop()
    # a was confirmed; b's rejected candidate is out, so its one remaining candidate is now unique
    assert sorted((r[3], r[4], r[9]) for r in matched) == [("auto", b.key, other), ("confirmed", a.key, "G-1")]
    assert _sheet(second.outputs["workbook"], "待复核")[1:] == []
    third, _ = _run(tmp_path, config)
    assert third.counts["decisions_applied"] == 0  # a reviewed workbook is applied once


def test_bad_decision_word_names_the_row(tmp_path, write_bank_statement) -> None:
    from backroom.bots.reconcile.report import read_decisions
    from backroom.bots.sdk.errors import BusinessError

    stmt = write_bank_statement("xlsx", MARCH[0], dt.date(2024, 3, 5))
    from backroom.bots.formats.statements import parse_statement

    (st,) = parse_statement(stmt)
    a = st.lines[0]
    ledger = write_ledger_xlsx(
        tmp_path / "ledger.xlsx",
        [{"entry_id": "G-1", "date": a.booking_date, "amount": a.amount, "counterparty": "另一家单位"}],
    )
    first, _ = _run(tmp_path, _config(ledger), statement=stmt)
    book = load_workbook(first.outputs["workbook"])
    book["待复核"].cell(row=2, column=1, value="maybe")
    book.save(tmp_path / "r.xlsx")
    with pytest.raises(BusinessError, match="row 2: expected 确认 or 拒绝"):
        read_decisions(tmp_path / "r.xlsx")
    # through the bot: the workbook is set aside with its reason, the run goes on and says so
    second, _ = _run(tmp_path, _config(ledger), review=tmp_path / "r.xlsx")
    assert second.status == "succeeded" and second.counts["decisions_applied"] == 0
    why = next(Path(second.outputs["workbook"]).parent.glob("rejected/r.xlsx.why.txt")).read_text(encoding="utf-8")
    assert "expected 确认 or 拒绝, found 'maybe'" in why
    summary = [r[0] for r in _sheet(second.outputs["workbook"], "汇总")]
    assert any("reviewed workbook not applied" in str(v) for v in summary)


def test_sql_ledger_and_notification(tmp_path, write_bank_statement, bank_data, webhook_receiver) -> None:
    from backroom.sandbox.bank import ledger_for

    st = bank_data.statement(ACCOUNT, *MARCH)
    db = tmp_path / "accounting.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table gl (voucher text, d text, amt text, cp text, inv text, memo text)")
        conn.executemany(
            "insert into gl values (?,?,?,?,?,?)",
            [
                (r["entry_id"], r["date"].isoformat(), str(r["amount"]), r["counterparty"], r["reference"], r["memo"])
                for r in ledger_for(st)
            ],
        )
    config = ReconcileConfig(
        accounts=[ACCOUNT],
        book_opening_balance=st.opening,
        ledger={
            "kind": "sql",
            "system": "ledger",
            "query": "select voucher as entry_id, d as date, amt as amount, cp as counterparty, "
            "inv as reference, memo from gl",
        },
    )
    ctx = make_context(
        tmp_path,
        "reconcile",
        config=config,
        systems={"ledger": {"kind": "sql", "url": f"sqlite:///{db}"}},
        notify_targets=[webhook_receiver.url.replace("http://", "json://") + "/hook"],
    )
    result = Reconcile().run(ctx, make_params(ReconcileParams, ctx, statement=write_bank_statement("csv")))
    assert result.outputs["difference"] == "0.00"
    (message,) = webhook_receiver.wait_for(1)
    assert "matched" in message["body"]["message"] and "difference: 0.00" in message["body"]["message"]


def test_ledger_missing_columns_are_named(tmp_path, write_bank_statement) -> None:
    from openpyxl import Workbook

    from backroom.bots.reconcile.ledger import LedgerError

    wb = Workbook()
    wb.active.append(["日期", "金额", "备注"])
    wb.active.append(["2024-03-01", 1, "x"])
    wb.save(tmp_path / "bad-ledger.xlsx")
    with pytest.raises(LedgerError, match=r"columns entry_id not found; saw '日期', '金额', '备注'"):
        _run(tmp_path, _config(tmp_path / "bad-ledger.xlsx"), statement=write_bank_statement("xlsx"))


def test_dry_run_stores_nothing(tmp_path, write_bank_statement, march_ledger) -> None:
    ctx = make_context(tmp_path, "reconcile", config=_config(march_ledger), dry_run=True)
    result = Reconcile().run(ctx, make_params(ReconcileParams, ctx, statement=write_bank_statement("mt940")))
    assert result.counts["matched"] > 0
    real, _ = _run(tmp_path, _config(march_ledger), statement=write_bank_statement("mt940"))
    assert real.counts["statements_imported"] == 1  # the dry run did not record the statement


@pytest.mark.postgres
def test_on_postgresql_state_and_sql_ledger(postgres_url, tmp_path, write_bank_statement, bank_data) -> None:
    """Backroom's state and the accounting database both on a real PostgreSQL (own schema, dropped after)."""
    import uuid

    import sqlalchemy as sa

    from backroom.sandbox.bank import ledger_for

    schema = f"recon_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"create schema {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    try:
        st = bank_data.statement(ACCOUNT, *MARCH)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("create table gl (voucher text, d date, amt numeric(18,2), cp text, inv text)"))
            conn.execute(
                sa.text("insert into gl values (:v, :d, :a, :c, :i)"),
                [
                    {"v": r["entry_id"], "d": r["date"], "a": r["amount"], "c": r["counterparty"], "i": r["reference"]}
                    for r in ledger_for(st)
                ],
            )
        engine.dispose()
        config = ReconcileConfig(
            accounts=[ACCOUNT],
            book_opening_balance=st.opening,
            ledger={
                "kind": "sql",
                "system": "erp",
                "query": "select voucher as entry_id, d as date, amt as amount, "
                "cp as counterparty, inv as reference from gl",
            },
        )
        systems = {"erp": {"kind": "sql", "url": url}}
        results = []
        for start, end, fmt in ((MARCH[0], dt.date(2024, 3, 15), "mt940"), (dt.date(2024, 3, 16), MARCH[1], "xlsx")):
            ctx = make_context(tmp_path, "reconcile", config=config, systems=systems, database_url=url)
            params = make_params(ReconcileParams, ctx, statement=write_bank_statement(fmt, start, end))
            results.append(Reconcile().run(ctx, params))
            ctx.close()
        assert results[1].counts["bank_lines"] == len(st.lines)
        assert results[1].outputs["difference"] == "0.00"
        with sa.create_engine(url).connect() as conn:
            kept = conn.execute(sa.text("select count(*) from reconcile_matches where status = 'auto'")).scalar()
        assert kept == results[1].counts["matched"]
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"drop schema {schema} cascade"))
        admin.dispose()


def test_stray_characters_in_ledger_amount(tmp_path, write_bank_statement) -> None:
    from backroom.bots.reconcile.ledger import LedgerError

    ledger = write_ledger_xlsx(tmp_path / "ledger.xlsx", [{"entry_id": "G1", "date": MARCH[0], "amount": "1"}])
    from openpyxl import load_workbook

    book = load_workbook(ledger)
    book.active["C3"] = "12,3OO.00"
    book.save(ledger)
    with pytest.raises(
        LedgerError, match=r"ledger.xlsx, row 3: expected an amount like 1,234.56 but found '12,3OO.00'"
    ):
        _run(tmp_path, _config(ledger), statement=write_bank_statement("xlsx"))


def test_statement_of_another_account_is_rejected(tmp_path, bank_data, march_ledger) -> None:
    from backroom.sandbox.bank import write_statement

    other = bank_data.accounts[1][0]
    path = tmp_path / "other.xlsx"
    path.write_bytes(write_statement(bank_data.statement(other, *MARCH), "xlsx"))
    result, _ = _run(tmp_path, _config(march_ledger), statement=path)
    assert result.counts["statements_rejected"] == 1
    assert (
        f"account {other} is not among the configured accounts"
        in _sheet(result.outputs["workbook"], "对账单检查")[1][8]
    )

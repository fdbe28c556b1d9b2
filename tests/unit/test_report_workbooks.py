"""Workbooks fit for a manager: opened with openpyxl as Excel would, checking widths by display width,
print setup, summary first with the business period and a grand total, real dates, sign-off lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from backroom.bots.formats.statements import StatementLine
from backroom.bots.reconcile.ledger import LedgerEntry
from backroom.bots.reconcile.report import ReportData, business_period, report_filename, write_workbook
from backroom.bots.reports import add_sign_off, display_width, period_filename, write_summary, write_table


def test_display_width_counts_cjk_as_two() -> None:
    assert display_width("abc") == 3
    assert display_width("对方户名") == 8
    assert display_width("加：企业已收、银行未收") == 22  # full-width colon and 、 are wide too
    assert display_width("line\n最长的一行") == 10
    assert display_width(dt.date(2024, 3, 1)) == 10
    assert display_width(Decimal("1234567.5")) == len("1,234,567.50")


def test_period_file_names() -> None:
    assert period_filename("银行对账", "2024-03", "1234") == "银行对账_1234_2024-03.xlsx"
    assert period_filename("费用报销审核", "2024-05") == "费用报销审核_2024-05.xlsx"
    assert period_filename("a/b", "2024-03", suffix=".pdf") == "a-b_2024-03.pdf"


def test_write_table_sizes_by_display_width_keeps_dates_and_sets_up_printing(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    counterparty = "上海浦东发展银行股份有限公司"  # 14 characters, 28 columns wide
    rows = [[dt.date(2024, 3, 1), counterparty, Decimal("1234.50")] for _ in range(3)]
    write_table(ws, ["日期", "对方户名", "金额"], rows)
    write_table(ws, ["x"], [["y"]], start_row=10)  # a second table never moves the freeze
    book.save(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert ws.column_dimensions["B"].width >= display_width(counterparty) > len(counterparty) + 2
    assert ws["A2"].is_date and ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["C2"].number_format == "#,##0.00" and ws["C2"].value == 1234.5
    assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0 and "&P" in ws.oddFooter.center.text


def test_a_summary_has_title_period_grand_total_and_sign_off(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    rows = [["张三", Decimal("10.50"), 2], ["李四", Decimal("0.25"), 1]]
    total_row = write_summary(
        ws, title="费用汇总", period="2024-05", headers=["员工", "金额", "张数"], rows=rows, total_columns=[1, 2]
    )
    sign = add_sign_off(ws, total_row)
    book.save(tmp_path / "s.xlsx")
    ws = load_workbook(tmp_path / "s.xlsx").active
    assert ws["A1"].value == "费用汇总（2024-05）"
    assert [c.value for c in ws[total_row]][:3] == ["合计", 10.75, 3]
    assert [ws.cell(sign, c).value[:3] for c in (1, 3, 5)] == ["编制：", "审核：", "日期："]
    assert ws.oddHeader.right.text == "2024-05"


def _report_data() -> ReportData:
    account = "6222020200112233"
    bank = {
        f"b{i}": StatementLine(
            account, dt.date(2024, 3, 1 + i), Decimal(f"{100 + i}.00"), counterparty_name="北京某某科技有限公司"
        )
        for i in range(3)
    }
    ledger = {"g1": LedgerEntry("g1", dt.date(2024, 3, 1), Decimal("100.00"), counterparty="北京某某科技有限公司")}
    matched = [
        {"id": "m1", "bank_keys": ["b0"], "ledger_ids": ["g1"], "rule": "reference", "score": 100.0}
        | {"status": "auto", "adjustment": "0", "note": ""}
    ]
    return ReportData(
        bank=bank,
        ledger=ledger,
        matched=matched,
        review=[],
        unmatched_bank=["b1", "b2"],
        unmatched_ledger=[],
        statements=[],
        bank_balance=Decimal("303.00"),
        bank_balance_date=dt.date(2024, 3, 31),
        book_balance=Decimal("100.00"),
    )


def test_the_reconcile_workbook_is_ready_to_hand_to_a_manager(tmp_path: Path) -> None:
    data = _report_data()
    assert business_period(data) == "2024-03"
    assert report_filename(data) == "银行对账_2233_2024-03.xlsx"
    book = load_workbook(write_workbook(tmp_path / report_filename(data), data))
    assert book.sheetnames[0] == "汇总" and book.active.title == "汇总"
    summary = book["汇总"]
    assert summary["A1"].value == "银行存款对账汇总（2024-03）"  # the period, no run id
    assert summary["A2"].value.startswith("已平衡") and "银行未达 2 笔" in summary["A2"].value
    assert summary.freeze_panes == "A4"  # under its own header, not under the second table
    cells = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.startswith("编制") for v in cells)
    matched = book["已匹配"]
    header = [c.value for c in matched[1]]
    assert matched.cell(2, header.index("银行日期") + 1).is_date  # dates are dates on every sheet
    rec = book["余额调节表"]
    labels = [c for row in rec.iter_rows() for c in row if c.value == "加：企业已收、银行未收"]
    assert labels and rec.column_dimensions[labels[0].column_letter].width >= display_width(labels[0].value)
    assert any(str(c.value).startswith("审核") for row in rec.iter_rows() for c in row if c.value)
    for ws in book.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, ws.title
        assert ws.oddHeader.right.text == "2024-03", ws.title
    assert book["已匹配"].page_setup.orientation == "landscape"  # 16 columns wide


def test_the_tickets_archive_page_shows_local_times_and_masks_personal_data(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from backroom.bots.tickets.archive import write_archive

    resident_id = "11010519491231002X"  # a valid GB 11643 check digit
    record = {
        "ticket": {
            "id": 7,
            "subject": "投诉 13812345678",
            "created": "2024-03-05T06:03:09.123456+00:00",
            "resolved": "2024-03-06T01:00:00+00:00",
            "fields": {"IDCard": resident_id, "Mobile": "13812345678"},
        },
        "callbacks": [{"attempt": 1, "task_id": "t1", "outcome": "satisfied", "at": "2024-03-06T02:00:00.5+00:00"}],
        "history": [],
        "archived_at": "2024-03-06T03:04:05.678901+00:00",
    }
    files = write_archive(tmp_path, record, when=dt.datetime(2024, 3, 6, 11, 4, 5, tzinfo=ZoneInfo("Asia/Shanghai")))
    page = files.html_path.read_text(encoding="utf-8")
    assert "2024-03-05 14:03:09" in page and "2024-03-06 11:04:05" in page  # Asia/Shanghai, to the second
    assert ".123456" not in page and "+00:00" not in page
    assert resident_id not in page and "13812345678" not in page
    assert "002X" in page and "5678" in page  # the last four digits tell records apart
    assert resident_id in files.json_path.read_text(encoding="utf-8")  # the JSON stays the full record

"""Each report workbook rendered to PDF by LibreOffice (headless), as a manager would print it: every
sheet one page wide (no column spills onto a page of its own), long sheets repeat their header row on
every page, every page numbered with the business period in its header, and no text cell cut off
(its column is as wide as its display width, it wraps, or the cell to its right is empty).

Set ``BACKROOM_REPORT_PDFS`` to a folder to keep the PDFs and a PNG of every page for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from backroom.bots.expenses.rules import RULES, Doc, RuleResult
from backroom.bots.expenses.workbook import write_workbook as write_expenses
from backroom.bots.formats.statements import StatementLine
from backroom.bots.reconcile.ledger import LedgerEntry
from backroom.bots.reconcile.report import ReportData, report_filename
from backroom.bots.reconcile.report import write_workbook as write_reconcile
from backroom.bots.reports import display_width
from tests.realsystems._service import require

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

NAMES = ["上海浦东发展银行股份有限公司", "北京某某科技有限公司", "广州市天河区某某餐饮管理有限公司"]


def _reconcile(folder: Path) -> Path:
    account = "6222020200112233"
    bank = {
        f"b{i}": StatementLine(
            account,
            dt.date(2024, 3, 1 + i % 28),
            Decimal(f"{1000 + i * 7}.{i % 100:02d}"),
            counterparty_name=NAMES[i % 3],
            purpose=f"货款 发票号 {24000000 + i}",
        )
        for i in range(120)  # enough lines for 银行未达 to run over several pages
    }
    ledger = {
        f"g{i}": LedgerEntry(f"g{i}", dt.date(2024, 3, 1 + i % 28), bank[f"b{i}"].amount, counterparty=NAMES[i % 3])
        for i in range(40)
    }
    matched = [
        {"id": f"m{i}", "bank_keys": [f"b{i}"], "ledger_ids": [f"g{i}"], "rule": "reference", "score": 100.0}
        | {"status": "auto", "adjustment": "0", "note": ""}
        for i in range(40)
    ]
    data = ReportData(
        bank=bank,
        ledger=ledger,
        matched=matched,
        review=[],
        unmatched_bank=[f"b{i}" for i in range(40, 120)],
        unmatched_ledger=[],
        statements=[],
        bank_balance=sum((ln.amount for ln in bank.values()), Decimal(0)),
        bank_balance_date=dt.date(2024, 3, 31),
        book_balance=sum((e.amount for e in ledger.values()), Decimal(0)),
    )
    return write_reconcile(folder / report_filename(data), data)


def _expenses(folder: Path) -> Path:
    docs = []
    for i in range(12):
        fields = {
            "seller_name": (NAMES[i % 3], 0.97, "ocr"),
            "date": (dt.date(2024, 5, 1 + i), 0.99, "ocr"),
            "total": (Decimal(f"{35 + i}.50"), 0.99, "ocr"),
            "number": (f"{24000000 + i}", 0.95, "ocr"),
        }
        verdicts = {name: RuleResult("pass") for name in RULES}
        if i % 4 == 0:
            verdicts["buyer"] = RuleResult("fail", "购买方 上海某某有限公司 is not the company")
        docs.append(
            Doc(
                f"张三-发票-{i}.jpg",
                f"{i:064x}",
                "fapiao",
                fields,
                [],
                ["张三", "李四"][i % 2],
                "travel",
                Decimal(f"{35 + i}.50"),
                dt.date(2024, 5, 1),
                verdicts=verdicts,
            )
        )
    path = folder / "费用报销审核_2024-05.xlsx"
    return write_expenses(
        path, docs, [("坏文件.jpg", "empty (0 bytes)")], links={}, thumbnails={}, title="费用报销审核汇总",
        period="2024-05",
    )  # fmt: skip


def _to_pdf(book: Path, out: Path) -> Path:
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{out / 'profile'}",
         "--convert-to", "pdf", "--outdir", str(out), str(book)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out / f"{book.stem}.pdf"


def _cut_cells(book: Path) -> list[str]:
    """Text cells wider than their column that neither wrap nor may overflow into an empty neighbour."""
    cut = []
    wb = load_workbook(book)
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        merged = {r.start_cell.coordinate for r in ws.merged_cells.ranges}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or cell.coordinate in merged or cell.alignment.wrap_text:
                    continue
                width = ws.column_dimensions[cell.column_letter].width or 8.43
                right = ws.cell(cell.row, cell.column + 1).value
                if display_width(cell.value) > width + 0.5 and right not in (None, ""):
                    cut.append(
                        f"{ws.title}!{cell.coordinate} {cell.value!r} needs {display_width(cell.value)}, has {width}"
                    )
    return cut


@pytest.mark.parametrize("make", [_reconcile, _expenses], ids=["reconcile", "expenses"])
def test_report_prints_one_page_wide_numbered_with_headers_repeated_and_nothing_cut(make, tmp_path: Path) -> None:
    require(["soffice"], "libreoffice-calc-nogui fonts-noto-cjk")
    import pypdfium2 as pdfium

    book = make(tmp_path)
    assert _cut_cells(book) == []
    pdf_path = _to_pdf(book, tmp_path)
    pdf = pdfium.PdfDocument(str(pdf_path))
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    wb = load_workbook(book)
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    period = visible[0].oddHeader.right.text
    # which sheet each page belongs to: its page header reads "<company> <sheet name> <period>" (&A)
    owners = [next(ws.title for ws in visible if ws.title in text.splitlines()[0].split()) for text in texts]
    for ws in visible:
        pages = [t for t, owner in zip(texts, owners, strict=True) if owner == ws.title]
        assert pages, f"sheet {ws.title} printed nothing"
        height = ws.max_row
        if height < 40:  # a short sheet is one page: nothing spilled sideways onto a page of its own
            assert len(pages) == 1, f"{ws.title}: {len(pages)} pages for {height} rows"
        if ws.print_title_rows and len(pages) > 1:
            header = str(ws.cell(int(ws.print_title_rows.split(":")[0].strip("$")), 2).value)
            assert all(header in page for page in pages), f"{ws.title}: header row not repeated"
    flat = [re.sub(r"\s+", "", text) for text in texts]
    assert all(period in text and f"共{len(pdf)}页" in text for text in flat)  # numbered, with the period
    assert owners[0] == visible[0].title and "汇总" in texts[0]  # the summary first
    keep = os.environ.get("BACKROOM_REPORT_PDFS")
    if keep:
        folder = Path(keep)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf_path, folder / pdf_path.name)
        for i in range(len(pdf)):
            pdf[i].render(scale=1.5).to_pil().save(folder / f"{pdf_path.stem}-p{i + 1}.png")

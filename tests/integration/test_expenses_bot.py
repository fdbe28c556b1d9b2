"""The expenses bot end to end on the demo's inbox (real OCR, real SQLite state, real workbook):
verdicts, the workbook, moved files, reviewer corrections on the next run, the same invoice
claimed again next month, bad inputs, dry runs and configuration errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.expenses import Expenses, ExpensesConfig, ExpensesParams
from backroom.bots.expenses.claims import ClaimsSheetError
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.paths import ROOT_NAMES, Roots
from backroom.bots.sdk.testing import make_context
from tests.fixtures.expenses import (
    write_claims,
    write_corrupt_image,
    write_encrypted_pdf,
    write_long_pdf,
    write_photo,
    write_text_pdf,
)


def params_at(home: Path, **values: Any) -> ExpensesParams:
    """Parameters validated as the runner does, with every root at ``home`` (as ``make_context``'s)."""
    return ExpensesParams.model_validate(values, context={"roots": Roots(dict.fromkeys(ROOT_NAMES, home))})


def rows_of(book: Path, sheet_name: str = "Documents") -> dict[str, dict[str, Any]]:
    sheet = load_workbook(book)[sheet_name]
    header = [c.value for c in sheet[1]]
    return {
        r[header.index("file")]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, rapid_engine: Any) -> dict[str, Any]:
    """``sandbox.demo_expenses.prepare`` and one run of the bot on it, as ``backroom demo`` does."""
    from backroom.sandbox.demo_expenses import prepare

    home = tmp_path_factory.mktemp("expenses-demo")
    part = prepare(home)
    config = ExpensesConfig(**part.bot_table["config"])
    params = params_at(home, **part.params, inbox=part.bot_table["roots"]["inbox"])
    inputs = sorted(p.name for p in params.inbox.iterdir() if p.is_file())
    result = Expenses().run(make_context(home, "expenses", config=config), params)
    return {"home": home, "part": part, "config": config, "params": params, "result": result, "inputs": inputs}


def test_demo_run_verdicts(demo: dict[str, Any]) -> None:
    result = demo["result"]
    assert result.status == "succeeded"
    assert result.counts == {"documents": 6, "pass": 3, "review": 0, "fail": 3, "rejected": 1, "corrected": 0}
    assert "3 张未通过审核" in result.summary and "1 个文件无法读取" in result.summary  # what failed, in words
    rows = rows_of(Path(result.outputs["workbook"]))
    # the copy that arrived later is the duplicate, and it names the first (issue 18)
    assert rows["zhang-hotel-again.jpg"]["verdict"] == "fail"
    assert "duplicate of zhang-hotel.jpg in this batch" in rows["zhang-hotel-again.jpg"]["reasons"]
    assert rows["zhang-hotel.jpg"]["rule duplicate"] == "pass"
    assert "QR code says" in rows["li-software.jpg"]["rule qr"]
    assert "is not the company" in rows["li-other-company.jpg"]["rule buyer"]
    assert rows["zhang-taxi.jpg"]["verdict"] == "pass"
    assert rows["zhang-taxi.jpg"]["employee"] == "张三" and rows["zhang-taxi.jpg"]["category"] == "travel"
    assert rows["li-lunch.jpg"]["doc type"] == "receipt"


def test_demo_workbook_layout(demo: dict[str, Any]) -> None:
    book = load_workbook(demo["result"].outputs["workbook"])
    assert book.sheetnames == ["Summary", "Documents", "Confidences", "Rejected"]  # what a manager reads first
    assert book.active.title == "Summary" and book["Confidences"].sheet_state == "hidden"
    assert Path(demo["result"].outputs["workbook"]).name == "费用报销审核_2024-05.xlsx"  # by business period
    assert not any(str(h).endswith(" conf") for h in next(book["Documents"].iter_rows(max_row=1, values_only=True)))
    sheet = book["Documents"]
    verdicts = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert verdicts == sorted(verdicts, key=["fail", "review", "pass"].index)  # red rows first
    rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
    assert {rule.formula[0] for rule in rules} == {'$A2="fail"', '$A2="review"', '$A2="pass"'}
    assert len(sheet._images) == 6  # a thumbnail per document
    assert sheet["B2"].hyperlink is not None and "processed" in sheet["B2"].hyperlink.target
    summary = {(r[0], r[1]): r for r in book["Summary"].iter_rows(min_row=4, values_only=True)}
    assert summary[("张三", "travel")][2] == 3  # documents
    assert book["Summary"]["A1"].value == "费用报销审核汇总（2024-05）"  # the period, never a run id
    grand = summary[("合计", None)]
    details = [r for k, r in summary.items() if isinstance(r[2], int) and k[0] != "合计"]
    assert grand[2] == 6 and grand[3] == sum(r[3] for r in details)
    assert any(str(c.value).startswith("编制") for row in book["Summary"].iter_rows() for c in row if c.value)
    assert next(book["Rejected"].iter_rows(min_row=2, values_only=True))[0] == "li-upload-failed.jpg"


def test_demo_files_are_moved_never_deleted(demo: dict[str, Any]) -> None:
    inbox = demo["params"].inbox
    processed = sorted(p.name for p in (inbox / "processed").iterdir())
    rejected = sorted(p.name for p in (inbox / "rejected").iterdir())
    assert rejected == ["li-upload-failed.jpg", "li-upload-failed.jpg.why.txt"]
    assert "empty (0 bytes)" in (inbox / "rejected" / "li-upload-failed.jpg.why.txt").read_text()
    assert sorted([*processed, "li-upload-failed.jpg"]) == demo["inputs"]
    assert "claims-2024-05.xlsx" in processed  # the batch's claims sheet goes with its documents


def test_corrections_then_the_same_invoice_next_month(demo: dict[str, Any]) -> None:
    """A reviewer's edits dropped back in the inbox are applied on the next run; then the taxi
    invoice, photographed again, is claimed for June and flagged as a duplicate of May's."""
    from backroom.sandbox.demo_expenses import DEMO_COMPANY, DEMO_TAX_ID
    from backroom.sandbox.documents import Distortion, write_fapiao

    home, inbox, config = demo["home"], demo["params"].inbox, demo["config"]
    edited = load_workbook(demo["result"].outputs["workbook"])
    sheet = edited["Documents"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        name = row[header.index("file")].value
        if name == "li-other-company.jpg":
            row[header.index("reviewer verdict")].value = "通过"
            row[header.index("reviewer note")].value = "subsidiary invoice, approved by finance"
        if name == "zhang-taxi.jpg":
            row[header.index("seller_name")].value = "上海强生出租汽车有限公司"
    edited.save(inbox / "expenses-2024-05-reviewed.xlsx")

    second = Expenses().run(make_context(home, "expenses", config=config), params_at(home, inbox=inbox))
    assert second.counts["corrected"] == 2 and second.counts["documents"] == 0
    rows = rows_of(Path(second.outputs["workbook"]))
    assert rows["li-other-company.jpg"]["verdict"] == "pass"
    assert rows["li-other-company.jpg"]["rule buyer"] is None  # the reviewer's verdict replaced the rules
    assert rows["li-other-company.jpg"]["reasons"] == "reviewer: subsidiary invoice, approved by finance"
    assert rows["zhang-taxi.jpg"]["seller_name"] == "上海强生出租汽车有限公司"
    assert rows_of(Path(second.outputs["workbook"]), "Confidences")["zhang-taxi.jpg"]["seller_name conf"] == 1
    assert (inbox / "processed" / "expenses-2024-05-reviewed.xlsx").is_file()

    write_fapiao(
        inbox / "june-taxi.jpg",
        102,
        issue_date=dt.date(2024, 5, 9),
        buyer_name=DEMO_COMPANY,
        buyer_tax_id=DEMO_TAX_ID,
        distortion=Distortion(tilt=1.5, blur=0.3, noise=1.0, jpeg_quality=70, scale=0.8),
    )
    (inbox / "june-taxi.json").unlink()
    june = params_at(home, inbox=inbox, claim_month=dt.date(2024, 6, 1), employee="王五")
    third = Expenses().run(make_context(home, "expenses", config=config), june)
    row = rows_of(Path(third.outputs["workbook"]))["june-taxi.jpg"]
    assert row["verdict"] == "fail"
    assert "duplicate of zhang-taxi.jpg claimed by 张三 for 2024-05" in row["rule duplicate"]


def test_bad_inputs_are_rejected_with_reasons(tmp_path: Path, rapid_engine: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_encrypted_pdf(inbox / "locked.pdf")
    write_long_pdf(inbox / "scan-of-everything.pdf", 100)
    write_corrupt_image(inbox / "broken.jpg")
    write_photo(inbox / "holiday.jpg")
    (inbox / "nothing.png").write_bytes(b"")
    result = Expenses().run(
        make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1)),
        params_at(tmp_path, inbox=inbox, claim_month=dt.date(2024, 5, 1)),
    )
    assert result.counts["rejected"] == 5 and result.counts["documents"] == 0
    why = {p.name.removesuffix(".why.txt"): p.read_text() for p in (inbox / "rejected").glob("*.why.txt")}
    assert "password-protected" in why["locked.pdf"]
    assert "has 100 pages" in why["scan-of-everything.pdf"]
    assert why["broken.jpg"].startswith("corrupt:")
    assert "not recognised as a receipt or invoice" in why["holiday.jpg"]
    assert "empty (0 bytes)" in why["nothing.png"]
    assert not any(p.is_file() for p in inbox.iterdir())


def test_dry_run_moves_and_records_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "赵六").mkdir(parents=True)
    write_text_pdf(inbox / "赵六" / "e.pdf", ["KEDAI MAJU ENTERPRISE", "2024-05-06", "TOTAL 12.50"])
    ctx = make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1), dry_run=True)
    result = Expenses().run(ctx, params_at(tmp_path, inbox=inbox, claim_month=dt.date(2024, 5, 1)))
    assert result.counts["documents"] == 1
    assert (inbox / "赵六" / "e.pdf").is_file() and not (inbox / "processed").exists()
    row = rows_of(Path(result.outputs["workbook"]))["e.pdf"]
    assert row["employee"] == "赵六" and row["total"] == 12.5 and row["verdict"] == "pass", row["reasons"]
    again = Expenses().run(make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1)),
                           params_at(tmp_path, inbox=inbox, claim_month=dt.date(2024, 5, 1)))  # fmt: skip
    assert rows_of(Path(again.outputs["workbook"]))["e.pdf"]["rule duplicate"] == "pass"
    assert (inbox / "processed" / "赵六" / "e.pdf").is_file()


def test_file_arrival_runs_one_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_text_pdf(inbox / "a.pdf", ["SHOP ONE ENTERPRISE", "2024-05-06", "TOTAL 1.00"])
    write_text_pdf(inbox / "b.pdf", ["SHOP TWO ENTERPRISE", "2024-05-07", "TOTAL 2.00"])
    params = params_at(tmp_path, inbox=inbox, file=inbox / "a.pdf", claim_month=dt.date(2024, 5, 1))
    result = Expenses().run(make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1)), params)
    assert result.counts["documents"] == 1
    assert (inbox / "b.pdf").is_file() and (inbox / "processed" / "a.pdf").is_file()


def test_claims_sheet_with_missing_column_fails_clearly(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_claims(inbox / "claims.xlsx", ["employee", "category", "files"], [["张三", "meals", "a.jpg"]])
    with pytest.raises(ClaimsSheetError, match=r"missing the column.*claimed_amount"):
        Expenses().run(
            make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1)), params_at(tmp_path, inbox=inbox)
        )


def test_paddle_without_models_is_a_config_error(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(write_photo(tmp_path / "p.jpg"), inbox / "p.jpg")
    config = ExpensesConfig(
        engine="paddle", workers=1, paddle={"det_model_dir": tmp_path / "nope", "rec_model_dir": tmp_path}
    )
    with pytest.raises(ConfigError, match=r"engine = 'paddle'.*det_model_dir=.*nope does not exist"):
        Expenses().run(make_context(tmp_path, "expenses", config=config), params_at(tmp_path, inbox=inbox))
    assert (inbox / "p.jpg").is_file()

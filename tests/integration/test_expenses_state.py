"""Duplicate detection across all history in a real database: SQLite by default and PostgreSQL in
production (``postgres`` marker; set BACKROOM_TEST_POSTGRES_URL)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

from backroom.bots.expenses import Expenses, ExpensesConfig, ExpensesParams
from backroom.bots.sdk.testing import make_context
from tests.fixtures.expenses import write_text_pdf


def _duplicate_across_months(tmp_path: Path, database_url: str | None) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shop = f"KEDAI {uuid.uuid4().hex[:8].upper()} ENTERPRISE"  # unique per run: the database is shared
    config = ExpensesConfig(workers=1, weekend_verdict="pass")
    write_text_pdf(inbox / "may.pdf", [shop, "Date: 2024-05-06", "TOTAL 42.00"])
    first = Expenses().run(
        make_context(tmp_path, "expenses", config=config, database_url=database_url),
        ExpensesParams(inbox="inbox", claim_month=dt.date(2024, 5, 1), employee="张三"),
    )
    assert first.counts["fail"] == 0
    # the same receipt as another file (different bytes: an extra blank line), claimed in June
    write_text_pdf(inbox / "june.pdf", [shop, "Date: 2024-05-06", "TOTAL 42.00", " "])
    second = Expenses().run(
        make_context(tmp_path, "expenses", config=config, database_url=database_url),
        ExpensesParams(inbox="inbox", claim_month=dt.date(2024, 6, 1), employee="李四"),
    )
    sheet = load_workbook(second.outputs["workbook"])["Documents"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert row["verdict"] == "fail"
    assert "duplicate of may.pdf claimed by 张三 for 2024-05" in row["rule duplicate"]


def test_duplicate_across_months_sqlite(tmp_path: Path) -> None:
    _duplicate_across_months(tmp_path, None)


@pytest.mark.postgres
def test_duplicate_across_months_postgres(tmp_path: Path, postgres_url: str) -> None:
    _duplicate_across_months(tmp_path, postgres_url)


def test_interrupted_run_resumes_without_reading_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backroom.bots.expenses.workbook as workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_text_pdf(inbox / "r.pdf", ["KEDAI RESUME ENTERPRISE", "Date: 2024-05-06", "TOTAL 9.90"])
    params = ExpensesParams(inbox="inbox", claim_month=dt.date(2024, 5, 1))

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full while writing the workbook")

    with monkeypatch.context() as patch:
        patch.setattr(workbook, "write_workbook", crash)
        with pytest.raises(OSError, match="disk full"):
            Expenses().run(make_context(tmp_path, "expenses", config=ExpensesConfig(workers=1)), params)
    assert (inbox / "r.pdf").is_file()  # nothing moved by the interrupted run
    # an engine that cannot even start proves the document is not read a second time
    broken_engine = ExpensesConfig(workers=1, engine="paddle")
    result = Expenses().run(make_context(tmp_path, "expenses", config=broken_engine), params)
    assert result.counts["documents"] == 1 and result.counts["fail"] == 0
    assert (inbox / "processed" / "r.pdf").is_file()

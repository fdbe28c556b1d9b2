"""The expenses bot on 数电票 delivered as XML, OFD and PDF: one invoice in several files is one
claim (the later arrival is the duplicate, naming the first), the buyer must be the company, and
an invoice that does not add up cannot pass."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from backroom.bots.expenses import Expenses, ExpensesConfig, ExpensesParams
from backroom.bots.sdk.paths import ROOT_NAMES, Roots
from backroom.bots.sdk.testing import make_context
from backroom.sandbox.documents.einvoice import sample_invoice, write_invoice_ofd, write_invoice_xml
from tests.conftest import SHARED_DATA

COMPANY = "上海后屋科技有限公司"
COMPANY_ID = "91310115MA1H7GKX4X"


def params_at(home: Path, **values: Any) -> ExpensesParams:
    return ExpensesParams.model_validate(values, context={"roots": Roots(dict.fromkeys(ROOT_NAMES, home))})


def rows_of(book: Path) -> dict[str, dict[str, Any]]:
    sheet = load_workbook(book)["Documents"]
    header = [c.value for c in sheet[1]]
    return {
        r[header.index("file")]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)
    }


def arrive(path: Path, order: int) -> None:
    """Give ``path`` an arrival time: ``order`` seconds after a fixed instant."""
    stamp = dt.datetime(2024, 6, 1, tzinfo=dt.UTC).timestamp() + order
    os.utime(path, (stamp, stamp))


def run(home: Path, inbox: Path) -> dict[str, dict[str, Any]]:
    config = ExpensesConfig(workers=1, company_names=[COMPANY], company_tax_ids=[COMPANY_ID], weekend_verdict="pass")
    result = Expenses().run(
        make_context(home, "expenses", config=config), params_at(home, inbox=inbox, claim_month=dt.date(2024, 5, 1))
    )
    assert result.counts["rejected"] == 0, result.counts
    return rows_of(Path(result.outputs["workbook"]))


def test_one_invoice_as_xml_and_ofd_is_one_claim(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spec = sample_invoice()
    write_invoice_ofd(inbox / "b-first.ofd", spec)  # named to sort after the copy: arrival decides
    write_invoice_xml(inbox / "a-copy.xml", spec)
    other = sample_invoice(number="24312000000999999999", buyer_name="别家公司", buyer_tax_id="91440300MA5F7EXE2U")
    write_invoice_xml(inbox / "c-other-buyer.xml", other)
    bad = sample_invoice(number="24312000000888888888")
    write_invoice_xml(inbox / "d-bad-sum.xml", bad, total=Decimal("1227.00"))
    for order, name in enumerate(["b-first.ofd", "a-copy.xml", "c-other-buyer.xml", "d-bad-sum.xml"]):
        arrive(inbox / name, order)

    rows = run(tmp_path, inbox)
    first, copy = rows["b-first.ofd"], rows["a-copy.xml"]
    assert first["doc type"] == "fapiao" and first["verdict"] == "pass", first["reasons"]
    assert first["total"] == 1272.0
    assert copy["verdict"] == "fail"
    assert "duplicate of b-first.ofd in this batch" in copy["rule duplicate"]
    assert "is not the company" in rows["c-other-buyer.xml"]["rule buyer"]
    assert rows["d-bad-sum.xml"]["verdict"] == "fail"
    assert "1227.00" in rows["d-bad-sum.xml"]["rule arithmetic"]
    assert (inbox / "processed" / "a-copy.xml").is_file() and (inbox / "processed" / "b-first.ofd").is_file()


def test_the_same_invoice_next_month_is_caught_across_formats(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spec = sample_invoice()
    write_invoice_xml(inbox / "may.xml", spec)
    assert run(tmp_path, inbox)["may.xml"]["verdict"] == "pass"
    write_invoice_ofd(inbox / "again.ofd", spec)
    row = run(tmp_path, inbox)["again.ofd"]
    assert row["verdict"] == "fail" and "may.xml claimed by" in row["rule duplicate"]


def test_real_ofd_and_its_pdf_are_one_invoice(tmp_path: Path, rapid_engine: Any) -> None:
    ofd, pdf = SHARED_DATA / "einvoices/ofd/ofd_07.ofd", SHARED_DATA / "einvoices/pdf/pdf_04.pdf"
    if not (ofd.is_file() and pdf.is_file()):
        pytest.skip(f"shared e-invoices not found under {SHARED_DATA / 'einvoices'}")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ofd, inbox / "invoice.ofd")
    shutil.copy(pdf, inbox / "invoice.pdf")
    arrive(inbox / "invoice.ofd", 0)
    arrive(inbox / "invoice.pdf", 1)
    config = ExpensesConfig(workers=1, max_age_days=100_000, weekend_verdict="pass")
    result = Expenses().run(
        make_context(tmp_path, "expenses", config=config),
        params_at(tmp_path, inbox=inbox, claim_month=dt.date(2022, 5, 1)),
    )
    rows = rows_of(Path(result.outputs["workbook"]))
    assert rows["invoice.ofd"]["verdict"] == "pass", rows["invoice.ofd"]["reasons"]
    assert "duplicate of invoice.ofd in this batch" in rows["invoice.pdf"]["rule duplicate"]


def test_remarks_are_stored_masked(tmp_path: Path) -> None:
    from backroom.bots.expenses.state import DocumentStore, unpack
    from backroom.bots.sdk.testing import make_context as context

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spec = sample_invoice(remarks="购方开户银行:江苏银行天惠支行; 银行账号:6222021234567890123; 电话 13912345678")
    path = write_invoice_xml(inbox / "with-account.xml", spec)
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    run(tmp_path, inbox)
    store = DocumentStore(context(tmp_path, "expenses", config=ExpensesConfig()).engine)
    fields, _ = unpack(store.get(sha)["fields"])
    remarks = fields["remarks"][0]
    assert "6222021234567890123" not in remarks and "13912345678" not in remarks
    assert "0123" in remarks and "江苏银行天惠支行" in remarks  # enough left to tell records apart


def test_a_rapid_model_that_is_not_there_is_a_config_error(tmp_path: Path) -> None:
    from backroom.bots.sdk.errors import ConfigError
    from tests.fixtures.expenses import write_photo

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(write_photo(tmp_path / "p.jpg"), inbox / "p.jpg")
    config = ExpensesConfig(workers=1, rapid={"det_model_path": tmp_path / "tiny-det.onnx"})
    with pytest.raises(ConfigError, match=r"Det\.model_path .*tiny-det\.onnx.* is not a file"):
        Expenses().run(make_context(tmp_path, "expenses", config=config), params_at(tmp_path, inbox=inbox))
    assert (inbox / "p.jpg").is_file()

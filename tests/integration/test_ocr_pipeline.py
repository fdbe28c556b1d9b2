"""The whole reading path with the real PP-OCR models: generated fapiao and receipts against their
ground truth, QR-first cross-checks, upside-down pages, the CLI's output, the worker pool, and a
few of the real labelled receipts."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from backroom.ocr.cli import ocr_command
from backroom.ocr.fields import jsonable
from backroom.ocr.normalise import parse_amount, parse_date
from tests.fixtures.expenses import write_text_pdf

FAPIAO_FIELDS = (
    "kind", "number", "date", "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id",
    "amount", "tax_rate", "tax", "total",
)  # fmt: skip


def truth_of(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["fapiao", "upside_down"])
def test_fapiao_fields_match_ground_truth(name: str, generated_docs: dict, read_results: dict) -> None:
    result, truth = read_results[name], truth_of(generated_docs[name])
    assert result.type == "fapiao"
    got = {k: jsonable(result.extraction.value(k)) for k in FAPIAO_FIELDS}
    assert got == {k: truth[k] for k in FAPIAO_FIELDS}
    assert jsonable(result.extraction.value("total_capitals")) == truth["total"]
    assert result.extraction.value("code") == (truth["code"] or None)
    assert result.extraction.fields["number"].source == "qr"
    assert result.extraction.problems == []
    if name == "upside_down":
        assert result.rotation == 180


def test_qr_disagreeing_with_printed_amount_is_flagged(generated_docs: dict, read_results: dict) -> None:
    result, truth = read_results["mismatch"], truth_of(generated_docs["mismatch"])
    qr_amount = truth["qr_text"].split(",")[4]
    # a 数电票 (kind 32) QR code states the total with tax
    assert jsonable(result.extraction.value("total")) == qr_amount  # the QR wins...
    assert any(
        f"QR code says total {qr_amount} but the invoice prints {truth['total']}" in p
        for p in result.extraction.problems
    )  # ...and the disagreement is reported


def test_generated_receipt(generated_docs: dict, read_results: dict) -> None:
    result, truth = read_results["receipt"], truth_of(generated_docs["receipt"])
    assert result.type == "receipt"
    for field in ("company", "address", "date", "total", "payment_method", "currency"):
        assert str(jsonable(result.extraction.value(field))) == truth[field], field
    assert result.extraction.confidence("total") > 0.8
    assert result.thumbnail and result.thumbnail[:2] == b"\xff\xd8"


def test_photo_that_is_not_a_receipt(read_results: dict) -> None:
    assert read_results["photo"].type == "unknown"
    assert read_results["photo"].extraction.fields == {}


def test_cli_json_lines(tmp_path: Path, generated_docs: dict, rapid_engine: Any) -> None:
    pdf = write_text_pdf(tmp_path / "e-receipt.pdf", ["ACME TRADING SDN BHD", "Date: 05/03/2018", "TOTAL 8.20"])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    out = StringIO()
    status = ocr_command([pdf, empty, generated_docs["photo"]], "rapid", True, out=out)
    assert status == 1  # one document could not be read
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["type"] for r in records] == ["receipt", "unknown", "unknown"]
    receipt = records[0]
    assert set(receipt) >= {"file", "type", "fields"}
    assert receipt["fields"]["company"] == {"value": "ACME TRADING SDN BHD", "confidence": 1.0}
    assert receipt["fields"]["date"]["value"] == "2018-03-05"
    assert receipt["fields"]["total"]["value"] == "8.20"
    assert "empty" in records[1]["error"]


def test_cli_table_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = write_text_pdf(tmp_path / "r.pdf", ["KEDAI MAJU ENTERPRISE", "2024-03-05", "TOTAL 12.50"])
    out = StringIO()
    assert ocr_command([tmp_path], "rapid", False, out=out) == 0
    text = out.getvalue()
    assert "r.pdf — receipt" in text and "KEDAI MAJU ENTERPRISE" in text and "12.50" in text
    assert ocr_command([tmp_path / "nothing-here"], "rapid", False, out=StringIO()) == 1
    assert ocr_command([tmp_path], "easyocr", False, out=StringIO()) == 2
    assert ocr_command([pdf], "paddle", True, out=StringIO()) == 2
    assert "det_model_dir" in capsys.readouterr().err


@pytest.mark.slow
def test_shared_receipts_sample(shared_receipts: Path, rapid_engine: Any) -> None:
    """Two real labelled receipts read end to end (the full set is measured by the benchmark)."""
    from backroom.ocr.pipeline import read_document

    for stem in ("029", "410"):
        key = json.loads((shared_receipts / "key" / f"{stem}.json").read_text())
        result = read_document(shared_receipts / "img" / f"{stem}.jpg", rapid_engine)
        assert result.type == "receipt"
        assert result.extraction.value("total") == parse_amount(key["total"].replace("$", ""))
        assert result.extraction.value("date") == parse_date(key["date"])
        assert " ".join(result.extraction.value("company").split()).upper() == key["company"]


@pytest.mark.slow
def test_tesseract_engine_reads_chinese(generated_docs: dict) -> None:
    from backroom.schedules.setup import _tesseract_has_chinese

    if not _tesseract_has_chinese():
        pytest.skip("tesseract with chi_sim is not installed (backroom setup installs it on Debian)")
    from backroom.ocr.engines import get_engine
    from backroom.ocr.pipeline import read_document

    result = read_document(generated_docs["receipt"], get_engine("tesseract"))
    text = "".join(line.text for line in result.extraction.lines)
    assert "合计" in text or "合 计" in text
    assert result.extraction.value("total") == Decimal(truth_of(generated_docs["receipt"])["total"])


@pytest.mark.slow
def test_worker_pool_streams_every_document(tmp_path: Path, generated_docs: dict) -> None:
    from backroom.ocr.pool import read_many

    pdf = write_text_pdf(tmp_path / "a.pdf", ["SHOP ENTERPRISE", "2024-03-05", "TOTAL 1.50"])
    empty = tmp_path / "b.jpg"
    empty.write_bytes(b"")
    paths = [pdf, empty, generated_docs["photo"]]
    results = list(read_many(paths, workers=2, window=2))
    assert sorted(str(r.path) for r in results) == sorted(str(p) for p in paths)
    by_name = {r.path.name: r for r in results}
    assert by_name["a.pdf"].extraction.value("total") == Decimal("1.50")
    assert by_name["b.jpg"].error_kind == "empty"
    assert by_name["photo.jpg"].type == "unknown"


@pytest.mark.slow
def test_page_turned_sideways_is_read_upright(tmp_path: Path, generated_docs: dict, rapid_engine: Any) -> None:
    from PIL import Image

    from backroom.ocr.pipeline import read_document

    turned = tmp_path / "sideways.jpg"
    Image.open(generated_docs["receipt"]).rotate(90, expand=True).save(turned)
    result = read_document(turned, rapid_engine)
    truth = truth_of(generated_docs["receipt"])
    assert result.rotation in (90, 270)
    assert str(result.extraction.value("total")) == truth["total"]
    assert result.extraction.value("company") == truth["company"]

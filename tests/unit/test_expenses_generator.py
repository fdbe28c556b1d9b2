"""The receipt / fapiao generator: deterministic from a seed, internally consistent truth, a QR
code that decodes to the fapiao record (or deliberately disagrees), and the CJK font it needs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np

from backroom.ocr.chinese import amount_to_capitals, valid_uscc
from backroom.ocr.qr import decode_qr, parse_fapiao_qr
from backroom.sandbox.documents import Distortion, find_font, main, make_fapiao, make_receipt


def test_same_seed_same_document() -> None:
    (a, truth_a), (b, truth_b) = make_fapiao(21), make_fapiao(21)
    assert truth_a == truth_b
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert make_fapiao(22)[1]["number"] != truth_a["number"]
    assert make_receipt(3)[1] == make_receipt(3)[1]


def test_fapiao_truth_is_consistent_and_qr_decodes() -> None:
    image, truth = make_fapiao(7, kind="10", distortion=Distortion(tilt=1.5, blur=0.5, noise=3, scale=0.8))
    amount, tax, total = (Decimal(truth[k]) for k in ("amount", "tax", "total"))
    assert amount + tax == total and truth["total_capitals"] == amount_to_capitals(total)
    assert valid_uscc(truth["buyer_tax_id"]) and valid_uscc(truth["seller_tax_id"])
    (code,) = decode_qr(np.asarray(image)[:, :, ::-1].copy())
    record = parse_fapiao_qr(code.text)
    assert record is not None
    assert (record.number, record.amount, record.date.isoformat()) == (truth["number"], amount, truth["date"])


def test_qr_mismatch_changes_only_the_qr() -> None:
    _, honest = make_fapiao(8)
    image, forged = make_fapiao(8, qr_mismatch=True)
    assert forged["amount"] == honest["amount"]
    record = parse_fapiao_qr(decode_qr(np.asarray(image)[:, :, ::-1].copy())[0].text)
    assert record is not None and record.amount != Decimal(forged["amount"])


def test_command_line_writes_images_and_truths(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--fapiao", "1", "--receipts", "1", "--seed", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fapiao_000.jpg", "fapiao_000.json", "receipt_000.jpg", "receipt_000.json",
    ]  # fmt: skip
    assert json.loads((tmp_path / "receipt_000.json").read_text())["type"] == "receipt"
    assert Path(find_font()[0]).is_file()

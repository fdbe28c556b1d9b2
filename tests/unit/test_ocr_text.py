"""Normalisation, 大写 amounts, credit-code checksums, QR records: the pure-text parts of ``ocr``."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from backroom.ocr.chinese import amount_to_capitals, capitals_to_amount, uscc_check_char, valid_uscc
from backroom.ocr.normalise import find_amounts, find_dates, find_time, half_width, parse_amount
from backroom.ocr.qr import parse_fapiao_qr
from backroom.sandbox.documents import make_uscc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Total Incl. GST RM 1,234.50", [Decimal("1234.50")]),
        ("$8.20", [Decimal("8.20")]),
        ("10 00", [Decimal("10.00")]),  # OCR lost the decimal point of a lone figure
        ("28-90", [Decimal("28.90")]),
        ("RMO.65S", [Decimal("0.65")]),
        (".02", [Decimal("0.02")]),
        ("¥４２.００", [Decimal("42.00")]),  # full-width digits
        ("Qty 3", []),
        ("Tel 03-8941 0243", []),
    ],
)
def test_amounts(text: str, expected: list[Decimal]) -> None:
    assert find_amounts(text) == expected


def test_parse_amount_none_without_cents() -> None:
    assert parse_amount("Invoice 12345") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/28/2017 10:17:32 PM", dt.date(2017, 12, 28)),  # impossible day-first → month-first
        ("01-03-18 5:23:26 PM", dt.date(2018, 3, 1)),
        ("05 Mar 2018 18:24", dt.date(2018, 3, 5)),
        ("2024年01月19日", dt.date(2024, 1, 19)),
        ("12-03-201810:13:04", dt.date(2018, 3, 12)),  # year glued to the time
        ("Mar 5, 2018", dt.date(2018, 3, 5)),
        ("Date: Oct 3, 201612:16:25 PM", dt.date(2016, 10, 3)),  # year glued to the time
        ("18:1524/05/18", dt.date(2018, 5, 24)),  # time glued before the date
        ("20240305", dt.date(2024, 3, 5)),
    ],
)
def test_dates(text: str, expected: dt.date) -> None:
    assert find_dates(text)[0] == expected


@pytest.mark.parametrize("text", ["FZ02 - 6/54", "ORD #19- 10/03", "MG12/3-32/ - 36/360", "Qty 12.50"])
def test_not_dates(text: str) -> None:
    assert find_dates(text) == []


def test_month_first_when_asked() -> None:
    assert find_dates("03/04/2024", dayfirst=False) == [dt.date(2024, 3, 4)]
    assert find_dates("03/04/2024") == [dt.date(2024, 4, 3)]


def test_times_and_width() -> None:
    assert find_time("10:17:32 PM") == dt.time(22, 17, 32)
    assert find_time("12:05 AM") == dt.time(0, 5)
    assert find_time("no time") is None
    assert half_width("发票号码：１２３") == "发票号码:123"


def test_capitals_round_trip_many_amounts() -> None:
    rng = random.Random(3)
    values = [Decimal(rng.randrange(1, 10**10)) / 100 for _ in range(400)]
    values += [Decimal(v) for v in ("0.05", "1.00", "10.50", "100.07", "1005.30", "100000.00", "10010001.01")]
    for value in values:
        text = amount_to_capitals(value)
        assert capitals_to_amount(text) == value.quantize(Decimal("0.01")), (value, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("⊗壹仟贰佰叁拾肆圆伍角整", Decimal("1234.50")),
        ("（大写）壹佰元正", Decimal("100.00")),  # 元 for 圆, 正 for 整
        ("贰拾万零叁佰圆零伍分", Decimal("200300.05")),
        ("Total 100.00", None),
        ("壹贰叁", None),  # digits without a unit are not an amount
    ],
)
def test_capitals_variants(text: str, expected: Decimal | None) -> None:
    assert capitals_to_amount(text) == expected


def test_uscc_checksum() -> None:
    assert valid_uscc("91310115MA1H7GKX4X")
    assert not valid_uscc("91310115MA1H7GKX4U")  # wrong check character
    assert not valid_uscc("91310115MA1H7GKX4")  # 17 characters
    assert not valid_uscc("91310115MA1H7GKXIX")  # I is not in the alphabet
    assert uscc_check_char("91310115MA1H7GKX4") == "X"
    rng = random.Random(1)
    assert all(valid_uscc(make_uscc(rng)) for _ in range(50))


def test_fapiao_qr_records() -> None:
    paper = parse_fapiao_qr("01,10,044031900111,12345678,1000.50,20240105,12345678901234567890,ABCD,")
    assert paper is not None
    assert (paper.kind, paper.code, paper.number) == ("10", "044031900111", "12345678")
    assert paper.amount == Decimal("1000.50") and paper.date == dt.date(2024, 1, 5)
    assert paper.kind_name == "增值税电子普通发票"
    digital = parse_fapiao_qr("01,32,,24442000000123456789,88.00,20240301,,9F2B,")
    assert digital is not None and digital.code == "" and digital.check_code == ""
    assert parse_fapiao_qr("https://example.com/pay?x=1") is None
    assert parse_fapiao_qr("01,10,0440,12345678,1.00,20240105,,X,") is None  # code too short
    assert parse_fapiao_qr("01,10,044031900111,12345678,abc,20240105,,X,") is None


def test_capitals_read_everyday_numerals_and_spoken_kuai() -> None:
    """One parser serves invoices and complaint texts (the tickets extractor reads amounts with it)."""
    assert capitals_to_amount("一百二十元") == Decimal("120.00")
    assert capitals_to_amount("三十块五角") == Decimal("30.50")
    assert capitals_to_amount("贰佰元零伍分") == Decimal("200.05")
    assert capitals_to_amount("三十块钱的事") == Decimal("30.00")
    assert capitals_to_amount("三十") is None

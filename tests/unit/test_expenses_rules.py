"""The audit rules, the claims sheet and the config, without OCR: each rule on documents built by
hand, and the claims sheet's errors naming file, row and column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from backroom.bots.expenses.claims import ClaimsSheetError, read_claims
from backroom.bots.expenses.config import ExpensesConfig
from backroom.bots.expenses.rules import Doc, evaluate
from backroom.bots.expenses.state import decode_fields, encode_fields, invoice_key, receipt_key
from tests.fixtures.expenses import COMPANY, COMPANY_TAX_ID, write_claims

CONFIG = ExpensesConfig(
    company_names=[COMPANY],
    company_tax_ids=[COMPANY_TAX_ID],
    category_limits={"meals": Decimal("300"), "*": Decimal("5000")},
    daily_limit=Decimal("1000"),
    max_age_days=60,
)


def fapiao(**overrides: object) -> Doc:
    fields = {
        "number": ("12345678", 1.0, "qr"),
        "code": ("044031900111", 1.0, "qr"),
        "date": (dt.date(2024, 5, 10), 1.0, "qr"),
        "amount": (Decimal("100.00"), 1.0, "qr"),
        "tax": (Decimal("6.00"), 0.99, "ocr"),
        "total": (Decimal("106.00"), 0.98, "ocr"),
        "total_capitals": (Decimal("106.00"), 0.97, "ocr"),
        "buyer_name": (COMPANY, 0.99, "ocr"),
        "buyer_tax_id": (COMPANY_TAX_ID, 0.99, "ocr"),
        "seller_name": ("某某餐饮管理有限公司", 0.99, "ocr"),
    }
    problems = overrides.pop("problems", [])
    for name, value in overrides.items():
        fields[name] = value if isinstance(value, tuple) else (value, 0.99, "ocr")
    doc = Doc("f.jpg", "sha", "fapiao", fields, list(problems), "张三", "meals", None, dt.date(2024, 5, 1))
    return evaluate(doc, CONFIG)


def test_clean_fapiao_passes() -> None:
    doc = fapiao()
    assert doc.verdict == "pass", doc.reasons


@pytest.mark.parametrize(
    ("overrides", "rule", "verdict", "words"),
    [
        ({"buyer_name": "别的公司有限公司"}, "buyer", "fail", "is not the company"),
        ({"buyer_tax_id": "91110108600040399R"}, "buyer", "fail", "is not the company's"),
        ({"total": Decimal("107.00"), "total_capitals": Decimal("107.00")}, "arithmetic", "fail", "≠ amount"),
        ({"total_capitals": Decimal("160.00")}, "capitals", "fail", "大写 160.00"),
        ({"date": dt.date(2024, 6, 3)}, "window", "fail", "after the claim month"),
        ({"date": dt.date(2024, 2, 1)}, "window", "fail", "more than 60 days"),
        ({"date": dt.date(2024, 5, 12)}, "weekend", "review", "weekend or public holiday"),  # Sunday
        ({"date": dt.date(2024, 5, 1)}, "weekend", "review", "weekend or public holiday"),  # Labour Day
        ({"total": (Decimal("106.00"), 0.42, "ocr")}, "confidence", "review", "total (0.42)"),
        ({"problems": ["QR code says amount 100.00 but the invoice prints 150.00 (possible alteration)"]},
         "qr", "fail", "possible alteration"),
        ({"amount": (Decimal("150.00"), 1.0, "qr"),
          "problems": ["QR code says amount 150.00 but the invoice prints 100.00 (possible alteration)"]},
         "arithmetic", "fail", "total 106.00 ≠ amount 150.00 + tax 6.00 (the QR code's figure"),
        ({"problems": ["the OFD metadata says amount 190.00 but the invoice prints 100.00"]},
         "consistency", "fail", "possible alteration"),
        ({"problems": ["the items add up to 90.00 but the amount is 100.00"]},
         "consistency", "review", "items add up to 90.00"),
        ({"problems": ["item 2 (b): tax 9.00 is not 6% of 50.00 (3.00)"]}, "consistency", "review", "item 2"),
    ],
)  # fmt: skip
def test_rule_verdicts(overrides: dict, rule: str, verdict: str, words: str) -> None:
    doc = fapiao(**overrides)
    assert doc.verdicts[rule].verdict == verdict
    assert words in doc.verdicts[rule].reason
    assert doc.verdict == verdict


def test_saturday_working_day_is_not_flagged() -> None:
    assert fapiao(date=dt.date(2024, 5, 11)).verdicts["weekend"].verdict == "pass"  # 调休 working Saturday


def test_limits_and_claimed_amounts() -> None:
    over = fapiao(total=Decimal("318.00"), amount=Decimal("300.00"), tax=Decimal("18.00"),
                  total_capitals=Decimal("318.00"))  # fmt: skip
    assert over.verdicts["limits"].verdict == "fail" and "300 limit for meals" in over.verdicts["limits"].reason
    doc = fapiao()
    doc.claimed_amount, doc.claim_row, doc.claim_files, doc.claim_total = (
        Decimal("200.00"),
        3,
        ("a", "b"),
        Decimal("206.00"),
    )
    evaluate(doc, CONFIG)
    assert doc.verdicts["claimed"].reason == "claims row 3: claimed 200.00 but its 2 files total 206.00"
    doc.day_total = Decimal("1200.00")
    evaluate(doc, CONFIG)
    assert "over the daily 1000" in doc.verdicts["limits"].reason


def test_unknown_and_unreadable_documents_go_to_review() -> None:
    doc = Doc("x.jpg", "s", "receipt", {"company": ("SHOP", 0.9, "ocr")}, [], "a", "other", None, dt.date(2024, 5, 1))
    evaluate(doc, CONFIG)
    assert doc.verdicts["readable"].reason == "could not read date, total"
    assert doc.verdict == "review"


def test_config_rejects_bad_company_tax_id() -> None:
    with pytest.raises(ValidationError, match="not valid 18-character unified social credit codes"):
        ExpensesConfig(company_tax_ids=["91310115MA1H7GKX4U"])


def test_fields_round_trip_through_the_state_table_encoding() -> None:
    fields = fapiao().fields | {"time": (dt.time(12, 30), 0.9, "ocr"), "items": ([{"a": Decimal("1.50")}], 0.6, "ocr")}
    back = decode_fields(encode_fields(fields))
    assert back["total"] == (Decimal("106.00"), 0.98, "ocr")
    assert back["date"][0] == dt.date(2024, 5, 10) and back["time"][0] == dt.time(12, 30)
    assert invoice_key(back) == "044031900111:12345678"
    receipt = {
        "company": ("Shop  A", 1, "ocr"),
        "date": (dt.date(2024, 1, 2), 1, "ocr"),
        "total": (Decimal(5), 1, "ocr"),
    }
    assert receipt_key(receipt) == "SHOPA|2024-01-02|5"


def test_claims_sheet(tmp_path: Path) -> None:
    path = write_claims(
        tmp_path / "claims.xlsx",
        ["员工", "费用类别", "报销金额", "附件"],
        [["张三", "travel", 106, "a.jpg, b.jpg"], [None, None, None, None], ["李四", "meals", "1,234.50", "c.pdf"]],
    )
    claims = read_claims(path)
    assert [(c.employee, c.category, c.claimed_amount, c.files, c.row) for c in claims] == [
        ("张三", "travel", Decimal("106.00"), ("a.jpg", "b.jpg"), 2),
        ("李四", "meals", Decimal("1234.50"), ("c.pdf",), 4),
    ]


def test_claims_sheet_missing_column_is_named(tmp_path: Path) -> None:
    path = write_claims(tmp_path / "claims.xlsx", ["employee", "category", "files"], [["张三", "meals", "a.jpg"]])
    with pytest.raises(ClaimsSheetError) as info:
        read_claims(path)
    message = str(info.value)
    assert "claims.xlsx" in message and "missing the column(s) claimed_amount" in message
    assert "found columns: employee, category, files" in message


def test_claims_sheet_bad_amount_names_row(tmp_path: Path) -> None:
    path = write_claims(tmp_path / "c.xlsx", ["employee", "category", "amount", "files"], [["a", "m", "lots", "x.jpg"]])
    with pytest.raises(ClaimsSheetError, match=r"row 2, column claimed amount: 'lots' is not an amount"):
        read_claims(path)


def test_example_config_validates() -> None:
    import tomllib

    from backroom.bots.expenses.config import ExpensesParams

    table = tomllib.loads((Path(__file__).parents[2] / "config/examples/expenses.toml").read_text())["bots"]["expenses"]
    config = ExpensesConfig(**table["config"])
    assert config.limit_for("meals") == Decimal("300.00") and config.limit_for("gifts") == Decimal("5000.00")
    assert table["roots"]["inbox"] == "/srv/share/expenses/inbox"  # a root is config, never a run parameter
    assert ExpensesParams(**table["params"]).inbox == Path(".")
    assert table["schedule"] == "cron: 0 22 * * *" and table["calendar"] == "cn-workdays"


def test_workbook_corrections_round_trip(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from backroom.bots.expenses.workbook import read_corrections, write_workbook

    doc = fapiao()
    book = write_workbook(tmp_path / "a.xlsx", [doc], [], links={}, thumbnails={}, title="t")
    stored = {doc.sha256: doc.fields}
    assert read_corrections(book, stored.get) == []  # nothing edited, nothing corrected
    edited = load_workbook(book)
    sheet = edited["Documents"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("total") + 1, value="116.00")
    sheet.cell(row=2, column=header.index("reviewer verdict") + 1, value="reject")
    edited.save(book)
    (correction,) = read_corrections(book, stored.get)
    assert correction.fields == {"total": Decimal("116.00")} and correction.verdict == "fail"
    sheet.cell(row=2, column=header.index("date") + 1, value="some day")
    edited.save(book)
    with pytest.raises(ValueError, match=r"a\.xlsx: row 2, date: 'some day' is not a date"):
        read_corrections(book, stored.get)

"""Receipt and fapiao field rules on hand-placed OCR lines (no model needed): labels beside and
above values, the total among its look-alikes, QR-first cross-checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from backroom.ocr.chinese import amount_to_capitals
from backroom.ocr.engines import Line
from backroom.ocr.fapiao import extract_fapiao
from backroom.ocr.layout import below, group_rows, right_of
from backroom.ocr.qr import QRCode
from backroom.ocr.receipts import extract_receipt


def line(text: str, x: float, y: float, width: float | None = None, height: float = 24, conf: float = 0.98) -> Line:
    return Line(text, (x, y, x + (width or 14 * len(text)), y + height), conf)


def receipt_lines() -> list[Line]:
    return [
        line("A03018", 590, 10),
        line("KEDAI RUNCIT MAJU SDN BHD", 100, 60, height=34),
        line("(123456-X)", 220, 100),
        line("NO. 12, JALAN MERANTI 2A,", 120, 130),
        line("TAMAN MAJU, 43000 KAJANG", 120, 160),
        line("TEL: 03-8736 1234", 150, 190),
        line("TAX INVOICE", 200, 230),
        line("Date", 20, 270),
        line(": 09/03/2018 8:49:00 PM", 200, 270),
        line("MILO 1KG", 20, 320),
        line("18.50", 560, 321),
        line("SUGAR", 20, 350),
        line("3.20", 575, 351),
        line("Total Qty: 2", 20, 400),
        line("2.00", 575, 401),
        line("Sub Total", 20, 430),
        line("21.70", 560, 431),
        line("GST @6%", 20, 460),
        line("1.30", 575, 461),
        line("Rounding Adj", 20, 490),
        line("0.02", 575, 491),
        line("Total Incl. GST", 20, 520),
        line("RM", 400, 526),
        line("23.00", 560, 530),
        line("CASH", 20, 560),
        line("50.00", 560, 561),
        line("CHANGE", 20, 590),
        line("27.00", 560, 591),
    ]


def test_receipt_fields_from_layout() -> None:
    result = extract_receipt(receipt_lines())
    assert result.type == "receipt"
    assert result.value("company") == "KEDAI RUNCIT MAJU SDN BHD"
    assert result.value("address") == "NO. 12, JALAN MERANTI 2A, TAMAN MAJU, 43000 KAJANG"
    assert result.value("date") == dt.date(2018, 3, 9)
    assert result.value("time") == dt.time(20, 49)
    assert result.value("total") == Decimal("23.00")  # not SUB TOTAL, not TOTAL QTY, not the cash
    assert result.value("currency") == "MYR"
    assert result.value("payment_method") == "cash"
    assert result.fields["total"].box == (560, 530, 560 + 14 * 5, 554)
    items = result.value("items")
    assert {"description": "MILO 1KG", "amount": Decimal("18.50")} in items
    assert all(i["description"] not in ("Sub Total", "CASH") for i in items)


def test_total_confirmed_by_cash_and_change_without_a_total_label() -> None:
    lines = [
        line("LITTLE CAFE SDN BHD", 100, 20),
        line("SUBTOTAL", 20, 300),
        line("RM53.60", 500, 300),
        line("CASH", 20, 340),
        line("RM100.00", 500, 340),
        line("CHANGE", 20, 380),
        line("RM46.40", 500, 380),
        line("TAXABLE AMOUNT", 20, 420),
        line("RM50.57", 500, 420),
        line("18-03-2018", 20, 460),
    ]
    assert extract_receipt(lines).value("total") == Decimal("53.60")


def test_low_confidence_lines_give_low_confidence_fields() -> None:
    lines = [line("SHOP ENTERPRISE", 10, 10), line("TOTAL", 10, 100), line("12.30", 300, 100, conf=0.41)]
    result = extract_receipt(lines)
    assert result.value("total") == Decimal("12.30")
    assert result.confidence("total") < 0.5


def test_rows_and_neighbours() -> None:
    label, value, other = line("合计", 10, 100), line("¥12.00", 300, 104), line("名称", 10, 200)
    rows = group_rows([other, value, label])
    assert [r.text for r in rows] == ["合计 ¥12.00", "名称"]
    assert right_of(label, [label, value, other]) == [value]
    title = line("金额", 300, 60)
    assert below(title, [title, value, other]) == [value]


def fapiao_lines(total: Decimal, capitals_total: Decimal | None = None) -> list[Line]:
    capitals = amount_to_capitals(capitals_total if capitals_total is not None else total)
    return [
        line("电子发票（普通发票）", 580, 40, height=44),
        line("发票号码:", 1080, 40),
        line("24442000000123456789", 1230, 42),
        line("开票日期:", 1080, 85),
        line("2024年03月05日", 1230, 86),
        line("名称:", 117, 256),
        line("上海后屋科技有限公司", 309, 258),
        line("纳税人识别号:", 120, 295),
        line("91310115MA1H7GKX4X", 310, 296),
        line("*餐饮服务*餐费", 58, 460),
        line("6%", 1191, 462),
        line("合计", 193, 598),
        line("¥100.00", 996, 600),
        line("¥6.00", 1316, 601),
        line("价税合计（大写）", 57, 654),
        line(f"⊗{capitals}", 330, 656),
        line(f"(小写)¥{total}", 1104, 659),
        line("名称:", 115, 708),
        line("某某餐饮管理有限公司", 308, 711),
        line("纳税人识别号:91440300MA5F7EXE2W", 118, 746),
    ]


def test_fapiao_fields_from_layout_without_qr() -> None:
    result = extract_fapiao(fapiao_lines(Decimal("106.00")))
    assert result.value("type") == "电子发票（普通发票）"
    assert result.value("number") == "24442000000123456789"
    assert result.value("date") == dt.date(2024, 3, 5)
    assert result.value("buyer_name") == "上海后屋科技有限公司"
    assert result.value("buyer_tax_id") == "91310115MA1H7GKX4X"
    assert result.value("seller_name") == "某某餐饮管理有限公司"
    assert (result.value("amount"), result.value("tax"), result.value("total")) == (
        Decimal("100.00"),
        Decimal("6.00"),
        Decimal("106.00"),
    )
    assert result.value("total_capitals") == Decimal("106.00")
    assert result.value("tax_rate") == Decimal("0.06")
    assert any("no fapiao QR code" in p for p in result.problems)
    assert any("seller taxpayer ID" in p and "GB 32100" in p for p in result.problems)


def test_fapiao_qr_wins_and_disagreement_is_flagged() -> None:
    qr = QRCode("01,32,,24442000000123456789,150.00,20240305,,ABCD,", (50, 30, 230, 210))
    result = extract_fapiao(fapiao_lines(Decimal("106.00")), [qr])
    # a 数电票's QR code (kind 32, 20-digit number) states the total with tax, not the amount before it
    assert result.fields["total"].value == Decimal("150.00")
    assert result.fields["total"].source == "qr"
    assert result.fields["total"].confidence == 1.0
    assert result.fields["amount"].value == Decimal("100.00")
    assert any("QR code says total 150.00 but the invoice prints 106.00" in p for p in result.problems)


def test_fapiao_qr_of_a_tax_control_invoice_states_the_amount_before_tax() -> None:
    qr = QRCode("01,10,033002000211,83089647,150.00,20240305,16197833567414507415,0941,", (50, 30, 230, 210))
    result = extract_fapiao(fapiao_lines(Decimal("106.00")), [qr])
    assert result.fields["amount"].value == Decimal("150.00")
    assert any("QR code says amount 150.00 but the invoice prints 100.00" in p for p in result.problems)


def test_fapiao_capitals_and_arithmetic_checks() -> None:
    result = extract_fapiao(fapiao_lines(Decimal("107.00"), capitals_total=Decimal("170.00")))
    assert any("total 107.00 is not amount 100.00 + tax 6.00" in p for p in result.problems)
    assert any("大写" in p and "170.00" in p for p in result.problems)


def test_chinese_till_receipt() -> None:
    lines = [
        line("老王面馆", 100, 10, height=34),
        line("上海市徐汇区漕溪北路88号", 60, 50),
        line("电话: 021-6488 1234", 60, 80),
        line("日期:2024/03/05 12:01", 10, 120),
        line("应收:", 10, 200),
        line("¥87.50", 400, 200),
        line("实收:", 10, 240),
        line("¥100.00", 400, 240),
        line("找零:", 10, 280),
        line("¥12.50", 400, 280),
    ]
    result = extract_receipt(lines)
    assert result.value("company") == "老王面馆"
    assert result.value("address") == "上海市徐汇区漕溪北路88号"
    assert result.value("date") == dt.date(2024, 3, 5)
    assert result.value("total") == Decimal("87.50")  # 应收 is the total; 实收 is the cash handed over
    assert result.value("currency") == "CNY"


def test_registration_number_is_its_own_field() -> None:
    result = extract_receipt(receipt_lines())
    assert result.value("registration") == "123456-X"
    glued = [line("DION REALTIES SDN BHD (Co. No:20154-T)", 100, 20), *receipt_lines()[3:]]
    result = extract_receipt(glued)
    assert result.value("company") == "DION REALTIES SDN BHD"
    assert result.value("registration") == "20154-T"


def test_legal_suffix_ocr_confusions_are_normalised() -> None:
    for printed, expected in (
        ("SWC ENTERPRISE SDNBHD", "SWC ENTERPRISE SDN BHD"),
        ("SUBANG HEALTHCARE SIN BHD", "SUBANG HEALTHCARE SDN BHD"),
        ("99 SPEED MART S/8", "99 SPEED MART S/B"),
        ("KEDAI ABC S/0", "KEDAI ABC S/B"),
        ("FOO TRADING SDN. BHD", "FOO TRADING SDN. BHD"),  # printed punctuation is kept
    ):
        lines = [line(printed, 100, 20, height=34), *receipt_lines()[3:]]
        assert extract_receipt(lines).value("company") == expected, printed


def test_a_priced_line_is_never_the_merchant() -> None:
    lines = [line("010100 Pay parking ticket 5.00 RH", 10, 20), line("TOTAL", 10, 100), line("5.00", 300, 100)]
    assert extract_receipt(lines).value("company") is None


def test_total_under_the_subtotal_goes_to_review() -> None:
    # OCR lost the leading digit of 635.00: subtotal + tax say 635.00, so the 35.00 cannot be trusted
    lines = [
        line("HARDWARE SDN BHD", 100, 20),
        line("SUB TOTAL", 20, 300),
        line("599.06", 500, 300),
        line("SST 6%", 20, 340),
        line("35.94", 500, 340),
        line("TOTAL", 20, 380),
        line("35.00", 500, 380),
    ]
    result = extract_receipt(lines)
    assert result.value("total") == Decimal("35.00")
    assert result.confidence("total") <= 0.5


def test_total_consistent_with_subtotal_and_tax_wins() -> None:
    lines = [
        line("CAFE SDN BHD", 100, 20),
        line("SUB TOTAL", 20, 300),
        line("100.00", 500, 300),
        line("GST 6%", 20, 340),
        line("6.00", 500, 340),
        line("TOTAL", 20, 380),
        line("106.00", 500, 380),
        line("AMOUNT", 20, 420),
        line("160.00", 500, 420),
    ]
    result = extract_receipt(lines)
    assert result.value("total") == Decimal("106.00")


def test_address_ends_with_its_country_and_glued_words_are_split() -> None:
    lines = [
        line("POPULAR BOOK CO. (M) SDN BHD", 100, 20, height=34),
        line("LOT 276JALAN BANTING,", 100, 60),
        line("56000 KUALA LUMPUR, MALAYSIA", 100, 90),
        line("IOI MALL", 100, 120),
        line("TEL: 03-8070 9188", 100, 150),
    ]
    assert extract_receipt(lines).value("address") == "LOT 276 JALAN BANTING, 56000 KUALA LUMPUR, MALAYSIA"


def _header_lines(company: str, *address: str) -> list[Line]:
    rows = [line(company, 100, 20, height=34)]
    rows += [line(text, 100, 60 + 30 * i) for i, text in enumerate(address)]
    rows.append(line("TEL: 03-8070 9188", 100, 60 + 30 * len(address)))
    return rows


def test_a_legal_suffix_glued_to_the_name_gets_its_space() -> None:
    lines = _header_lines("EDEN IMPRESSIONSDN BHD", "NO 1, JALAN DUTAMAS, 50480 KUALA LUMPUR")
    assert extract_receipt(lines).value("company") == "EDEN IMPRESSION SDN BHD"
    assert extract_receipt(lines, rules=frozenset()).value("company") == "EDEN IMPRESSIONSDN BHD"


def test_a_full_stop_between_address_parts_is_the_comma_ocr_misread() -> None:
    lines = _header_lines("KEDAI MAJU", "NO. 19, JALAN KANCIL, OFF JALAN PUDU. 55100 KUALA LUMPUR.")
    # "NO." and the final full stop are the receipt's own; the one before the postcode was a comma
    assert extract_receipt(lines).value("address") == "NO. 19, JALAN KANCIL, OFF JALAN PUDU, 55100 KUALA LUMPUR."
    assert extract_receipt(lines, rules=frozenset()).value("address").endswith("PUDU. 55100 KUALA LUMPUR.")


def test_the_address_begins_at_its_number_not_at_the_branch_name_above() -> None:
    lines = _header_lines("MYNEWS RETAIL SDN BHD", "PUSAT DAGANGAN PHILEO", "UNIT 105, BLOCK A, 46350 PETALING JAYA")
    assert extract_receipt(lines).value("address") == "UNIT 105, BLOCK A, 46350 PETALING JAYA"
    assert extract_receipt(lines, rules=frozenset()).value("address").startswith("PUSAT DAGANGAN PHILEO UNIT 105")


def test_address_words_rule_undoes_one_misread_letter_when_switched_on() -> None:
    lines = _header_lines("KEDAI MAJU", "12, Jalan Tampoi 7/4, Kawassn Perindustrian, 81200 Johor Bahru, SE1ANGOR")
    rules = frozenset({"address_words"})
    assert extract_receipt(lines, rules=rules).value("address") == (
        "12, Jalan Tampoi 7/4, Kawasan Perindustrian, 81200 Johor Bahru, SELANGOR"
    )
    assert "Kawassn" in extract_receipt(lines).value("address")  # off by default: cross-validation rejected it
    ambiguous = _header_lines("KEDAI MAJU", "NO 15 JALAN BANDAR KAWANG 10, 48000 SELANGOR")
    assert "KAWANG" in extract_receipt(ambiguous, rules=rules).value("address")  # RAWANG or KAJANG: left alone


def test_a_name_read_without_spaces_is_split_around_its_trade_words() -> None:
    lines = _header_lines("SANYUSTATIONERYSHOP", "NO. 31G, JALAN SETIA INDAH, 40170 SHAH ALAM")
    assert extract_receipt(lines).value("company") == "SANYU STATIONERY SHOP"
    assert extract_receipt(lines, rules=frozenset()).value("company") == "SANYUSTATIONERYSHOP"


def test_a_name_printed_on_two_lines_is_joined_but_not_a_trading_name_above_its_owner() -> None:
    two_lines = [
        line("RESTAURANT JIAWEI", 120, 20, height=34),
        line("JIAWEI HOUSE", 150, 56, height=34),
        line("002693074-K", 160, 92),
        line("13, JLN TASIK UTAMA 8, 57000 KUALA LUMPUR", 60, 120),
    ]
    assert extract_receipt(two_lines).value("company") == "RESTAURANT JIAWEI JIAWEI HOUSE"
    assert extract_receipt(two_lines, rules=frozenset()).value("company") == "JIAWEI HOUSE"
    owner = [
        line("AA PHARMACY", 150, 20, height=34),
        line("SUBANG HEALTHCARE SDN BHD", 100, 56, height=34),
        line("(1234567-X)", 160, 92),
        line("NO. 1, JALAN SS15/4B, 47500 SUBANG JAYA", 60, 120),
    ]
    assert extract_receipt(owner).value("company") == "SUBANG HEALTHCARE SDN BHD"  # whole with its suffix

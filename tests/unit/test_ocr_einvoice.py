"""数电票 and e-invoices read from XML, OFD and PDF text layers: same fields, cross-checks, safety.

Generated invoices (``backroom.sandbox.documents.einvoice``) cover each format from the published
layouts; the real public samples in ``../shared/data/einvoices`` are read when present and every
ground-truth field is compared.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.ocr.documents import merge_glyphs
from backroom.ocr.einvoice import build, compare, duplicate_key, parse_date, parse_money, parse_rate
from backroom.ocr.engines import Line
from backroom.ocr.fields import jsonable
from backroom.ocr.pipeline import read_document
from backroom.sandbox.documents.einvoice import (
    invoice_ofd,
    invoice_xml,
    sample_invoice,
    write_invoice_ofd,
    write_invoice_xml,
)
from tests.conftest import SHARED_DATA

NO_ENGINE = object()  # structured files never reach OCR: any engine use would fail loudly


def fields_of(path: Path) -> dict[str, object]:
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.error is None, result.error
    assert result.extraction is not None
    return {name: jsonable(f.value) for name, f in result.extraction.fields.items()}


def test_the_same_invoice_as_xml_and_ofd_gives_the_same_fields(tmp_path: Path) -> None:
    spec = sample_invoice()
    xml = fields_of(write_invoice_xml(tmp_path / "inv.xml", spec))
    ofd = fields_of(write_invoice_ofd(tmp_path / "inv.ofd", spec))
    assert xml == ofd
    assert list(xml) == list(ofd)  # printed in the same order too
    assert xml["number"] == "24312000000123456789"
    assert xml["kind"] == "31" and xml["type"] == "电子发票（增值税专用发票）"
    assert (xml["amount"], xml["tax"], xml["total"], xml["total_capitals"]) == (
        "1200.00",
        "72.00",
        "1272.00",
        "1272.00",
    )
    assert xml["buyer_tax_id"] == "91310115MA1H7GKX4X"
    assert [i["unit"] for i in xml["items"]] == ["次", "箱"]  # type: ignore[index]
    result = read_document(tmp_path / "inv.ofd", NO_ENGINE)  # type: ignore[arg-type]
    assert result.extraction is not None and result.extraction.problems == []
    assert result.pages == 1


def test_an_ordinary_invoice_is_kind_32(tmp_path: Path) -> None:
    fields = fields_of(write_invoice_xml(tmp_path / "p.xml", sample_invoice(special=False)))
    assert fields["kind"] == "32" and fields["type"] == "电子发票（普通发票）"


def test_inconsistent_xml_is_flagged_not_fixed(tmp_path: Path) -> None:
    path = write_invoice_xml(tmp_path / "bad.xml", sample_invoice(), total=Decimal("1227.00"))
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.extraction is not None
    assert result.extraction.value("total") == Decimal("1227.00")
    assert "total 1227.00 is not amount 1200.00 + tax 72.00" in result.extraction.problems


def test_ofd_printing_another_total_than_its_figures_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "bad.ofd"
    path.write_bytes(invoice_ofd(sample_invoice(), printed_total=Decimal("1872.00")))
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.extraction is not None
    assert "total 1872.00 is not amount 1200.00 + tax 72.00" in result.extraction.problems


def test_ofd_metadata_disagreeing_with_the_print_is_flagged(tmp_path: Path) -> None:
    original = invoice_ofd(sample_invoice())
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "OFD.xml":
                data = data.replace(b">1200.00<", b">1900.00<")
            dst.writestr(info, data)
    path = tmp_path / "meta.ofd"
    path.write_bytes(buffer.getvalue())
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.extraction is not None
    assert result.extraction.value("amount") == Decimal("1200.00")  # the print is the invoice
    assert "the OFD metadata says amount 1900.00 but the invoice prints 1200.00" in result.extraction.problems


def test_item_checks() -> None:
    items = [
        {"name": "a", "amount": "100.00", "tax_rate": "6%", "tax": "6.00"},
        {"name": "b", "amount": "50.00", "tax_rate": "6%", "tax": "9.00"},
    ]
    result = build({"amount": "160.00", "tax": "15.00", "total": "175.00"}, source="xml", items=items)
    assert "the items add up to 150.00 but the amount is 160.00" in result.problems
    assert any(p.startswith("item 2 (b): tax 9.00 is not 6% of 50.00") for p in result.problems)
    assert not any("item 1" in p for p in result.problems)


def test_bad_credit_code_and_capitals_are_flagged() -> None:
    result = build(
        {"seller_tax_id": "91440300MA5F7EXE2W", "total": "106.00", "total_capitals": "壹佰零柒圆整"}, source="xml"
    )
    assert "seller taxpayer ID '91440300MA5F7EXE2W' fails the GB 32100 check character" in result.problems
    assert "total in capitals (大写) 107.00 disagrees with the figures 106.00" in result.problems


def test_compare_fills_gaps_and_reports_differences() -> None:
    printed = build({"number": "12345678", "amount": "10.00"}, source="ofd")
    embedded = build({"number": "12345678", "amount": "11.00", "code": "033002000211"}, source="ofd-xml")
    compare(printed, embedded, "the embedded invoice XML")
    assert printed.value("code") == "033002000211"
    assert printed.value("amount") == Decimal("10.00")
    assert printed.problems == ["the embedded invoice XML says amount 11.00 but the invoice prints 10.00"]


def test_parsers() -> None:
    assert parse_money("¥4,197.17") == Decimal("4197.17")
    assert parse_money("abc") is None and parse_money("") is None
    assert parse_rate("3%") == Decimal("0.03") and parse_rate("0.06") == Decimal("0.06")
    assert parse_rate("1.5%") == Decimal("0.015")
    assert parse_rate("免税") == Decimal("0.00") and parse_rate("***") is None
    assert parse_date("2024年05月28日") == dt.date(2024, 5, 28)
    assert parse_date("2024-05-28 10:00:00") == dt.date(2024, 5, 28)
    assert parse_date("20240528") == dt.date(2024, 5, 28)
    assert parse_date("2024年13月01日") is None


def test_duplicate_key_is_the_same_across_formats() -> None:
    assert duplicate_key({"number": "24312000000123456789"}) == ":24312000000123456789"
    # a 数电票 has no code: one that OCR invented must not split the invoice in two
    assert duplicate_key({"number": ("24312000000123456789", 1.0, "ocr"), "code": ("1", 1.0, "ocr")}) == (
        ":24312000000123456789"
    )
    assert duplicate_key({"number": "83089647", "code": "033002000211"}) == "033002000211:83089647"
    assert duplicate_key({"code": "033002000211"}) is None


def test_hostile_and_wrong_files_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><EInvoice>&x;</EInvoice>')
    other = tmp_path / "other.xml"
    other.write_text("<rss><channel/></rss>")
    broken = tmp_path / "broken.xml"
    broken.write_text("<EInvoice><unclosed></EInvoice>")
    not_ofd = tmp_path / "fake.ofd"
    with zipfile.ZipFile(not_ofd, "w") as archive:
        archive.writestr("hello.txt", "hi")
    empty = tmp_path / "empty.ofd"
    empty.write_bytes(b"")
    expected = {
        bomb: ("corrupt", "DOCTYPE"),
        other: ("unknown_type", "<rss>"),
        broken: ("corrupt", "not well-formed"),
        not_ofd: ("corrupt", "OFD.xml"),
        empty: ("empty", "empty"),
    }
    for path, (kind, words) in expected.items():
        result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
        assert result.extraction is None, path
        assert result.error_kind == kind, (path, result.error)
        assert words in (result.error or ""), (path, result.error)


def test_glyph_level_text_layers_become_words() -> None:
    glyphs = [Line(ch, (100 + 20 * i, 10, 118 + 20 * i, 30), 1.0) for i, ch in enumerate("发票号码：00008006")]
    glyphs += [Line("6", (100 + 20 * 12 + 1, 10, 118 + 20 * 12 + 1, 30), 1.0)]  # the 6 drawn twice (bold)
    glyphs += [Line(ch, (700 + 20 * i, 10, 718 + 20 * i, 30), 1.0) for i, ch in enumerate("校验码")]
    glyphs += [Line(ch, (100 + 20 * i, 60, 118 + 20 * i, 80), 1.0) for i, ch in enumerate("名称")]
    glyphs += [Line(ch, (400 + 20 * i, 60, 418 + 20 * i, 80), 1.0) for i, ch in enumerate("开票日期：2022年05月05日")]
    merged = merge_glyphs(list(reversed(glyphs)))
    assert sorted(ln.text for ln in merged) == sorted(
        ["发票号码：00008006", "校验码", "名称", "开票日期：2022年05月05日"]
    )
    words = [Line("发票号码：", (0, 0, 50, 20), 1.0)] * 25
    assert merge_glyphs(words) == words  # a layer of words is left alone


# -- the real public samples -------------------------------------------------------------------
EINVOICES = SHARED_DATA / "einvoices"
TRUTH = {
    "ofd/ofd_01.ofd": (
        "",
        "24112000000048542163",
        "2024-05-28",
        "北京互联三六五科技有限公司",
        "91110108690017781B",
        "海南麒麟云服科技有限公司",
        "91460300MAA92DJN95",
        "4197.17",
        "251.83",
        "4449.00",
    ),
    "ofd/ofd_03.ofd": (
        "033002000211",
        "83089647",
        "2020-07-23",
        "兰溪市悦济舫餐厅",
        "92330781MA2EDMFU50",
        "江苏京利华新材料有限公司",
        "91320115MA202UKD7X",
        "510.68",
        "15.32",
        "526.00",
    ),
    "ofd/ofd_05.ofd": (
        "050001700111",
        "12235358",
        "2020-08-05",
        "财天下科技有限公司",
        "91500102563638729E",
        "个人",
        None,
        "10000.00",
        "600.00",
        "10600.00",
    ),
    "ofd/ofd_07.ofd": (
        "052002100113",
        "00008006",
        "2022-05-05",
        "独山县城南网格刘梦阳通讯店",
        "92522726MA7GNHJ07M",
        "中国移动通信集团贵州有限公司黔南分公司",
        "91522701709696623X",
        "24519.05",
        "735.57",
        "25254.62",
    ),
    "pdf/pdf_01.pdf": (
        "",
        "25322000000337005189",
        "2025-07-22",
        "梁溪苏翼智能产品中心",
        "92320213MACRYAKN16",
        "无锡天鹏菜篮子工程有限公司",
        "91320200796148368W",
        "8562.72",
        "256.88",
        "8819.60",
    ),
    "pdf/pdf_04.pdf": (
        "052002100113",
        "00008006",
        "2022-05-05",
        "独山县城南网格刘梦阳通讯店",
        "92522726MA7GNHJ07M",
        "中国移动通信集团贵州有限公司黔南分公司",
        "91522701709696623X",
        "24519.05",
        "735.57",
        "25254.62",
    ),
}
NAMES = (
    "code",
    "number",
    "date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_real_einvoice_fields(name: str) -> None:
    path = EINVOICES / name
    if not path.is_file():
        pytest.skip(f"shared e-invoices not found at {EINVOICES} (they live in ../shared/data/einvoices)")
    fields = fields_of(path)
    got = tuple(fields.get(k, "" if k == "code" else None) for k in NAMES)
    assert got == TRUTH[name]
    assert fields["total_capitals"] == fields["total"]
    assert fields["items"], "the goods rows are read"


def test_real_ofd_and_its_pdf_rendering_are_one_invoice() -> None:
    ofd, pdf = EINVOICES / "ofd/ofd_07.ofd", EINVOICES / "pdf/pdf_04.pdf"
    if not (ofd.is_file() and pdf.is_file()):
        pytest.skip(f"shared e-invoices not found at {EINVOICES}")
    a, b = fields_of(ofd), fields_of(pdf)
    assert duplicate_key(a) == duplicate_key(b) == "052002100113:00008006"
    assert a["kind"] == b["kind"] == "08"


def test_real_pdf_and_the_same_invoice_as_xml_and_ofd_print_the_same_fields(tmp_path: Path) -> None:
    """The platform's PDF of a 数电票 (pdf_01) beside its XML and OFD, generated from what it prints."""
    pdf = EINVOICES / "pdf/pdf_01.pdf"
    if not pdf.is_file():
        pytest.skip(f"shared e-invoices not found at {EINVOICES}")
    items = [
        {"name": "*公共安全设备*JTY-GDG3X点型光电感烟火灾探测器", "spec": "10106650", "unit": "PCS",
         "quantity": "200", "price": "33.3495145631068", "amount": "6669.90", "rate": "0.03"},
        {"name": "*公共安全设备*JTW-ZCDG3N点型感温火灾探测器", "spec": "10104658", "unit": "PCS",
         "quantity": "40", "price": "31.5436893203884", "amount": "1261.75", "rate": "0.03"},
        {"name": "*公共安全设备*DZ-02通用底座", "spec": "30208316", "unit": "PCS",
         "quantity": "200", "price": "3.1553398058252", "amount": "631.07", "rate": "0.03"},
    ]  # fmt: skip
    spec = sample_invoice(
        number="25322000000337005189",
        date=dt.date(2025, 7, 22),
        buyer_name="无锡天鹏菜篮子工程有限公司",
        buyer_tax_id="91320200796148368W",
        seller_name="梁溪苏翼智能产品中心",
        seller_tax_id="92320213MACRYAKN16",
        items=items,
        remarks="",
    )
    from_pdf = read_document(pdf, NO_ENGINE)  # type: ignore[arg-type]  # a text layer: no OCR
    assert from_pdf.extraction is not None and from_pdf.extraction.problems == []
    as_pdf = {name: jsonable(f.value) for name, f in from_pdf.extraction.fields.items()}
    as_xml = fields_of(write_invoice_xml(tmp_path / "same.xml", spec))
    as_ofd = fields_of(write_invoice_ofd(tmp_path / "same.ofd", spec))
    assert as_pdf == as_xml == as_ofd
    assert list(as_pdf) == list(as_xml) == list(as_ofd)


def test_ofd_size_caps_refuse_before_inflating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backroom.ocr import ofd

    path = write_invoice_ofd(tmp_path / "inv.ofd", sample_invoice())
    monkeypatch.setattr(ofd, "MAX_INFLATED", 1_000)
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.error_kind == "too_large" and "inflates to" in (result.error or "")
    monkeypatch.setattr(ofd, "MAX_INFLATED", 64_000_000)
    monkeypatch.setattr(ofd, "MAX_ENTRIES", 3)
    result = read_document(path, NO_ENGINE)  # type: ignore[arg-type]
    assert result.error_kind == "too_large" and "parts" in (result.error or "")


def test_ofd_without_tags_or_metadata_is_read_from_its_page_text(tmp_path: Path) -> None:
    """Not every issuer tags its OFD: the text objects laid out as lines go through the layout rules."""
    source = zipfile.ZipFile(io.BytesIO(invoice_ofd(sample_invoice())))
    path = tmp_path / "untagged.ofd"
    with zipfile.ZipFile(path, "w") as archive:
        for info in source.infolist():
            if "/Tags/" in info.filename:
                continue
            data = source.read(info)
            if info.filename == "OFD.xml":
                data = data[: data.index(b"<ofd:CustomDatas>")] + data[data.index(b"</ofd:CustomDatas>") + 18 :]
            archive.writestr(info, data)
    untagged = fields_of(path)
    tagged = fields_of(write_invoice_ofd(tmp_path / "tagged.ofd", sample_invoice()))
    tagged.pop("remarks")  # 备注 is only known from its tag
    assert untagged == tagged


def test_rapid_engine_refuses_a_model_file_that_is_not_there(tmp_path: Path) -> None:
    from backroom.ocr.engines import RapidEngine
    from backroom.ocr.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable, match=r"Det\.model_path .*is not a file"):
        RapidEngine(det_model_path=str(tmp_path / "missing.onnx"))


def test_a_railway_e_ticket_keeps_its_own_name(tmp_path: Path) -> None:
    data = invoice_xml(sample_invoice(special=False)).replace(
        "<EInvoiceType><LabelCode>02</LabelCode><LabelName>普通发票</LabelName>".encode(),
        "<EInvoiceType><LabelCode>51</LabelCode><LabelName>铁路电子客票</LabelName>".encode(),
    )
    path = tmp_path / "ticket.xml"
    path.write_bytes(data)
    fields = fields_of(path)
    assert fields["type"] == "电子发票（铁路电子客票）"
    assert fields["kind"] == "32" and fields["total"] == "1272.00"

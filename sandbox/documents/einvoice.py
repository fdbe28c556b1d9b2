"""Generated 数电票 as the tax platform delivers them: the XML file and the OFD, from one invoice.

The XML follows the platform's ``EInvoice`` schema (``EInvoiceData`` / ``TaxSupervisionInfo``);
the OFD follows GB/T 33190 as issuers write invoices: ``OFD.xml`` with metadata, a template page of
labels, a content page of text objects placed where the 数电票 layout prints them (millimetres on
a 210×140 page), and ``Tags/CustomTag.xml`` naming the objects that print each field. Tests read
both with ``backroom ocr`` and expect the same fields; the bot must count them as one invoice.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from backroom.ocr.chinese import amount_to_capitals

__all__ = ["InvoiceSpec", "sample_invoice", "write_invoice_ofd", "write_invoice_xml"]

CENT = Decimal("0.01")


@dataclass
class InvoiceSpec:
    """One 数电票; amounts are computed from the items."""

    number: str
    date: dt.date
    buyer_name: str
    buyer_tax_id: str
    seller_name: str
    seller_tax_id: str
    items: list[dict[str, object]] = field(default_factory=list)  # name, spec, unit, quantity, price, amount, rate
    special: bool = True  # 专票 (kind 31) or 普票 (32)
    remarks: str = ""

    @property
    def amount(self) -> Decimal:
        return sum((Decimal(str(i["amount"])) for i in self.items), Decimal("0.00"))

    def item_tax(self, item: dict[str, object]) -> Decimal:
        return (Decimal(str(item["amount"])) * Decimal(str(item["rate"]))).quantize(CENT)

    @property
    def tax(self) -> Decimal:
        return sum((self.item_tax(i) for i in self.items), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax

    @property
    def title(self) -> str:
        return "电子发票（增值税专用发票）" if self.special else "电子发票（普通发票）"


def sample_invoice(**changes: object) -> InvoiceSpec:
    """A plausible 数电票 with valid credit codes (tests change what they need)."""
    spec = InvoiceSpec(
        number="24312000000123456789",
        date=dt.date(2024, 5, 28),
        buyer_name="上海后屋科技有限公司",
        buyer_tax_id="91310115MA1H7GKX4X",
        seller_name="北京某某信息技术有限公司",
        seller_tax_id="91440300MA5F7EXE2U",
        items=[
            {
                "name": "*信息技术服务*技术服务费",
                "spec": "",
                "unit": "次",
                "quantity": "1",
                "price": "1000.00",
                "amount": "1000.00",
                "rate": "0.06",
            },
            {
                "name": "*办公用品*打印纸",
                "spec": "A4",
                "unit": "箱",
                "quantity": "2",
                "price": "100.00",
                "amount": "200.00",
                "rate": "0.06",
            },
        ],
        remarks="项目编号 2024-05",
    )
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


def _rate_text(rate: object) -> str:
    return f"{Decimal(str(rate)) * 100:.0f}%"


def invoice_xml(spec: InvoiceSpec, *, total: Decimal | None = None) -> bytes:
    """The platform's XML; ``total`` overrides the stated 价税合计 (to test the cross-checks)."""
    stated = spec.total if total is None else total
    items = "".join(
        "<IssuItemInformation>"
        f"<ItemName>{escape(str(i['name']))}</ItemName><SpecMod>{escape(str(i.get('spec', '')))}</SpecMod>"
        f"<MeaUnits>{escape(str(i.get('unit', '')))}</MeaUnits><Quantity>{i['quantity']}</Quantity>"
        f"<UnPrice>{i['price']}</UnPrice><Amount>{i['amount']}</Amount><TaxRate>{i['rate']}</TaxRate>"
        f"<ComTaxAm>{spec.item_tax(i)}</ComTaxAm>"
        f"<TotaltaxIncludedAmount>{Decimal(str(i['amount'])) + spec.item_tax(i)}</TotaltaxIncludedAmount>"
        "</IssuItemInformation>"
        for i in spec.items
    )
    kind = "01" if spec.special else "02"
    label = "增值税专用发票" if spec.special else "普通发票"
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><Header><EIid>'
        f"{spec.number}</EIid><EInvoiceTag>SWEI3100</EInvoiceTag><Version>0.1</Version><InherentLabel>"
        f"<EInvoiceType><LabelCode>{kind}</LabelCode><LabelName>{label}</LabelName></EInvoiceType>"
        f"<GeneralOrSpecialVAT><LabelCode>{kind}</LabelCode><LabelName>{label}</LabelName></GeneralOrSpecialVAT>"
        "</InherentLabel></Header><EInvoiceData>"
        f"<SellerInformation><SellerIdNum>{spec.seller_tax_id}</SellerIdNum>"
        f"<SellerName>{escape(spec.seller_name)}</SellerName></SellerInformation>"
        f"<BuyerInformation><BuyerIdNum>{spec.buyer_tax_id}</BuyerIdNum>"
        f"<BuyerName>{escape(spec.buyer_name)}</BuyerName></BuyerInformation>"
        f"<BasicInformation><TotalAmWithoutTax>{spec.amount}</TotalAmWithoutTax><TotalTaxAm>{spec.tax}</TotalTaxAm>"
        f"<TotalTax-includedAmount>{stated}</TotalTax-includedAmount>"
        f"<TotalTax-includedAmountInChinese>{amount_to_capitals(stated)}</TotalTax-includedAmountInChinese>"
        f"<Drawer>王五</Drawer><RequestTime>{spec.date:%Y-%m-%d} 10:00:00</RequestTime></BasicInformation>"
        f"{items}<AdditionalInformation><Remark>{escape(spec.remarks)}</Remark></AdditionalInformation>"
        f"</EInvoiceData><TaxSupervisionInfo><InvoiceNumber>{spec.number}</InvoiceNumber>"
        f"<IssueTime>{spec.date:%Y-%m-%d} 10:00:00</IssueTime><TaxBureauCode>13100000000</TaxBureauCode>"
        "</TaxSupervisionInfo></EInvoice>"
    )
    return text.encode("utf-8")


def write_invoice_xml(path: Path, spec: InvoiceSpec, **kwargs: object) -> Path:
    path.write_bytes(invoice_xml(spec, **kwargs))  # type: ignore[arg-type]
    return path


_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _text_object(obj_id: int, x: float, y: float, text: str, *, width: float = 60, size: float = 3.175) -> str:
    return (
        f'<ofd:TextObject ID="{obj_id}" Boundary="{x} {y} {width} 5" Font="1" Size="{size}">'
        f'<ofd:TextCode X="0" Y="3.6">{escape(text)}</ofd:TextCode></ofd:TextObject>'
    )


def invoice_ofd(spec: InvoiceSpec, *, printed_total: Decimal | None = None) -> bytes:
    """The OFD; ``printed_total`` prints a different 价税合计 than the metadata states."""
    total = spec.total if printed_total is None else printed_total
    objects: list[str] = []
    tags: dict[str, list[int]] = {}
    next_id = 100

    def put(x: float, y: float, text: str, tag: str | None = None, **kwargs: float) -> None:
        nonlocal next_id
        next_id += 1
        objects.append(_text_object(next_id, x, y, text, **kwargs))
        if tag:
            tags.setdefault(tag, []).append(next_id)

    put(170, 10.3, spec.number, "InvoiceNo", width=38)
    put(170, 16.4, f"{spec.date:%Y年%m月%d日}", "IssueDate", width=38)
    put(20, 33.8, spec.buyer_name, "BuyerName", width=84)
    put(54, 43.3, spec.buyer_tax_id, "BuyerTaxID", width=58)
    put(120, 33.8, spec.seller_name, "SellerName", width=84)
    put(154.5, 43.3, spec.seller_tax_id, "SellerTaxID", width=58)
    for row, item in enumerate(spec.items):
        y = 60 + row * 6
        put(3, y, str(item["name"]), "Item", width=45)
        put(50, y, str(item.get("spec", "")), width=20)
        put(72, y, str(item.get("unit", "")), width=10)
        put(85, y, str(item["quantity"]), "Quantity", width=15)
        put(102, y, str(item["price"]), "Price", width=20)
        put(127, y, str(item["amount"]), "Amount", width=20)
        put(150, y, _rate_text(item["rate"]), "TaxScheme", width=12)
        put(180, y, str(spec.item_tax(item)), "TaxAmount", width=20)
    put(127.5, 90.5, f"¥{spec.amount}", "TaxExclusiveTotalAmount", width=26)
    put(179.5, 90.5, f"¥{spec.tax}", "TaxTotalAmount", width=26)
    put(62.9, 97, amount_to_capitals(total), width=80)
    put(150, 97, f"¥{total}", "TaxInclusiveTotalAmount", width=40)
    put(20, 105, spec.remarks, "Note", width=100)

    labels = [
        (60, 4, spec.title),
        (150, 10.3, "发票号码："),
        (150, 16.4, "开票日期："),
        (8, 33.8, "名称："),
        (108, 33.8, "名称："),
        (8, 43.3, "统一社会信用代码/纳税人识别号："),
        (108, 43.3, "统一社会信用代码/纳税人识别号："),
        (10, 90.5, "合计"),
        (8, 97, "价税合计（大写）"),
        (135, 97, "（小写）"),
    ]
    template = "".join(
        _text_object(10 + i, x, y, text, width=round(len(text) * 2.6, 1)) for i, (x, y, text) in enumerate(labels)
    )
    custom_tags = "".join(
        f"<ofd:{tag}>" + "".join(f'<ofd:ObjectRef PageRef="1">{i}</ofd:ObjectRef>' for i in ids) + f"</ofd:{tag}>"
        for tag, ids in tags.items()
    )
    parts = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {_NS} DocType="OFD" Version="1.0"><ofd:DocBody>'
            "<ofd:DocInfo><ofd:DocID>0</ofd:DocID><ofd:CustomDatas>"
            f'<ofd:CustomData Name="发票号码">{spec.number}</ofd:CustomData>'
            f'<ofd:CustomData Name="开票日期">{spec.date:%Y年%m月%d日}</ofd:CustomData>'
            f'<ofd:CustomData Name="合计金额">{spec.amount}</ofd:CustomData>'
            f'<ofd:CustomData Name="合计税额">{spec.tax}</ofd:CustomData>'
            f'<ofd:CustomData Name="销售方纳税人识别号">{spec.seller_tax_id}</ofd:CustomData>'
            f'<ofd:CustomData Name="购买方纳税人识别号">{spec.buyer_tax_id}</ofd:CustomData>'
            "</ofd:CustomDatas></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {_NS}><ofd:CommonData>'
            "<ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>"
            '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
            '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
            "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>"
        ),
        "Doc_0/Tpls/Tpl_0/Content.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {_NS}><ofd:Content><ofd:Layer ID="3">'
            f"{template}</ofd:Layer></ofd:Content></ofd:Page>"
        ),
        "Doc_0/Pages/Page_0/Content.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {_NS}><ofd:Template TemplateID="2"/>'
            f'<ofd:Content><ofd:Layer ID="4">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
        ),
        "Doc_0/Tags/CustomTags.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {_NS}><ofd:CustomTag TypeID="root">'
            "<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"
        ),
        "Doc_0/Tags/CustomTag.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:root {_NS} version="1.0">{custom_tags}</ofd:root>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def write_invoice_ofd(path: Path, spec: InvoiceSpec, **kwargs: object) -> Path:
    path.write_bytes(invoice_ofd(spec, **kwargs))  # type: ignore[arg-type]
    return path

"""XML invoice files: the 数电票 ``EInvoice`` schema and the 税控-era ``eInvoice`` (``fp:`` namespace).

The tax platform delivers every 数电票 also as XML (``<EInvoice>`` with ``EInvoiceData`` and
``TaxSupervisionInfo``); 税控-era e-invoices carry the same facts as ``original_invoice.xml``
inside their OFD. Both name every field, so reading them is a lookup, not a guess. Elements are
matched by local name (namespaces and prefixes vary between issuers, and some files declare an
empty one), the first occurrence wins, and a missing element is a missing field.

Parsing is defensive: a DOCTYPE (entity expansion, external entities) is refused before lxml
sees the text, lxml resolves no entities and fetches nothing, and the file size is capped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backroom.ocr.einvoice import build
from backroom.ocr.errors import DocumentError
from backroom.ocr.fields import Extraction

__all__ = ["MAX_XML_BYTES", "is_invoice_xml", "parse_xml", "read_xml_invoice", "xml_extraction"]

#: An invoice XML is a few kilobytes; a 10,000-item one is still under 8 MB.
MAX_XML_BYTES = 8_000_000

# 数电票: EInvoice (the platform's schema names)
_SDP = {
    "number": ("TaxSupervisionInfo/InvoiceNumber", "Header/EIid"),
    "date": ("TaxSupervisionInfo/IssueTime", "BasicInformation/RequestTime"),
    "seller_name": ("SellerInformation/SellerName",),
    "seller_tax_id": ("SellerInformation/SellerIdNum",),
    "buyer_name": ("BuyerInformation/BuyerName",),
    "buyer_tax_id": ("BuyerInformation/BuyerIdNum",),
    "amount": ("BasicInformation/TotalAmWithoutTax",),
    "tax": ("BasicInformation/TotalTaxAm",),
    "total": ("BasicInformation/TotalTax-includedAmount",),
    "total_capitals": ("BasicInformation/TotalTax-includedAmountInChinese",),
    "remarks": ("AdditionalInformation/Remark",),
}
_SDP_ITEM = {
    "name": "ItemName", "spec": "SpecMod", "unit": "MeaUnits", "quantity": "Quantity", "price": "UnPrice",
    "amount": "Amount", "tax_rate": "TaxRate", "tax": "ComTaxAm",
}  # fmt: skip
# 税控-era e-invoice (fp: namespace, also the OFD attachment original_invoice.xml)
_FP = {
    "code": ("InvoiceCode",),
    "number": ("InvoiceNo",),
    "date": ("IssueDate",),
    "check_code": ("InvoiceCheckCode",),
    "seller_name": ("Seller/SellerName",),
    "seller_tax_id": ("Seller/SellerTaxID",),
    "buyer_name": ("Buyer/BuyerName",),
    "buyer_tax_id": ("Buyer/BuyerTaxID",),
    "amount": ("TaxExclusiveTotalAmount",),
    "tax": ("TaxTotalAmount",),
    "total": ("TaxInclusiveTotalAmount",),
    "remarks": ("Note",),
    "qr": ("GraphCode",),
}
_FP_ITEM = {
    "name": "Item", "spec": "Specification", "unit": "MeasurementDimension", "quantity": "Quantity",
    "price": "Price", "amount": "Amount", "tax_rate": "TaxScheme", "tax": "TaxAmount",
}  # fmt: skip
# the 数电票 kinds by the label the XML carries (GeneralOrSpecialVAT 01 专票, 02 普票)
_SDP_KINDS = {"01": "31", "02": "32"}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def parse_xml(data: bytes, origin: Path | str, *, recover: bool = False) -> Any:
    """The root element of ``data``, parsed without entities, DTDs or network; errors name ``origin``.

    ``recover`` reads past syntax slips some issuers make in auxiliary parts (an OFD tag file
    declaring an empty prefix); an invoice's own XML is read strictly."""
    from lxml import etree

    if len(data) > MAX_XML_BYTES:
        raise DocumentError(
            origin, f"the XML is {len(data)} bytes; an invoice is under {MAX_XML_BYTES}", kind="too_large"
        )
    if re.search(rb"<!DOCTYPE|<!ENTITY", data, re.I):
        raise DocumentError(origin, "the XML declares a DOCTYPE or entities, which invoices never do", kind="corrupt")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=recover)
    try:
        return etree.fromstring(data.lstrip(b"\xef\xbb\xbf").lstrip(), parser)
    except etree.XMLSyntaxError as exc:
        raise DocumentError(origin, f"not well-formed XML ({exc})", kind="corrupt") from None


def _children(node: Any, name: str) -> list[Any]:
    return [child for child in node if _local(child.tag) == name]


def _find(root: Any, path: str) -> Any:
    """The first element matching ``a/b`` by local names, searched anywhere under ``root``."""
    first, *rest = path.split("/")
    for node in root.iter():
        if _local(node.tag) != first:
            continue
        current = [node]
        for step in rest:
            current = [child for parent in current for child in _children(parent, step)]
        if current:
            return current[0]
    return None


def _value(root: Any, paths: tuple[str, ...]) -> str | None:
    for path in paths:
        node = _find(root, path)
        if node is not None:
            text = "".join(node.itertext()).strip()
            if text:
                return text
    return None


def is_invoice_xml(root: Any) -> bool:
    """True for either invoice schema (by its root element's local name)."""
    return _local(root.tag).lower() == "einvoice"


def xml_extraction(root: Any, *, source: str = "xml") -> Extraction:
    """The invoice fields of a parsed ``EInvoice`` / ``eInvoice`` root."""
    digital = _find(root, "EInvoiceData") is not None or _find(root, "TaxSupervisionInfo") is not None
    table, item_tag, item_map = (_SDP, "IssuItemInformation", _SDP_ITEM) if digital else (_FP, "GoodsInfo", _FP_ITEM)
    values: dict[str, Any] = {name: _value(root, paths) for name, paths in table.items()}
    items = []
    for node in root.iter():
        if _local(node.tag) != item_tag:
            continue
        raw = {}
        for key, tag in item_map.items():
            found = _children(node, tag)
            raw[key] = "".join(found[0].itertext()).strip() if found else None
        items.append(raw)
    if digital:
        label = _value(root, ("GeneralOrSpecialVAT/LabelCode",))
        values["kind"] = _SDP_KINDS.get(label or "")
        label_name = _value(root, ("EInvoiceType/LabelName",)) or ""
        values["type"] = f"电子发票（{label_name}）" if label_name and "电子发票" not in label_name else label_name
    return build(values, source=source, items=items)


def read_xml_invoice(path: Path | str, data: bytes | None = None) -> Extraction:
    """Read an invoice XML file; :class:`DocumentError` when it is not one."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    root = parse_xml(data, path)
    if not is_invoice_xml(root):
        raise DocumentError(
            path,
            f"an XML file whose root is <{_local(root.tag)}>; expected an invoice (<EInvoice> or <eInvoice>)",
            kind="unknown_type",
        )
    return xml_extraction(root)

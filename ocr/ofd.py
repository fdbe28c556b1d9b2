"""OFD documents (GB/T 33190, the national fixed-layout format): text, tags and invoice data, no OCR.

An OFD is a zip of XML: ``OFD.xml`` names the document (``DocRoot``) and may carry metadata
(``CustomData`` such as 发票号码, 合计金额); ``Document.xml`` lists the pages and templates, whose
``Content.xml`` hold text objects with their boundary in millimetres; e-invoices add semantic tags
(``Tags/CustomTag.xml``: ``InvoiceNo`` → the ID of the text object that prints it) and, in the
税控 era, the invoice itself as ``Attachs/original_invoice.xml``.

:func:`read_ofd` reads all of that without rendering anything:

1. the printed values the tags point at are the invoice (what a person sees is what is claimed);
2. the embedded XML and the metadata are compared with them: any difference is a problem for
   review (an altered print, a wrong attachment), never silently preferred;
3. what neither states (the title, the 大写 total, items on a 销货清单) comes from the page text
   laid out as lines, read by the same layout rules as an OCR'd or PDF invoice.

The zip is read in memory with caps on entries and inflated size, and nothing is extracted to
disk, so a hostile file can neither fill the disk nor write outside a folder.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backroom.ocr.chinese import capitals_to_amount
from backroom.ocr.einvoice import build, compare, parse_money
from backroom.ocr.engines import Line, sort_lines
from backroom.ocr.errors import DocumentError
from backroom.ocr.fields import Extraction
from backroom.ocr.xmlinvoice import is_invoice_xml, parse_xml, xml_extraction

__all__ = ["MAX_ENTRIES", "MAX_INFLATED", "OfdDocument", "is_ofd", "load_ofd", "read_ofd"]

MAX_ENTRIES = 2_000
#: Inflated size cap over all parts: invoices are a few hundred kB with their images.
MAX_INFLATED = 64_000_000
#: Rendered scale for lines: millimetres to "pixels" (about 254 dpi), so heights look like a scan's.
PX_PER_MM = 10.0

# the invoice tags (as issuers name them) → our field names
_TAGS = {
    "InvoiceNo": "number", "InvoiceCode": "code", "IssueDate": "date", "InvoiceCheckCode": "check_code",
    "BuyerName": "buyer_name", "BuyerTaxID": "buyer_tax_id", "SellerName": "seller_name",
    "SellerTaxID": "seller_tax_id", "TaxExclusiveTotalAmount": "amount", "TaxTotalAmount": "tax",
    "TaxInclusiveTotalAmount": "total", "Note": "remarks",
}  # fmt: skip
_ITEM_TAGS = {"Item": "name", "Amount": "amount", "TaxScheme": "tax_rate", "TaxAmount": "tax", "Price": "price",
              "Quantity": "quantity"}  # fmt: skip
_METADATA = {
    "发票号码": "number", "发票代码": "code", "开票日期": "date", "校验码": "check_code", "合计金额": "amount",
    "合计税额": "tax", "购买方纳税人识别号": "buyer_tax_id", "销售方纳税人识别号": "seller_tax_id",
}  # fmt: skip
_TITLE = re.compile(r"(增值税|电子)[^，,]*发票|发票[（(].*[)）]|电子客票|行程单")
_CAPITALS_CHARS = re.compile(r"[壹贰叁肆伍陆柒捌玖]")


def is_ofd(data: bytes) -> bool:
    """A zip whose entries include ``OFD.xml`` (its signature, whatever the file's name)."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(name.lstrip("/").lower() == "ofd.xml" for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


@dataclass
class TextObject:
    """One text object: its ID, page index, boundary in mm (x, y, w, h) and the text it prints."""

    id: str
    page: int
    box: tuple[float, float, float, float]
    text: str


@dataclass
class OfdDocument:
    """What an OFD holds that matters for reading it."""

    path: Path
    pages: int = 0
    objects: dict[str, TextObject] = field(default_factory=dict)
    tags: dict[str, list[list[str]]] = field(default_factory=dict)  # tag name → object-ID groups
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: list[Any] = field(default_factory=list)  # parsed invoice XML roots

    def lines(self) -> list[Line]:
        """Every text object as a line, in millimetres × :data:`PX_PER_MM`, in reading order."""
        out = []
        for obj in self.objects.values():
            x, y, w, h = obj.box
            box = (x * PX_PER_MM, y * PX_PER_MM, (x + w) * PX_PER_MM, (y + h) * PX_PER_MM)
            out.append(Line(obj.text, box, 1.0, obj.page))
        return sort_lines(out)

    def tag_text(self, name: str) -> str | None:
        groups = self.tags.get(name)
        if not groups:
            return None
        text = "".join(self.objects[i].text for i in groups[0] if i in self.objects).strip()
        return text or None


class _Archive:
    """The zip, read by name, with the size caps applied once."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise DocumentError(path, f"not a readable OFD (the zip is damaged: {exc})", kind="corrupt") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise DocumentError(
                path, f"the OFD has {len(infos)} parts; at most {MAX_ENTRIES} are read", kind="too_large"
            )
        inflated = sum(info.file_size for info in infos)
        if inflated > MAX_INFLATED:
            raise DocumentError(
                path, f"the OFD inflates to {inflated} bytes; at most {MAX_INFLATED} are read", kind="too_large"
            )
        self.names = {info.filename.lstrip("/").lower(): info.filename for info in infos}

    def has(self, name: str) -> bool:
        return name.lstrip("/").lower() in self.names

    def xml(self, name: str, *, recover: bool = False) -> Any:
        key = name.lstrip("/").lower()
        if key not in self.names:
            raise DocumentError(self.path, f"the OFD lacks its part {name!r}", kind="corrupt")
        root = parse_xml(self.zip.read(self.names[key]), f"{self.path}!{name}", recover=recover)
        if root is None:
            raise DocumentError(self.path, f"the OFD part {name!r} is not XML", kind="corrupt")
        return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _resolve(base: str, ref: str) -> str:
    """A part path: absolute from the package root when it starts with ``/``, else relative to ``base``."""
    ref = ref.strip()
    if ref.startswith("/"):
        return posixpath.normpath(ref.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), ref))


def _first(root: Any, name: str) -> Any:
    return next((node for node in root.iter() if _local(node.tag) == name), None)


def _boundary(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        x, y, w, h = (float(v) for v in (text or "").split())
    except ValueError:
        return None
    return x, y, w, h


def _text_objects(root: Any, page: int) -> list[TextObject]:
    out = []
    for node in root.iter():
        if _local(node.tag) != "TextObject":
            continue
        box = _boundary(node.get("Boundary"))
        text = "".join("".join(code.itertext()) for code in node if _local(code.tag) == "TextCode")
        if box is None or not text.strip():
            continue
        out.append(TextObject(node.get("ID", ""), page, box, text.strip()))
    return out


def load_ofd(path: Path | str, data: bytes | None = None, *, max_pages: int = 20) -> OfdDocument:
    """Parse an OFD's pages, templates, tags, metadata and invoice attachments (first document only)."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    archive = _Archive(path, data)
    if not archive.has("OFD.xml"):
        raise DocumentError(path, "a zip without OFD.xml; expected an OFD document", kind="corrupt")
    doc = OfdDocument(path)
    ofd = archive.xml("OFD.xml")
    for node in ofd.iter():
        if _local(node.tag) == "CustomData" and node.get("Name"):
            doc.metadata[node.get("Name").strip()] = "".join(node.itertext()).strip()
    root_ref = _first(ofd, "DocRoot")
    if root_ref is None or not (root_ref.text or "").strip():
        raise DocumentError(path, "OFD.xml names no DocRoot (the document)", kind="corrupt")
    doc_path = _resolve("OFD.xml", root_ref.text)
    document = archive.xml(doc_path)

    templates = {
        t.get("ID"): _resolve(doc_path, t.get("BaseLoc", ""))
        for t in document.iter()
        if _local(t.tag) == "TemplatePage" and t.get("BaseLoc")
    }
    pages = [p for p in document.iter() if _local(p.tag) == "Page" and p.get("BaseLoc")]
    if not pages:
        raise DocumentError(path, "the OFD has no pages", kind="corrupt")
    if len(pages) > max_pages:
        raise DocumentError(
            path, f"the OFD has {len(pages)} pages; a receipt or invoice has at most {max_pages}", kind="too_long"
        )
    doc.pages = len(pages)
    for index, page in enumerate(pages):
        content_path = _resolve(doc_path, page.get("BaseLoc"))
        content = archive.xml(content_path)
        for ref in content.iter():
            if _local(ref.tag) == "Template" and ref.get("TemplateID") in templates:
                tpl = templates[ref.get("TemplateID")]
                if archive.has(tpl):
                    for obj in _text_objects(archive.xml(tpl), index):
                        doc.objects.setdefault(f"tpl{ref.get('TemplateID')}:{obj.id}:{index}", obj)
        for obj in _text_objects(content, index):
            doc.objects[obj.id] = obj

    tags_ref = _first(document, "CustomTags")
    if tags_ref is not None and (tags_ref.text or "").strip():
        tags_path = _resolve(doc_path, tags_ref.text)
        if archive.has(tags_path):
            for loc in archive.xml(tags_path).iter():
                if _local(loc.tag) == "FileLoc" and (loc.text or "").strip():
                    tag_file = _resolve(tags_path, loc.text)
                    if archive.has(tag_file):
                        _read_tags(archive.xml(tag_file, recover=True), doc)
    for key, name in archive.names.items():
        if "/attachs/" in f"/{key}" and key.endswith(".xml") and not key.endswith("attachments.xml"):
            try:
                root = parse_xml(archive.zip.read(name), f"{path}!{name}")
            except DocumentError:
                continue
            if is_invoice_xml(root):
                doc.attachments.append(root)
    return doc


def _read_tags(root: Any, doc: OfdDocument) -> None:
    """Each element holding ``ObjectRef`` children: its local name → the referenced object IDs."""
    for node in root.iter():
        refs = [(ref.text or "").strip() for ref in node if _local(ref.tag) == "ObjectRef"]
        refs = [r for r in refs if r]
        if refs:
            doc.tags.setdefault(_local(node.tag), []).append(refs)


def _tag_items(doc: OfdDocument) -> list[dict[str, Any]]:
    """Items from the tags: each tagged amount is one row; the other tagged cells whose top lies in
    that row's band (from its top to the next row's) belong to it (names wrap onto extra lines)."""
    amounts = sorted(
        (doc.objects[i] for group in doc.tags.get("Amount", []) for i in group if i in doc.objects),
        key=lambda o: (o.page, o.box[1]),
    )
    amounts = [o for o in amounts if parse_money(o.text) is not None]
    tagged = {i for groups in doc.tags.values() for group in groups for i in group}
    items = []
    for index, row in enumerate(amounts):
        top = row.box[1] - 0.5
        nxt = amounts[index + 1] if index + 1 < len(amounts) and amounts[index + 1].page == row.page else None
        bottom = nxt.box[1] - 0.5 if nxt else float("inf")
        item: dict[str, Any] = {"amount": row.text}
        for tag, key in _ITEM_TAGS.items():
            if key == "amount":
                continue
            cells = [
                doc.objects[i]
                for group in doc.tags.get(tag, [])
                for i in group
                if i in doc.objects and doc.objects[i].page == row.page and top <= doc.objects[i].box[1] < bottom
            ]
            if cells:
                item[key] = "".join(c.text for c in sorted(cells, key=lambda c: (c.box[1], c.box[0])))
        _spec_and_unit(doc, row, item, tagged)
        items.append(item)
    return items


def _spec_and_unit(doc: OfdDocument, row: TextObject, item: dict[str, Any], tagged: set[str]) -> None:
    """规格型号 and 单位 carry no tag: the untagged cells on the row between the name and the figures."""
    names = [
        o for o in doc.objects.values() if o.id in tagged and o.page == row.page and o.text in item.get("name", "")
    ]
    left = max((o.box[0] + o.box[2] for o in names if abs(o.box[1] - row.box[1]) < 1.0), default=None)
    if left is None:
        return
    cells = sorted(
        (
            o
            for key, o in doc.objects.items()
            if o.page == row.page
            and o.id not in tagged
            and not key.startswith("tpl")
            and abs(o.box[1] - row.box[1]) < 1.0
            and left - 0.5 <= o.box[0] < row.box[0]
            and "%" not in o.text
        ),
        key=lambda o: o.box[0],
    )
    if len(cells) >= 2:
        item["spec"], item["unit"] = cells[0].text, cells[1].text
    elif cells:
        item["unit"] = cells[0].text


def _layout_values(lines: list[Line]) -> dict[str, Any]:
    """What only the printed layout says: the title and the total in capitals (大写)."""
    values: dict[str, Any] = {}
    top = sorted(lines, key=lambda ln: ln.y0)
    title = next((ln.text for ln in top if _TITLE.search(ln.text) and len(ln.text) <= 30), None)
    if title:
        values["type"] = title
    for ln in lines:
        if _CAPITALS_CHARS.search(ln.text) and capitals_to_amount(ln.text) is not None:
            values["total_capitals"] = ln.text
            break
    return values


def read_ofd(path: Path | str, data: bytes | None = None, *, max_pages: int = 20) -> tuple[Extraction, int]:
    """The invoice fields of an OFD and its page count (see the module docstring for the order)."""
    from backroom.ocr.fapiao import extract_fapiao, looks_like_fapiao

    doc = load_ofd(path, data, max_pages=max_pages)
    lines = doc.lines()
    layout = _layout_values(lines)
    tagged = {field: doc.tag_text(tag) for tag, field in _TAGS.items() if doc.tag_text(tag)}
    if tagged:
        result = build({**layout, **tagged}, source="ofd", items=_tag_items(doc))
        for root in doc.attachments:
            compare(result, xml_extraction(root, source="ofd-xml"), "the embedded invoice XML")
    elif doc.attachments:
        result = xml_extraction(doc.attachments[0], source="ofd-xml")
        compare(result, build(layout, source="ofd"), "the printed page")
    elif looks_like_fapiao(lines):
        result = extract_fapiao(lines)
        result.problems = [p for p in result.problems if not p.startswith("no fapiao QR")]
    else:
        result = Extraction(type="unknown")
    meta = {name: doc.metadata[key] for key, name in _METADATA.items() if doc.metadata.get(key)}
    if meta and result.type == "fapiao":
        compare(result, build(meta, source="ofd-metadata"), "the OFD metadata")
    result.lines = lines
    return result, doc.pages

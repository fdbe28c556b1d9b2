"""Fapiao (Chinese VAT invoice) fields: QR code first, OCR for the rest, and cross-checks.

The QR code (:mod:`ocr.qr`) states kind, code, number, amount before tax, date and check code
exactly, so those fields come from it with confidence 1. Everything else is read from the OCR
lines with layout rules that follow the national invoice template:

- labels (发票代码, 发票号码, 开票日期, 校验码, 名称, 纳税人识别号) carry their value after a colon
  in the same box or in the box to their right;
- the buyer's block (购买方) is above the goods table, the seller's (销售方) below 价税合计, so the
  first 名称 / 纳税人识别号 belongs to the buyer and the last to the seller;
- the 合计 row holds the amount before tax and then the tax; 价税合计 holds the total in capitals
  (大写) and in figures (小写).

Cross-checks land in ``Extraction.problems``: OCR figures that disagree with the QR code, total ≠
amount + tax, 大写 ≠ 小写, and taxpayer IDs whose GB 32100 check character is wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from backroom.ocr.chinese import USCC_ALPHABET, capitals_to_amount, valid_uscc
from backroom.ocr.einvoice import check_invoice, parse_rate, qr_amount_field
from backroom.ocr.engines import Line
from backroom.ocr.fields import Extraction, Field
from backroom.ocr.layout import group_rows, right_of
from backroom.ocr.normalise import find_amounts, find_dates, half_width
from backroom.ocr.qr import FAPIAO_KINDS, FapiaoQR, QRCode, parse_fapiao_qr

__all__ = ["extract_fapiao", "fapiao_qr", "looks_like_fapiao"]

_LABELS = {
    "code": re.compile(r"发票代码"),
    "number": re.compile(r"发票号码"),
    "date": re.compile(r"开票日期"),
    "check_code": re.compile(r"校\s*验\s*码"),
}
_NAME = re.compile(r"^名\s*称")
_TAX_ID = re.compile(r"(?:统一社会信用代码\s*/\s*)?纳税人识别号|统一社会信用代码(?:\s*/\s*纳税人识别号)?")
_SUM = re.compile(r"^合\s*计$|^合\s*计[^\u4e00-\u9fff]")
_CAPITALS = re.compile(r"价税合计")
_SMALL = re.compile(r"小写")
_TITLE = re.compile(r"(增值税|电子)[^，,]*发票|发票[（(].*[)）]")


def fapiao_qr(codes: Sequence[QRCode]) -> tuple[FapiaoQR | None, QRCode | None]:
    """The first QR code that is a fapiao record."""
    for code in codes:
        parsed = parse_fapiao_qr(code.text)
        if parsed is not None:
            return parsed, code
    return None, None


def looks_like_fapiao(lines: Sequence[Line], codes: Sequence[QRCode] = ()) -> bool:
    if fapiao_qr(codes)[0] is not None:
        return True
    text = "".join(ln.text for ln in lines)
    return "发票" in text and bool(re.search(r"纳税人识别号|价税合计|发票号码|统一社会信用代码", text))


_SPLIT_LABEL = re.compile(r"^(名称|合计|校验码|发票代码|发票号码|开票日期)[:：]?$")


def _clean(lines: Sequence[Line]) -> list[Line]:
    """Half-width text, and labels printed with wide spacing (``名    称``) that OCR split into
    separate boxes joined back into one."""
    cleaned = [Line(half_width(ln.text).strip(), ln.box, ln.confidence, ln.page) for ln in lines if ln.text.strip()]
    out: list[Line] = []
    for row in group_rows(cleaned):
        index = 0
        while index < len(row):
            current = row[index]
            if index + 1 < len(row):
                nxt = row[index + 1]
                joined = (current.text + nxt.text).replace(" ", "")
                if len(current.text) <= 2 and _SPLIT_LABEL.match(joined):
                    box = (current.x0, min(current.y0, nxt.y0), nxt.x1, max(current.y1, nxt.y1))
                    out.append(Line(joined, box, min(current.confidence, nxt.confidence), current.page))
                    index += 2
                    continue
            out.append(current)
            index += 1
    return out


def _after_label(line: Line, label: re.Pattern[str], lines: list[Line]) -> tuple[str, Line] | None:
    """The value printed after ``label``: in the same box after a colon, else the box to its right."""
    match = label.search(line.text)
    if match is None:
        return None
    rest = line.text[match.end() :].lstrip(" :：")
    if rest:
        return rest, line
    for other in right_of(line, lines):
        if other.text.strip(" :："):
            return other.text.strip(" :："), other
    return None


def _repair_uscc(text: str) -> tuple[str, bool]:
    """An OCR-read credit code, with look-alike letters fixed when that makes the checksum valid."""
    code = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if valid_uscc(code):
        return code, True
    swaps = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"})
    fixed = code.translate(swaps)
    if all(ch in USCC_ALPHABET for ch in fixed) and valid_uscc(fixed):
        return fixed, True
    return code, False


def _side_by_side(labelled: list[Line]) -> bool:
    """True when the two parties' labels share a row (数电票: buyer left, seller right) rather
    than one block above the other (税控-era invoices: buyer above the goods, seller below)."""
    return len(labelled) >= 2 and abs(labelled[0].cy - labelled[-1].cy) <= max(labelled[0].height, 1.0) * 0.6


def _party_fields(lines: list[Line], result: Extraction, split_y: float | None) -> None:
    names = [ln for ln in lines if _NAME.search(ln.text)]
    ids = [ln for ln in lines if _TAX_ID.search(ln.text)]
    for role, pick in (("buyer", 0), ("seller", -1)):
        for kind, labelled, pattern in (("name", names, _NAME), ("tax_id", ids, _TAX_ID)):
            candidates = labelled
            if _side_by_side(labelled):
                candidates = sorted(labelled, key=lambda ln: ln.x0)
            elif split_y is not None:
                candidates = [ln for ln in labelled if (ln.cy < split_y) == (role == "buyer")]
            if not candidates:
                continue
            found = _after_label(candidates[pick], pattern, lines)
            if found is None:
                continue
            value, source = found
            if kind == "tax_id":
                code, ok = _repair_uscc(value)
                result.fields[f"{role}_tax_id"] = Field.from_line(code, source, factor=1.0 if ok else 0.5)
                if not ok:
                    result.problems.append(f"{role} taxpayer ID {code!r} fails the GB 32100 check character")
            else:
                result.fields[f"{role}_name"] = Field.from_line(value.strip(), source)


def _sum_row(lines: list[Line]) -> tuple[Line | None, list[tuple[Decimal, Line]]]:
    """The 合计 row's amounts (before tax, then tax). When OCR missed the label (its two
    characters are printed far apart), the row of amounts right above 价税合计 stands in."""
    label = next((ln for ln in lines if _SUM.search(ln.text) and not _CAPITALS.search(ln.text)), None)
    if label is not None:
        amounts = [(a, ln) for ln in [label, *right_of(label, lines)] for a in find_amounts(ln.text)]
        if amounts:
            return label, amounts
    capitals = next((ln for ln in lines if _CAPITALS.search(ln.text)), None)
    if capitals is None:
        return label, []
    above = [
        ln
        for ln in lines
        if find_amounts(ln.text) and capitals.cy - 3.5 * capitals.height < ln.cy < capitals.cy - 0.6 * capitals.height
    ]
    if not above:
        return label, []
    nearest = max(above, key=lambda ln: ln.cy)
    row = sorted((ln for ln in above if abs(ln.cy - nearest.cy) < nearest.height * 0.6), key=lambda ln: ln.x0)
    return label or nearest, [(a, ln) for ln in row for a in find_amounts(ln.text)]


_ITEM_START = re.compile(r"^\*[^*]{1,30}\*")
_RATE = re.compile(r"^(\d{1,2}(?:\.\d)?)\s*%$|^(免税|不征税)$")


def _items(lines: list[Line], sum_label: Line | None) -> list[dict[str, object]]:
    """The goods rows: a row whose first cell starts with a ``*category*`` name; its figures are
    read right to left (tax, rate, amount, then unit price and quantity when present), and the
    lines under the name that hold no figures continue it (names wrap in the narrow column)."""
    rows = group_rows(lines)
    items: list[dict[str, object]] = []
    for index, row in enumerate(rows):
        if not row or not _ITEM_START.match(row[0].text) or (sum_label is not None and row.cy >= sum_label.cy):
            continue
        name_cell = row[0]
        name = name_cell.text
        for nxt in rows[index + 1 :]:
            if (
                len(nxt) != 1
                or abs(nxt[0].x0 - name_cell.x0) > name_cell.height
                or _ITEM_START.match(nxt[0].text)
                or _SUM.search(nxt[0].text)
            ):
                break
            name += nxt[0].text
        cells = [ln.text for ln in row[1:]]
        rate_at = next((i for i, c in enumerate(cells) if _RATE.match(c.strip())), None)
        if rate_at is None:
            continue
        after = [a for c in cells[rate_at + 1 :] for a in find_amounts(c)]
        before = cells[:rate_at]
        amount = find_amounts(before[-1]) if before else []
        if not amount:
            continue
        middle = before[:-1]
        numeric = [i for i, c in enumerate(middle) if re.fullmatch(r"\d+(?:\.\d+)?", c.strip())]
        figures = numeric[-2:]  # quantity and unit price, when printed
        numbers = [middle[i] for i in figures]
        labels = [c for i, c in enumerate(middle) if i not in figures]
        spec, unit = [*labels, "", ""][:2] if len(labels) >= 2 else ("", labels[0] if labels else "")
        rate = _RATE.match(cells[rate_at].strip())
        item: dict[str, object] = {
            "name": re.sub(r"[\x00-\x1f]", "", name),
            "spec": spec,
            "unit": unit,
            "quantity": Decimal(numbers[-2]) if len(numbers) >= 2 else None,
            "price": Decimal(numbers[-1]) if numbers else None,
            "amount": amount[0],
            "tax_rate": parse_rate(cells[rate_at]) if rate else None,
            "tax": after[0] if after else None,
        }
        items.append(item)
    return items


def extract_fapiao(lines: Sequence[Line], codes: Sequence[QRCode] = ()) -> Extraction:
    """Fapiao fields from OCR ``lines`` and decoded QR ``codes`` (QR wins, OCR cross-checks)."""
    lines = _clean(lines)
    result = Extraction(type="fapiao", lines=list(lines), qr=[c.text for c in codes])
    qr, qr_code = fapiao_qr(codes)
    ocr: dict[str, Field] = {}

    title = next((ln for ln in sorted(lines, key=lambda ln: ln.y0) if _TITLE.search(ln.text)), None)
    for name, label in _LABELS.items():
        line = next((ln for ln in lines if label.search(ln.text)), None)
        found = _after_label(line, label, lines) if line is not None else None
        if found is None:
            continue
        value, source = found
        if name == "date":
            dates = find_dates(value)
            if dates:
                ocr[name] = Field.from_line(dates[0], source)
        else:
            digits = re.sub(r"\D", "", value)
            if digits:
                ocr[name] = Field.from_line(digits, source)

    sum_label, sum_amounts = _sum_row(lines)
    if len(sum_amounts) >= 1:
        ocr["amount"] = Field.from_line(sum_amounts[0][0], sum_amounts[0][1])
    if len(sum_amounts) >= 2:
        ocr["tax"] = Field.from_line(sum_amounts[1][0], sum_amounts[1][1])

    capitals_line = next((ln for ln in lines if _CAPITALS.search(ln.text)), None)
    capitals_row = [capitals_line, *right_of(capitals_line, lines)] if capitals_line else []
    for ln in capitals_row:
        value = capitals_to_amount(ln.text)
        if value is not None:
            ocr["total_capitals"] = Field.from_line(value, ln)
            break
    small = next((ln for ln in lines if _SMALL.search(ln.text)), None)
    if small is not None:
        row = [small, *right_of(small, lines)]
        amounts = [(a, ln) for ln in row for a in find_amounts(ln.text)]
        if amounts:
            ocr["total"] = Field.from_line(amounts[0][0], amounts[0][1])
    if "total" not in ocr:
        amounts = [(a, ln) for ln in capitals_row for a in find_amounts(ln.text)]
        if amounts:
            ocr["total"] = Field.from_line(amounts[-1][0], amounts[-1][1], factor=0.8)

    rates = [
        (Decimal(m.group(1)) / 100, ln)
        for ln in lines
        for m in [re.fullmatch(r"\s*(\d{1,2}(?:\.\d)?)\s*%\s*", ln.text)]
        if m is not None
    ]
    if rates:
        common = Counter(r for r, _ in rates).most_common(1)[0][0]
        line = next(ln for r, ln in rates if r == common)
        ocr["tax_rate"] = Field.from_line(common.quantize(Decimal("0.01")), line)
    elif re.search(r"免税", "".join(ln.text for ln in lines)):
        ocr["tax_rate"] = Field(Decimal("0.00"), 0.8)

    split_y = None
    if sum_label is not None:
        split_y = sum_label.cy
    elif capitals_line is not None:
        split_y = capitals_line.cy
    _party_fields(lines, result, split_y)

    # -- QR first, OCR for the rest, and the cross-checks --------------------------------------
    if qr is not None:
        box = qr_code.box if qr_code else None
        result.fields["type"] = Field(qr.kind_name, 1.0, box, "qr")
        result.fields["kind"] = Field(qr.kind, 1.0, box, "qr")
        qr_values = {"code": qr.code, "number": qr.number, "date": qr.date, qr_amount_field(qr): qr.amount}
        if qr.check_code:
            qr_values["check_code"] = qr.check_code
        for name, value in qr_values.items():
            if name == "code" and not value:
                continue
            read = ocr.get(name)
            if read is not None and read.value != value:
                result.problems.append(
                    f"QR code says {name} {value} but the invoice prints {read.value} (possible alteration)"
                )
            result.fields[name] = Field(value, 1.0, box, "qr")
    elif title is not None:
        # the longest official name printed in the title ("电子发票（普通发票）" beats "普通发票")
        kinds = sorted(FAPIAO_KINDS.items(), key=lambda kv: -len(kv[1]))
        kind = next((k for k, v in kinds if half_width(v) in title.text), None)
        if kind is not None:
            result.fields["kind"] = Field.from_line(kind, title, factor=0.9)
        result.fields["type"] = Field.from_line(FAPIAO_KINDS[kind] if kind else title.text, title)
    if qr is None and codes:
        result.problems.append("a QR code was found but it is not a fapiao record")
    elif qr is None:
        result.problems.append("no fapiao QR code could be decoded; fields come from OCR only")
    for name, field in ocr.items():
        result.fields.setdefault(name, field)

    items = _items(lines, sum_label)
    if items:
        result.fields["items"] = Field(items, min(ln.confidence for ln in lines), None, "ocr")
    amount, tax, total = (result.value(k) for k in ("amount", "tax", "total"))
    check_invoice(result)
    if total is None and amount is not None and tax is not None:
        result.fields["total"] = Field(
            amount + tax, min(result.confidence("amount"), result.confidence("tax")), None, "computed"
        )
    return result

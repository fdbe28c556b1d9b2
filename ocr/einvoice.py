"""Structured e-invoices: the one field set every format gives, and the checks of an invoice against itself.

An XML invoice (数电票 ``EInvoice`` or the 税控-era ``eInvoice``), an OFD (its semantic tags, its
embedded ``original_invoice.xml``, its document metadata) and a PDF text layer all *state* their
fields instead of leaving them to OCR, so the readers (:mod:`ocr.xmlinvoice`, :mod:`ocr.ofd`) fill
:func:`build` with raw strings and this module turns them into typed :class:`~ocr.fields.Field`
values and checks them:

- total = amount + tax, and the total in capitals (大写) = the total in figures;
- the items add up to the amount and the tax; each item's tax is its rate × amount (within the
  0.06 yuan the tax rules allow for rounding);
- the seller's (and buyer's) 18-character taxpayer ID carries a valid GB 32100 check character;
- two sources inside one file (the OFD's tags against its embedded XML, the printed figures
  against the QR code) agree.

Every disagreement lands in ``Extraction.problems`` worded as the audit rules expect, so a
document is sent to review rather than passed; nothing is corrected silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from backroom.ocr.chinese import capitals_to_amount, valid_uscc
from backroom.ocr.fields import Extraction, Field
from backroom.ocr.normalise import half_width
from backroom.ocr.qr import FAPIAO_KINDS, FapiaoQR, parse_fapiao_qr

__all__ = [
    "FIELDS",
    "ITEM_FIELDS",
    "TAX_TOLERANCE",
    "build",
    "check_invoice",
    "compare",
    "duplicate_key",
    "kind_from_title",
    "order_fields",
    "parse_date",
    "parse_money",
    "parse_rate",
]

#: The fields of an invoice, in the order they are printed. ``total_capitals`` is the 大写 total
#: read as a number; ``items`` a list of dicts with :data:`ITEM_FIELDS`.
FIELDS = (
    "type", "kind", "code", "number", "date", "check_code", "buyer_name", "buyer_tax_id", "seller_name",
    "seller_tax_id", "items", "amount", "tax_rate", "tax", "total", "total_capitals", "remarks",
)  # fmt: skip
ITEM_FIELDS = ("name", "spec", "unit", "quantity", "price", "amount", "tax_rate", "tax")
#: The rounding difference allowed between an item's tax and its rate × amount (yuan).
TAX_TOLERANCE = Decimal("0.06")
_CENT = Decimal("0.01")
_MONEY_FIELDS = ("amount", "tax", "total")


def parse_money(text: Any) -> Decimal | None:
    """``"¥4,197.17"`` → ``Decimal("4197.17")``; ``None`` for empty or non-numeric text (never a float)."""
    if text is None:
        return None
    if isinstance(text, Decimal):
        return text
    cleaned = re.sub(r"[¥￥,，\s元]", "", half_width(str(text)))
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def parse_rate(text: Any) -> Decimal | None:
    """``"3%"``, ``"0.03"``, ``"免税"`` → ``Decimal("0.03")`` / ``Decimal("0.00")``; ``None`` when absent."""
    if text is None:
        return None
    value = half_width(str(text)).strip()
    if not value or value in ("***", "*"):
        return None
    if re.search(r"免税|不征税|零税率", value):
        return Decimal("0.00")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", value)
    number = Decimal(match.group(1)) / 100 if match else parse_money(value)
    if number is None:
        return None
    rate = number if number < 1 else number / 100
    cents = rate.quantize(_CENT)
    return cents if cents == rate else rate.quantize(Decimal("0.0001")).normalize()


def parse_date(text: Any) -> dt.date | None:
    """``2024年05月28日``, ``2024-05-28 10:00:00``, ``20240528`` → the date; ``None`` otherwise."""
    if text is None:
        return None
    if isinstance(text, dt.date):
        return text
    value = half_width(str(text)).strip()
    match = re.search(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})", value) or re.match(
        r"(\d{4})(\d{2})(\d{2})", value
    )
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def kind_from_title(title: str) -> str | None:
    """The STA kind code of a printed title: the longest official name it contains wins
    (``电子发票（普通发票）`` over ``普通发票``)."""
    text = half_width(title).replace(" ", "")
    for kind, name in sorted(FAPIAO_KINDS.items(), key=lambda kv: -len(kv[1])):
        if half_width(name) in text:
            return kind
    return None


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": _text(raw.get("name")),
        "spec": _text(raw.get("spec")),
        "unit": _text(raw.get("unit")),
        "quantity": parse_money(raw.get("quantity")),
        "price": parse_money(raw.get("price")),
        "amount": parse_money(raw.get("amount")),
        "tax_rate": parse_rate(raw.get("tax_rate")),
        "tax": parse_money(raw.get("tax")),
    }


def build(
    values: Mapping[str, Any],
    *,
    source: str,
    items: Iterable[Mapping[str, Any]] = (),
    sources: Mapping[str, str] | None = None,
) -> Extraction:
    """An invoice :class:`Extraction` from raw strings keyed by :data:`FIELDS`; then :func:`check_invoice`.

    ``source`` names where the values came from (``xml``, ``ofd``, ``text``); ``sources`` may name
    another for single fields. Empty strings are left out (an absent field is missing, not blank).
    """
    result = Extraction(type="fapiao")
    where = dict(sources or {})

    def put(name: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        result.fields[name] = Field(value, 1.0, None, where.get(name, source))

    for name in ("code", "number", "check_code"):
        put(name, re.sub(r"\s", "", _text(values.get(name))))
    for name in ("buyer_tax_id", "seller_tax_id"):
        put(name, re.sub(r"\s", "", _text(values.get(name))).upper())
    for name in ("buyer_name", "seller_name", "remarks"):
        put(name, _text(values.get(name)))
    put("date", parse_date(values.get("date")))
    for name in _MONEY_FIELDS:
        put(name, parse_money(values.get(name)))
    capitals = values.get("total_capitals")
    if capitals:
        parsed = capitals_to_amount(str(capitals))
        if parsed is None:
            result.problems.append(f"total in capitals (大写) {capitals!r} is not a capitals amount")
        put("total_capitals", parsed)
    item_list = [_item(raw) for raw in items]
    item_list = [it for it in item_list if it["name"] or it["amount"] is not None]
    put("items", item_list)
    rate = parse_rate(values.get("tax_rate"))
    if rate is None:
        rates = {it["tax_rate"] for it in item_list if it["tax_rate"] is not None}
        rate = rates.pop() if len(rates) == 1 else None
    put("tax_rate", rate)
    kind = _text(values.get("kind")) or None
    title = _text(values.get("type"))
    if kind is None and title:
        kind = kind_from_title(title)
    put("kind", kind)
    # an e-ticket names itself more precisely than its VAT kind (电子发票（铁路电子客票） is a 普票)
    ticket = title if re.search(r"客票|行程单", title) else None
    put("type", ticket or (FAPIAO_KINDS.get(kind, title) if kind else title))
    if "total" not in result.fields and "amount" in result.fields and "tax" in result.fields:
        result.fields["total"] = Field(result.value("amount") + result.value("tax"), 1.0, None, "computed")
    qr_text = values.get("qr")
    if qr_text:
        result.qr.append(str(qr_text))
        qr = parse_fapiao_qr(str(qr_text))
        if qr is not None:
            check_qr(result, qr)
    check_invoice(result)
    return result


def qr_amount_field(qr: FapiaoQR) -> str:
    """Which printed figure a QR code's amount is: a 数电票 (20-digit number, kinds 31/32) states
    the total with tax (the platform's PDF of 25322000000337005189: QR 8819.60 = 价税合计), older
    invoices the amount before tax (their original XML's GraphCode: 510.68 = 合计金额)."""
    return "total" if len(qr.number) == 20 or qr.kind in ("31", "32") else "amount"


def check_qr(result: Extraction, qr: FapiaoQR) -> None:
    """Compare the QR code's figures with the invoice's; a disagreement is a possible alteration."""
    wanted = {"code": qr.code, "number": qr.number, "date": qr.date, qr_amount_field(qr): qr.amount}
    if qr.check_code:
        wanted["check_code"] = qr.check_code
    for name, value in wanted.items():
        if name == "code" and not value:
            continue
        have = result.value(name)
        if have is None:
            result.fields[name] = Field(value, 1.0, None, "qr")
        elif have != value:
            result.problems.append(f"QR code says {name} {value} but the invoice prints {have} (possible alteration)")
    result.fields.setdefault("kind", Field(qr.kind, 1.0, None, "qr"))
    result.fields.setdefault("type", Field(qr.kind_name, 1.0, None, "qr"))


def check_invoice(result: Extraction) -> None:
    """The invoice against itself (see the module docstring); problems are appended, never fixed."""
    before = len(result.problems)
    _check(result)
    seen = set(result.problems[:before])
    fresh = []
    for problem in result.problems[before:]:
        if problem not in seen:
            seen.add(problem)
            fresh.append(problem)
    result.problems[before:] = fresh


def _check(result: Extraction) -> None:
    amount, tax, total = (result.value(k) for k in _MONEY_FIELDS)
    if amount is not None and tax is not None and total is not None and amount + tax != total:
        result.problems.append(f"total {total} is not amount {amount} + tax {tax}")
    capitals = result.value("total_capitals")
    if capitals is not None and total is not None and capitals != total:
        result.problems.append(f"total in capitals (大写) {capitals} disagrees with the figures {total}")
    items: Sequence[dict[str, Any]] = result.value("items") or []
    amounts = [it["amount"] for it in items if it.get("amount") is not None]
    if amounts and amount is not None and len(amounts) == len(items) and sum(amounts) != amount:
        result.problems.append(f"the items add up to {sum(amounts)} but the amount is {amount}")
    taxes = [it["tax"] for it in items if it.get("tax") is not None]
    if taxes and tax is not None and len(taxes) == len(items) and sum(taxes) != tax:
        result.problems.append(f"the items' tax adds up to {sum(taxes)} but the tax is {tax}")
    for index, it in enumerate(items, 1):
        if it.get("amount") is None or it.get("tax") is None or it.get("tax_rate") is None:
            continue
        expected = (it["amount"] * it["tax_rate"]).quantize(_CENT)
        if abs(expected - it["tax"]) > TAX_TOLERANCE:
            result.problems.append(
                f"item {index} ({it['name']}): tax {it['tax']} is not {it['tax_rate']:.0%} of {it['amount']}"
                f" ({expected})"
            )
    for role in ("seller", "buyer"):
        code = result.value(f"{role}_tax_id")
        if code and len(code) == 18 and not valid_uscc(code):
            result.problems.append(f"{role} taxpayer ID {code!r} fails the GB 32100 check character")


def compare(primary: Extraction, other: Extraction, what: str) -> None:
    """Fill ``primary``'s missing fields from ``other`` and note where the two disagree.

    Used where one file holds the invoice twice (an OFD's printed tags and its embedded XML): the
    copies must agree, and a difference is a problem for a person, not something to pick from.
    """
    for name, field in other.fields.items():
        have = primary.fields.get(name)
        if have is None:
            primary.fields[name] = field
        elif name not in ("type", "kind", "items") and have.value != field.value:
            primary.problems.append(f"{what} says {name} {field.value} but the invoice prints {have.value}")
    for problem in other.problems:
        if problem not in primary.problems:
            primary.problems.append(problem)


def order_fields(result: Extraction) -> Extraction:
    """Fields in :data:`FIELDS` order (then any others), so every format prints the same table."""
    ordered = {name: result.fields[name] for name in FIELDS if name in result.fields}
    ordered.update({k: v for k, v in result.fields.items() if k not in ordered})
    result.fields = ordered
    return result


def duplicate_key(fields: Mapping[str, Any]) -> str | None:
    """The key that makes one invoice one claim, whatever file it came in: ``code:number``.

    A 数电票 number (20 digits) is unique on its own, so its code (there is none) is left out.
    ``fields`` maps names to values or to ``(value, confidence, source)`` tuples.
    """

    def get(name: str) -> str:
        value = fields.get(name)
        if isinstance(value, tuple):
            value = value[0]
        return "" if value is None else re.sub(r"\s", "", str(value))

    number = get("number")
    if not number:
        return None
    return f":{number}" if len(number) == 20 else f"{get('code')}:{number}"

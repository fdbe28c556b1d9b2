"""QR codes first: a fapiao's QR code states its key figures exactly, so it beats any OCR.

Chinese VAT invoices (paper, electronic and 数电票) print a QR code whose text is a comma-separated
record::

    01,<type>,<invoice code>,<invoice number>,<amount before tax>,<YYYYMMDD>,<check code>,<crc>,

``type`` is the State Taxation Administration's kind code (01 专票, 04 普票, 08 电子专票, 10 电子普票,
31 数电专票, 32 数电普票...). 数电票 leave the code empty and carry a 20-digit number; 专票 often leave
the check code empty. :func:`decode_qr` finds codes with zxing-cpp; :func:`parse_fapiao_qr` turns
the text into typed fields.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FAPIAO_KINDS", "FapiaoQR", "QRCode", "decode_qr", "parse_fapiao_qr"]

FAPIAO_KINDS = {
    "01": "增值税专用发票",
    "02": "货物运输业增值税专用发票",
    "03": "机动车销售统一发票",
    "04": "增值税普通发票",
    "08": "增值税电子专用发票",
    "10": "增值税电子普通发票",
    "11": "增值税普通发票（卷式）",
    "14": "增值税电子普通发票（通行费）",
    "15": "二手车销售统一发票",
    "31": "电子发票（增值税专用发票）",
    "32": "电子发票（普通发票）",
}


#: QR type codes that differ from the kind code printed and used elsewhere: 增值税电子专用发票
#: writes 20 in its QR code (seen on real invoices, with kind 08 in their XML and title).
QR_KIND_ALIASES = {"20": "08"}


@dataclass(frozen=True)
class QRCode:
    text: str
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class FapiaoQR:
    """The fields a fapiao QR code carries."""

    kind: str
    code: str
    number: str
    amount: Decimal
    date: dt.date
    check_code: str

    @property
    def kind_name(self) -> str:
        return FAPIAO_KINDS.get(self.kind, f"发票类型 {self.kind}")


def decode_qr(image: np.ndarray) -> list[QRCode]:
    """Every QR code zxing-cpp finds in a BGR or grey image (tries rotations and inversion)."""
    import zxingcpp

    found = []
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        if not barcode.valid or not barcode.text:
            continue
        pos = barcode.position
        xs = [pos.top_left.x, pos.top_right.x, pos.bottom_left.x, pos.bottom_right.x]
        ys = [pos.top_left.y, pos.top_right.y, pos.bottom_left.y, pos.bottom_right.y]
        found.append(QRCode(barcode.text, (min(xs), min(ys), max(xs), max(ys))))
    return found


_NUMBER = re.compile(r"^\d{8}$|^\d{20}$")


def parse_fapiao_qr(text: str) -> FapiaoQR | None:
    """The fields of a fapiao QR text, or ``None`` when the text is not one (a URL, a payment code)."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 6 or parts[0] != "01" or not re.fullmatch(r"\d{2}", parts[1]):
        return None
    kind, code, number, amount_text, date_text = parts[1:6]
    kind = QR_KIND_ALIASES.get(kind, kind)
    check = parts[6] if len(parts) > 6 else ""
    if code and not re.fullmatch(r"\d{10}|\d{12}", code):
        return None
    if not _NUMBER.match(number):
        return None
    try:
        amount = Decimal(amount_text)
        date = dt.datetime.strptime(date_text, "%Y%m%d").date()
    except (InvalidOperation, ValueError):
        return None
    return FapiaoQR(kind, code, number, amount, date, check)

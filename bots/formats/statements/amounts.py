"""Reading money and dates the way Chinese bank exports print them, strictly.

Exports carry thousands separators, full-width digits and spaces, currency marks (¥, ￥, RMB,
CNY), a trailing 元, parentheses or a trailing minus for negatives. Anything else in an amount is
a stray character and an error: guessing a number out of ``1,2O0.00`` would put a wrong figure
in a reconciliation, which is worse than stopping.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from backroom.bots.formats.errors import FormatError

__all__ = ["AmountError", "clean_text", "parse_amount", "parse_date"]

_CURRENCY_MARKS = re.compile(r"^(?:RMB|CNY|USD|EUR|HKD|¥|\$)|(?:元|RMB|CNY)$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


class AmountError(FormatError, ValueError):
    """The text is not an amount; the message says what was seen (still a ValueError for old callers)."""


def clean_text(value: object) -> str:
    """NFKC-normalise (full-width → half-width), drop zero-width marks, strip spaces and tabs."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = text.replace("\u200b", "").replace("\ufeff", "").replace("\t", " ")
    text = text.strip()
    if text.startswith('="'):  # ="6222..." keeps Excel from eating the digits of a long number
        text = text[1:]
    return text.strip('"').strip()


def parse_amount(value: object, *, blank_as_zero: bool = False) -> Decimal | None:
    """``'1,234.50'`` → ``Decimal('1234.50')``; blanks → None (or 0); stray characters raise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # openpyxl gives floats for numeric cells; go via repr, not binary
        return Decimal(repr(value)).quantize(Decimal("0.01")) if value == value else None
    text = clean_text(value).replace(" ", "")
    if text in ("", "-", "--", "—"):
        return Decimal(0) if blank_as_zero else None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-") and len(text) > 1:
        negative, text = True, text[:-1]
    for _ in range(2):
        text = _CURRENCY_MARKS.sub("", text)
    if text.startswith("-"):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if not _NUMBER.match(text):
        raise AmountError(f"expected an amount like 1,234.56 but found {clean_text(value)!r}")
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees a number
        raise AmountError(f"expected an amount but found {clean_text(value)!r}") from exc
    return -amount if negative else amount


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%d/%m/%Y")


def parse_date(value: object) -> dt.date:
    """Dates as banks print them (``2024-03-01``, ``20240301``, ``2024年3月1日``, with a time or not)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value)
    head = text.split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"expected a date like 2024-03-01 but found {text!r}")

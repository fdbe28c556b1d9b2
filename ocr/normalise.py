"""Text normalisation shared by the extractors: full-width characters, amounts, dates, times.

OCR of receipts mixes full-width (Ｏ１２) and half-width forms, reads ``O`` for ``0`` inside
numbers, and prints dates a dozen ways; everything here turns such text into ``Decimal``,
``datetime.date`` and ``datetime.time`` or returns ``None`` when it is not sure.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

__all__ = ["AMOUNT_RE", "find_amounts", "find_dates", "find_time", "half_width", "parse_amount", "parse_date"]

MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8,
    "SEP": 9, "SEPT": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip


def half_width(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (NFKC), keeping CJK characters."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("：", ":").replace("，", ",").replace("。", ".").replace("￥", "¥")


AMOUNT_RE = re.compile(r"(?<![\d.,])-?\d{1,3}(?:,\d{3})+(?:\.\d{1,2})(?![\d])|(?<![\d.,])-?\d+\.\d{2}(?![\d])")


def parse_amount(text: str) -> Decimal | None:
    """``"RM 1,234.50"`` → ``Decimal("1234.50")``; ``None`` when there is no amount with cents."""
    text = half_width(text)
    match = AMOUNT_RE.search(text.replace(" ", "")) or AMOUNT_RE.search(text)
    if not match:
        return None
    try:
        return Decimal(match.group(0).replace(",", ""))
    except InvalidOperation:
        return None


_LONE_AMOUNT = re.compile(r"^(?:RM|MYR|\$|¥|S\$)?\s*(-?\d{1,6})\s?[.,:\-\s]\s?(\d{2})\s*[A-Z*]{0,2}$", re.I)


def find_amounts(text: str) -> list[Decimal]:
    """All amounts with cents in ``text``, left to right (``1,234.50``, ``8.20``, ``-0.02``).

    A box holding nothing but a number is read leniently, because OCR often misreads the decimal
    point of a lone figure (``10 00``, ``28-90``, ``28:90``, ``RMO.65``, ``.02``).
    """
    text = half_width(text)
    lone = text.strip().replace("O", "0") if re.fullmatch(r"(RM|\$)?[\dO., :\-]+[A-Z*]{0,2}", text.strip()) else text
    match = _LONE_AMOUNT.match(lone.strip())
    if match and not AMOUNT_RE.search(text):
        return [Decimal(f"{match.group(1)}.{match.group(2)}")]
    if re.fullmatch(r"-?\.\d{2}", text.strip()):
        return (
            [Decimal("0" + text.strip())]
            if not text.strip().startswith("-")
            else [Decimal(text.strip().replace("-.", "-0."))]
        )
    text = re.sub(r"(?<=RM)O(?=[.,]\d)", "0", text)
    out = []
    for match in AMOUNT_RE.finditer(text):
        try:
            out.append(Decimal(match.group(0).replace(",", "")))
        except InvalidOperation:
            continue
    return out


_DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?<![\dA-Za-z])(\d{1,2})\s?([-/.])\s?(\d{1,2})\s?\2\s?(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"(?<![\dA-Za-z])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?=\d{1,2}:)"), "ymd"),
    (re.compile(r"(?<![\dA-Za-z])(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?=[012]?\d:)"), "dmy"),
    (re.compile(r"(?<![\dA-Za-z/\-.])(\d{1,2})([-/.])(\d{1,2})\2(\d{2})(?![\d/\-])"), "dmy"),
    (re.compile(r"(?<!\d)(\d{1,2})[\s\-/.]*([A-Za-z]{3,4})[A-Za-z]*[\s\-/.,]*(\d{4}|\d{2})(?!\d)"), "dMy"),
    (re.compile(r"(?<!\d)(\d{1,2})[\s\-/.]*([A-Za-z]{3,4})[A-Za-z]*[\s\-/.,]*(\d{4})(?=[012]?\d:)"), "dMy"),
    (re.compile(r"(?<![A-Za-z])([A-Za-z]{3,4})[A-Za-z]*[\s\-/.]*(\d{1,2})[\s,\-/.]+(\d{4})(?!\d)"), "Mdy"),
    (re.compile(r"(?<![A-Za-z])([A-Za-z]{3,4})[A-Za-z]*[\s\-/.]*(\d{1,2})[\s,\-/.]+(\d{4})(?=[012]?\d:)"), "Mdy"),
    # a time printed straight before the date: "18:1524/05/18"
    (re.compile(r"(?<=\d:\d\d)(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})(?![\d/\-])"), "dmy"),
    (re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)"), "ymd8"),
]


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _valid(year: int, month: int, day: int) -> dt.date | None:
    if not 1990 <= year <= 2100:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str, *, dayfirst: bool = True) -> list[dt.date]:
    """Every plausible date in ``text`` (1990..2100), in order of appearance.

    Numeric ``a/b/yyyy`` is day-first unless that is impossible (``12/28/2017`` is December 28th);
    ``dayfirst=False`` flips the preference for US-style sources.
    """
    text = half_width(text)
    found: list[tuple[int, dt.date]] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            groups = match.groups()
            a, b, c = (groups[0], groups[2], groups[3]) if len(groups) == 4 else groups
            date: dt.date | None = None
            if kind in ("ymd", "ymd8"):
                date = _valid(int(a), int(b), int(c))
            elif kind == "dmy":
                year = _year(c)
                first, second = (int(a), int(b)) if dayfirst else (int(b), int(a))
                date = _valid(year, second, first) or _valid(year, first, second)
            elif kind == "dMy":
                month = MONTHS.get(b.upper()[:4]) or MONTHS.get(b.upper()[:3])
                date = _valid(_year(c), month, int(a)) if month else None
            elif kind == "Mdy":
                month = MONTHS.get(a.upper()[:4]) or MONTHS.get(a.upper()[:3])
                date = _valid(int(c), month, int(b)) if month else None
            if date is not None:
                found.append((span[0], date))
                taken.append(span)
    return [d for _, d in sorted(found, key=lambda item: item[0])]


def parse_date(text: str, *, dayfirst: bool = True) -> dt.date | None:
    dates = find_dates(text, dayfirst=dayfirst)
    return dates[0] if dates else None


_TIME_RE = re.compile(r"(?<!\d)([01]?\d|2[0-3])\s*[:：]\s*([0-5]\d)(?:\s*[:：]\s*([0-5]\d))?\s*([AaPp][Mm])?")


def find_time(text: str) -> dt.time | None:
    """``10:17:32 PM`` → 22:17:32; ``18:24`` → 18:24:00."""
    match = _TIME_RE.search(half_width(text))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    suffix = (match.group(4) or "").upper()
    if suffix == "PM" and hour < 12:
        hour += 12
    elif suffix == "AM" and hour == 12:
        hour = 0
    return dt.time(hour, minute, second)

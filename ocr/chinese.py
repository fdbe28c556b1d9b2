"""Chinese money and IDs: 大写 amounts both ways, and the unified social credit code checksum.

A fapiao prints the total twice, in figures and in financial capitals (壹贰叁…圆角分); the two must
agree, so we parse the capitals exactly (no floats). The buyer's and seller's taxpayer IDs are
18-character unified social credit codes (统一社会信用代码, GB 32100-2015) whose last character is
a check character over the first seventeen.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["USCC_ALPHABET", "amount_to_capitals", "capitals_to_amount", "uscc_check_char", "valid_uscc"]

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_DIGIT_VALUE = {ch: i for i, ch in enumerate(DIGITS)} | {
    "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "貮": 2, "参": 3, "陸": 6, "億": 0,
}  # fmt: skip
_DIGIT_VALUE.pop("億")
_SMALL_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}


def amount_to_capitals(amount: Decimal) -> str:
    """``Decimal("1234.50")`` → ``壹仟贰佰叁拾肆圆伍角整``, as Chinese invoices print it."""
    if amount < 0:
        return "负" + amount_to_capitals(-amount)
    cents = int((amount * 100).quantize(Decimal(1)))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _integer_capitals(yuan) + "圆" if yuan else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan and fen:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return text or "零圆整"


def _integer_capitals(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10_000)
        number //= 10_000
    big = ["", "万", "亿", "万亿"]
    text = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(text)
            continue
        if text and (zero_pending or group < 1000):
            text += "零"
        text += _group_capitals(group) + big[index]
        zero_pending = False
    return text


def _group_capitals(group: int) -> str:
    units = ["仟", "佰", "拾", ""]
    digits = [group // 1000, group // 100 % 10, group // 10 % 10, group % 10]
    text = ""
    zero = False
    for digit, unit in zip(digits, units, strict=True):
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + unit
    return text


def capitals_to_amount(text: str) -> Decimal | None:
    """``壹仟贰佰叁拾肆圆伍角整`` → ``Decimal("1234.50")``; ``None`` if it is not a capitals amount.

    Tolerates OCR noise around the amount (``⊗``, ``（大写）``), 元 or the spoken 块 for 圆, 正 for 整,
    and everyday numerals (一百二十, 两/十/百/千), so a caller's text ("多扣了三十块五角") reads too.
    """
    text = re.sub(r"[（(]?大写[)）]?|[⊗ⓧ×\s:：¥￥]", "", text).replace("块", "元")
    match = re.search(r"[零壹贰叁肆伍陆柒捌玖一二两三四五六七八九拾佰仟十百千万萬亿億圆元角分整正]+", text)
    if not match or not re.search(r"[圆元角分]", match.group(0)):
        return None
    body = match.group(0).rstrip("整正")
    negative = text.startswith("负")
    yuan_part, _, rest = body.partition("圆") if "圆" in body else body.partition("元")
    if not rest and not re.search(r"[圆元]", body):
        yuan_part, rest = "", body
    yuan = _parse_integer(yuan_part) if yuan_part else 0
    if yuan is None:
        return None
    cents = 0
    for digit_char, unit in re.findall(r"([零壹贰叁肆伍陆柒捌玖一二两三四五六七八九])?([角分])", rest):
        value = _DIGIT_VALUE.get(digit_char, 0) if digit_char else 0
        cents += value * (10 if unit == "角" else 1)
    leftover = re.sub(r"零?[零壹贰叁肆伍陆柒捌玖一二两三四五六七八九]?[角分]|零", "", rest)
    if leftover:
        return None
    value = Decimal(yuan) + Decimal(cents) / 100
    value = value.quantize(Decimal("0.01"))
    return -value if negative else value


def _parse_integer(text: str) -> int | None:
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGIT_VALUE:
            digit = _DIGIT_VALUE[ch]
        elif ch in _SMALL_UNITS:
            section += (digit if digit is not None else 1) * _SMALL_UNITS[ch]
            digit = None
        elif ch in _BIG_UNITS:
            section += digit or 0
            total = (total + section) * _BIG_UNITS[ch] if _BIG_UNITS[ch] > 10_000 else total + section * _BIG_UNITS[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17.upper(), _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def valid_uscc(code: str) -> bool:
    """True for an 18-character unified social credit code whose check character is right."""
    code = code.strip().upper()
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]

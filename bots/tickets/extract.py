"""Field extraction from complaint texts (Chinese and English), each value with a confidence.

Agents type these fields out of call transcripts and chats all day. The rules here are plain
regular expressions plus three well-kept helpers: ``cn2an`` for Chinese numerals (一百二十) with the
amounts (叁佰元整, 三十块) read by :func:`backroom.ocr.chinese.capitals_to_amount`,
the GB 11643 check digit for ID cards, and a keyword rule table (from config) for categories.
Every value keeps the snippet it came from, so the comment written back can say *where* it was
found, and a reviewer can check it in seconds. Values that look right but fail validation (an ID
number with a wrong check digit, an 11-digit number that is not a mobile) are reported as
*rejected* with the reason, never written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from backroom.ocr.chinese import capitals_to_amount

__all__ = [
    "DEFAULT_CATEGORY_RULES",
    "DEFAULT_PATTERNS",
    "DEFAULT_URGENCY",
    "Extraction",
    "Extractor",
    "Found",
    "id_card_valid",
    "normalize_mobile",
]

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"

DEFAULT_PATTERNS: dict[str, str] = {
    "order_no": r"(?<![A-Za-z0-9])(DD\d{12})(?!\d)",
    "account_no": r"(?:账号|账户|account(?:\s+number)?)[:：\s]*(\d{12,19})(?!\d)",
}

DEFAULT_CATEGORY_RULES: dict[str, list[str]] = {
    "billing": ["话费", "扣费", "多扣", "收费", "账单", "费用", "多收", "overcharge", "charge", "billed", "bill"],
    "network": ["断网", "信号", "网速", "宽带", "网络", "打不通", "signal", "internet", "disconnect", "broadband"],
    "refund": ["退款", "退费", "退回", "退订", "refund"],
    "delivery": ["快递", "物流", "送货", "收到货", "parcel", "delivery"],
    "service": ["态度", "挂我电话", "没人处理", "服务", "rude", "hung up", "never called"],
}

DEFAULT_URGENCY: dict[str, list[str]] = {
    "regulator": ["工信部", "12315", "银保监", "消协", "监管", "regulator"],
    "media": ["媒体", "曝光", "记者", "微博", "media"],
    "repeat": ["第二次投诉", "第三次投诉", "多次投诉", "又一次", "反复投诉", "third complaint", "again"],
    "cancel": ["销户", "携号转网", "退网", "注销", "cancel my account"],
}

_MOBILE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?![\dA-Za-z])")
_LONG_DIGITS = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?1\d(?:[\s-]?\d){9,}(?![\dA-Za-z])")
_LANDLINE = re.compile(r"(?<![\dA-Za-z+])(0[1-9]\d{1,2})[-\s](\d{7,8})(?![\d])")
_ID_CARD = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")
_NAME_ZH = re.compile(
    r"(?:客户姓名|用户姓名|投诉人|联系人|来电人|姓名|客户|用户|我是)[:：]?\s*"
    r"([\u4e00-\u9fa5·]{1,4}?(?:先生|女士)|[\u4e00-\u9fa5·]{2,4}?)"
    r"(?=来电|投诉|反映|说|表示|称|[，,。：:；;（(\s\d]|$)"
)
#: words that sit where a name would and are not names
_NOT_NAMES = {"姓名", "来电", "反映", "投诉", "您好", "本人", "客户", "用户", "先生", "女士", "朋友", "说", "表示"}
_NAME_EN = re.compile(
    r"(?i:Customer|My name is|Caller:|Name:|this is|I am|I'm)\s+((?:(?:Mr|Mrs|Ms|Miss|Dr)\.\s)?[A-Z][a-zA-Z'-]+"
    r"(?:\s(?:[A-Z][a-zA-Z'-]+|[A-Z]\.)){1,3}(?:\s(?:Jr\.|Sr\.|MD|DDS|PhD|DVM|II|III|IV|V))?)"
)
_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
_CN_UPPER = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿"
_AMOUNT_PATTERNS = [
    re.compile(r"(?:RMB|CNY|¥|￥)\s?(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)", re.IGNORECASE),
    re.compile(r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)\s?(?:元|块|yuan|RMB)", re.IGNORECASE),
    re.compile(rf"([{_CN_UPPER}]+(?:元|圆)(?:[{_CN_UPPER}]角)?(?:[{_CN_UPPER}]分)?整?)"),
    re.compile(rf"([{_CN_NUM}]+(?:元|块)(?:[{_CN_NUM}]角)?)"),
]
_AMOUNT_CONTEXT = re.compile(r"金额|退|多扣|扣了|多收|收了|收我|赔|返还|refund|back|owe|dispute|charg", re.IGNORECASE)
_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_CALLBACK = re.compile(
    r"(大后天|今天|今日|明天|明日|后天|周[一二三四五六日天]|星期[一二三四五六日天])?\s*"
    r"(早上|上午|中午|下午|晚上|傍晚)?\s*([零一二两三四五六七八九十\d]{1,3})\s*[点:：时]"
    r"\s*(半|一刻|三刻|[零一二三四五六七八九十\d]{1,3}分?)?"
)
_WEEKDAYS = "一二三四五六日"
_EN_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: English relative times: "tomorrow afternoon", "on Friday at 3 pm", "today at 16:30"
_CALLBACK_EN = re.compile(
    r"\b(today|tonight|tomorrow|the day after tomorrow|(?:on |this |next )?(?:"
    + "|".join(_EN_DAYS)
    + r"))\b(?:\s+(morning|afternoon|evening|night|noon))?"
    r"(?:\s*(?:at|around|after|before|by)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?)?",
    re.IGNORECASE,
)
#: when a part of the day is given without an hour, the call is promised for its start
_EN_PART_HOUR = {"morning": 9, "noon": 12, "afternoon": 14, "evening": 18, "night": 19}


@dataclass
class Found:
    """One extracted value: what, how sure, and the snippet it came from."""

    value: Any
    confidence: float
    source: str

    def display(self) -> str:
        if isinstance(self.value, dt.datetime):
            return self.value.isoformat(timespec="minutes")
        if isinstance(self.value, list):
            return ",".join(str(v) for v in self.value)
        return str(self.value)


@dataclass
class Extraction:
    fields: dict[str, Found] = field(default_factory=dict)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (field, raw, why)

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value


def id_card_valid(number: str) -> bool:
    """18-character resident ID: digits, a real birth date, and the GB 11643 check character."""
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17]


def normalize_mobile(raw: str) -> str | None:
    """Mainland mobile as 11 digits, or None when it is not one (wrong length or prefix)."""
    digits = re.sub(r"[\s-]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if re.fullmatch(r"1[3-9]\d{9}", digits) else None


def _snippet(text: str, start: int, end: int, pad: int = 6) -> str:
    return text[max(0, start - pad) : end + pad].replace("\n", " ")


def _cn_to_int(text: str) -> int | None:
    import cn2an

    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


class Extractor:
    """Configured once (patterns, rules, products), then applied to many texts."""

    def __init__(
        self,
        *,
        patterns: Mapping[str, str] | None = None,
        category_rules: Mapping[str, Sequence[str]] | None = None,
        urgency: Mapping[str, Sequence[str]] | None = None,
        products: Iterable[str] = (),
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.patterns = {name: re.compile(p, re.IGNORECASE) for name, p in (patterns or DEFAULT_PATTERNS).items()}
        rules = category_rules or DEFAULT_CATEGORY_RULES
        self.category_rules = {cat: [k.lower() for k in words] for cat, words in rules.items()}
        self.urgency = {sig: [k.lower() for k in words] for sig, words in (urgency or DEFAULT_URGENCY).items()}
        self.products = sorted(products, key=len, reverse=True)
        self.tz = ZoneInfo(timezone)

    def extract(self, text: str, *, reference: dt.datetime | None = None) -> Extraction:
        """All fields found in ``text``; relative times are resolved against ``reference`` (aware)."""
        out = Extraction()
        self._ids(text, out)
        blocked = [(m.start(), m.end()) for m in _ID_CARD.finditer(text)]
        for pattern in self.patterns.values():
            blocked += [(m.start(), m.end()) for m in pattern.finditer(text)]
        self._phones(text, out, blocked)
        self._names(text, out)
        for name, pattern in self.patterns.items():
            m = pattern.search(text)
            if m:
                value = m.group(1) if m.groups() else m.group(0)
                out.fields[name] = Found(value, 0.95, _snippet(text, m.start(), m.end()))
        self._amount(text, out)
        lowered = text.lower()
        for product in self.products:
            pos = lowered.find(product.lower())
            if pos >= 0:
                out.fields["product"] = Found(product, 0.85, _snippet(text, pos, pos + len(product)))
                break
        self._category(lowered, text, out)
        signals = [sig for sig, words in self.urgency.items() if any(w in lowered for w in words)]
        if signals:
            out.fields["urgency"] = Found(sorted(signals), 0.9, ",".join(sorted(signals)))
        if reference is not None:
            self._callback(text, reference, out)
        return out

    # -- pieces ---------------------------------------------------------------------------
    def _ids(self, text: str, out: Extraction) -> None:
        for m in _ID_CARD.finditer(text):
            raw = m.group(1).upper()
            if id_card_valid(raw):
                out.fields.setdefault("id_card", Found(raw, 0.99, _snippet(text, m.start(), m.end(), 4)))
            else:
                out.rejected.append(("id_card", raw, "check digit or birth date is wrong"))

    def _phones(self, text: str, out: Extraction, blocked: list[tuple[int, int]]) -> None:
        def inside(start: int, end: int) -> bool:
            return any(s <= start and end <= e for s, e in blocked)

        for m in _MOBILE.finditer(text):
            if inside(m.start(), m.end()):
                continue
            number = normalize_mobile(m.group(0))
            if number:
                out.fields.setdefault("mobile", Found(number, 0.95, _snippet(text, m.start(), m.end())))
        if "mobile" not in out.fields:
            for m in _LONG_DIGITS.finditer(text):
                if not inside(m.start(), m.end()):
                    out.rejected.append(("mobile", m.group(0), "not an 11-digit mainland mobile number"))
        for m in _LANDLINE.finditer(text):
            if inside(m.start(), m.end()):
                continue
            out.fields.setdefault(
                "landline", Found(f"{m.group(1)}-{m.group(2)}", 0.85, _snippet(text, m.start(), m.end()))
            )

    def _names(self, text: str, out: Extraction) -> None:
        for m in _NAME_ZH.finditer(text):
            name = m.group(1)
            if name in _NOT_NAMES or name[0] in "我你您他她它这那要" or name.startswith(("来电", "反映", "投诉")):
                continue
            confidence = 0.7 if name.endswith(("先生", "女士")) else 0.85
            out.fields["name"] = Found(name, confidence, _snippet(text, m.start(), m.end()))
            return
        m = _NAME_EN.search(text)
        if m:
            out.fields["name"] = Found(m.group(1), 0.8, _snippet(text, m.start(), m.end()))

    def _amount(self, text: str, out: Extraction) -> None:
        best: tuple[float, int, Decimal, str] | None = None
        for index, pattern in enumerate(_AMOUNT_PATTERNS):
            for m in pattern.finditer(text):
                raw = m.group(1)
                if index < 2:
                    try:
                        value = Decimal(raw.replace(",", "")).quantize(Decimal("0.01"))
                    except InvalidOperation:
                        continue
                else:
                    parsed = capitals_to_amount(raw)
                    if parsed is None:
                        continue
                    value = parsed
                if value <= 0:
                    continue
                context = text[max(0, m.start() - 12) : m.end() + 4]
                confidence = 0.9 if _AMOUNT_CONTEXT.search(context) else 0.65
                if best is None or confidence > best[0] or (confidence == best[0] and m.start() < best[1]):
                    best = (confidence, m.start(), value, _snippet(text, m.start(), m.end()))
        if best:
            out.fields["amount"] = Found(best[2], best[0], best[3])

    def _category(self, lowered: str, text: str, out: Extraction) -> None:
        scores = {cat: sum(1 for w in words if w in lowered) for cat, words in self.category_rules.items()}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] == 0:
            return
        (top, best), second = ranked[0], ranked[1][1] if len(ranked) > 1 else 0
        share = best / (best + second)
        strength = min(1.0, 0.6 + 0.2 * best)
        hits = [w for w in self.category_rules[top] if w in lowered]
        out.fields["category"] = Found(top, round(share * strength, 3), "keywords: " + ",".join(hits))

    def _callback(self, text: str, reference: dt.datetime, out: Extraction) -> None:
        local_ref = reference.astimezone(self.tz)
        for m in _CALLBACK.finditer(text):
            day_word, part, hour_raw, minute_raw = m.groups()
            if not day_word and not part:
                continue  # a bare "三点" is too ambiguous to promise a customer a call
            hour = int(hour_raw) if hour_raw.isdigit() else _cn_to_int(hour_raw)
            if hour is None or hour > 24:
                continue
            if part in ("下午", "晚上", "傍晚") and hour < 12:
                hour += 12
            if part == "中午" and hour < 6:
                hour += 12
            minute = 0
            if minute_raw:
                if minute_raw == "半":
                    minute = 30
                elif minute_raw == "一刻":
                    minute = 15
                elif minute_raw == "三刻":
                    minute = 45
                else:
                    minute = _cn_to_int(minute_raw.rstrip("分")) or 0
            if hour >= 24 or minute >= 60:
                continue
            day = local_ref.date()
            if day_word in _DAY_WORDS:
                day += dt.timedelta(days=_DAY_WORDS[day_word])
            elif day_word:
                target = _WEEKDAYS.index(day_word[-1].replace("天", "日"))
                ahead = (target - day.weekday()) % 7 or 7
                day += dt.timedelta(days=ahead)
            when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
            confidence = 0.85 if when > local_ref else 0.4
            out.fields["callback_time"] = Found(when, confidence, _snippet(text, m.start(), m.end(), 2))
            return
        self._callback_en(text, local_ref, out)

    def _callback_en(self, text: str, local_ref: dt.datetime, out: Extraction) -> None:
        """English relative times; an hour given wins, else the start of the part of the day."""
        for m in _CALLBACK_EN.finditer(text):
            day_word, part, hour_raw, minute_raw, meridiem = m.groups()
            day_word = day_word.lower()
            part = (part or ("night" if day_word == "tonight" else "")).lower()
            if not part and not hour_raw:
                continue  # "tomorrow" alone promises no time
            day = local_ref.date()
            if day_word == "tomorrow":
                day += dt.timedelta(days=1)
            elif day_word == "the day after tomorrow":
                day += dt.timedelta(days=2)
            elif day_word not in ("today", "tonight"):
                target = _EN_DAYS.index(day_word.split()[-1])
                ahead = (target - day.weekday()) % 7 or 7
                day += dt.timedelta(days=ahead + (7 if day_word.startswith("next ") and ahead < 7 else 0))
            if hour_raw:
                hour, minute = int(hour_raw), int(minute_raw or 0)
                pm = (meridiem or "").lower().startswith("p") or (
                    not meridiem and part in ("afternoon", "evening", "night")
                )
                if pm and hour < 12:
                    hour += 12
                confidence = 0.85
            else:
                hour, minute, confidence = _EN_PART_HOUR[part], 0, 0.7
            if hour >= 24 or minute >= 60:
                continue
            when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
            if when <= local_ref:
                confidence = 0.4
            out.fields["callback_time"] = Found(when, confidence, _snippet(text, m.start(), m.end(), 2))
            return

"""Realistic complaint-ticket texts with their ground truth, generated from a seed.

The sandbox helpdesk fills its tickets with these texts, and the tickets bot's tests and
benchmark judge field extraction against the labels that come with them. The texts mix the ways
agents and customers actually write: mobile numbers with ``+86``, spaces or dashes, landlines with
area codes, ID-card numbers (some with a wrong check digit, which must *not* be extracted), amounts
in Arabic digits, Chinese numerals (一百二十元) and 大写 (叁佰元整), and callback promises such as
"明天下午三点". English tickets appear too.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CATEGORIES", "GeneratedText", "generate_texts", "id_card_check_digit", "make_id_card"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: category -> (Chinese complaint sentences, English complaint sentences)
CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    "billing": (
        ["这个月话费莫名其妙多扣了", "账单里有一笔不认识的扣费", "套餐费用被重复收取了", "我被乱收费了，多收了钱"],
        ["I was overcharged on my bill", "there is an unknown charge on my invoice", "I was billed twice"],
    ),
    "network": (
        ["家里宽带老是断网", "手机信号很差，经常打不通电话", "网速特别慢，根本用不了", "4G网络一直没有信号"],
        ["my broadband keeps disconnecting", "no signal at home for days", "the internet speed is terrible"],
    ),
    "refund": (
        ["申请的退款到现在还没到账", "说好的退费一直没有退", "退订以后钱没有退回来"],
        ["my refund has not arrived yet", "I still have not received the refund"],
    ),
    "delivery": (
        ["快递一直没收到", "物流信息一周没更新了", "送货上门的师傅没来"],
        ["my parcel never arrived", "the delivery is a week late"],
    ),
    "service": (
        ["客服态度很差，直接挂我电话", "营业厅工作人员服务态度恶劣", "打了好几次客服都没人处理"],
        ["the agent was rude and hung up on me", "customer service never called me back"],
    ),
}

PRODUCTS = ["畅享套餐", "家庭宽带", "5G尊享套餐", "流量包", "信用卡", "智能电视", "iPhone 15", "会员月卡"]
PRODUCTS_EN = ["Unlimited Plan", "Home Broadband", "Credit Card", "Smart TV", "Premium Membership"]
URGENT_ZH = [
    "再不解决我就投诉到工信部",
    "我要打12315投诉",
    "已经向银保监会反映了",
    "我要投诉到媒体曝光",
    "这是我第三次投诉了",
    "再不处理我就销户",
    "不解决我就携号转网",
]
URGENT_EN = [
    "I will report this to the regulator",
    "this is my third complaint",
    "I will cancel my account if this is not fixed",
]
AREA_CODES = ["010", "021", "020", "0755", "028", "0571", "027"]
_CN_DIGITS = "零一二三四五六七八九"
_CN_UPPER = "零壹贰叁肆伍陆柒捌玖"
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def id_card_check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits of a resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def make_id_card(rng: random.Random, *, valid: bool = True) -> str:
    region = rng.choice(["110101", "310104", "440305", "510107", "330106", "420102"])
    born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    check = id_card_check_digit(body)
    if not valid:
        check = _CHECK[(_CHECK.index(check) + 1 + rng.randrange(10)) % 11]
    return body + check


def _cn_small(n: int) -> str:
    """1..9999 in everyday Chinese numerals (一百二十)."""
    units = [(1000, "千"), (100, "百"), (10, "十")]
    out, zero = "", False
    for value, unit in units:
        digit = n // value
        n %= value
        if digit:
            if zero:
                out += "零"
                zero = False
            out += ("" if (value == 10 and digit == 1 and not out) else _CN_DIGITS[digit]) + unit
        elif out:
            zero = True
    if n:
        if zero:
            out += "零"
        out += _CN_DIGITS[n]
    return out or "零"


def _cn_upper(n: int) -> str:
    """Whole yuan in 大写 (叁佰贰拾元整) as banks and receipts write it."""
    units = [(1000, "仟"), (100, "佰"), (10, "拾")]
    out, zero = "", False
    for value, unit in units:
        digit = n // value
        n %= value
        if digit:
            if zero:
                out += "零"
                zero = False
            out += _CN_UPPER[digit] + unit
        elif out:
            zero = True
    if n:
        if zero:
            out += "零"
        out += _CN_UPPER[n]
    return out + "元整"


@dataclass
class GeneratedText:
    """One ticket text and the values a perfect extractor would find in it."""

    text: str
    language: str
    subject: str
    labels: dict[str, Any] = field(default_factory=dict)


def _format_mobile(rng: random.Random, digits: str) -> str:
    style = rng.randrange(5)
    if style == 0:
        return digits
    if style == 1:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return f"+86-{digits}"
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def _callback_phrase(rng: random.Random, base: dt.datetime) -> tuple[str, dt.datetime]:
    """A Chinese callback promise and the aware local time it means, relative to ``base``."""
    local = base.astimezone(SHANGHAI)
    day_word, offset = rng.choice([("今天", 0), ("明天", 1), ("后天", 2)])
    part, hour_base = rng.choice([("上午", 0), ("下午", 12), ("晚上", 12)])
    hour = rng.choice([9, 10, 11]) if part == "上午" else rng.choice([2, 3, 4, 5]) if part == "下午" else 7
    half = rng.random() < 0.3
    phrase = (
        f"{day_word}{part}{_CN_DIGITS[hour] if hour < 10 else '十' + ('' if hour == 10 else _CN_DIGITS[hour - 10])}点"
    )
    if half:
        phrase += "半"
    day = (local + dt.timedelta(days=offset)).date()
    when = dt.datetime(day.year, day.month, day.day, hour + hour_base, 30 if half else 0, tzinfo=SHANGHAI)
    return phrase, when


def generate_texts(count: int, *, seed: int = 1, base: dt.datetime | None = None) -> list[GeneratedText]:
    """``count`` ticket texts with labels, the same for the same seed and base time."""
    from faker import Faker

    rng = random.Random(seed)
    fake_zh = Faker("zh_CN")
    fake_en = Faker("en_US")
    fake_zh.seed_instance(seed)
    fake_en.seed_instance(seed + 1)
    base = base or dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    return [_one(rng, fake_zh, fake_en, base) for _ in range(count)]


def _one(rng: random.Random, fake_zh: Any, fake_en: Any, base: dt.datetime) -> GeneratedText:
    english = rng.random() < 0.2
    category = rng.choice(list(CATEGORIES))
    zh_lines, en_lines = CATEGORIES[category]
    labels: dict[str, Any] = {"category": category, "urgent": False}
    parts: list[str] = []
    mobile = "1" + rng.choice("3456789") + "".join(str(rng.randrange(10)) for _ in range(9))
    if english:
        name = fake_en.name()
        product = rng.choice(PRODUCTS_EN)
        parts.append(rng.choice([f"Customer {name} called.", f"My name is {name}.", f"Caller: {name}."]))
        parts.append(f"{rng.choice(en_lines).capitalize()}, for my {product}.")
        labels.update(name=name, product=product)
        if rng.random() < 0.8:
            parts.append(f"Please call me on {_format_mobile(rng, mobile)}.")
            labels["mobile"] = mobile
        if rng.random() < 0.5:
            order = f"DD{rng.randrange(10**11, 10**12)}"
            parts.append(f"Order number {order}.")
            labels["order_no"] = order
        if rng.random() < 0.6:
            amount = Decimal(rng.randrange(10, 5000)) + Decimal(rng.choice(["0", "0.5", "0.99"]))
            parts.append(f"I want RMB {amount} back.")
            labels["amount"] = amount.normalize() if amount == amount.to_integral() else amount
        if rng.random() < 0.2:
            parts.append(rng.choice(URGENT_EN) + ".")
            labels["urgent"] = True
        subject = f"Complaint: {rng.choice(en_lines)[:40]}"
        text = " ".join(parts)
        return GeneratedText(text=text, language="en", subject=subject, labels=_norm(labels))

    name = fake_zh.name()
    product = rng.choice(PRODUCTS)
    labels.update(name=name, product=product)
    parts.append(rng.choice([f"客户{name}来电反映：", f"我是{name}，", f"来电人：{name}。", f"用户{name}投诉，"]))
    parts.append(f"{rng.choice(zh_lines)}，办理的是{product}。")
    if rng.random() < 0.85:
        parts.append(rng.choice(["联系电话", "手机", "手机号", "电话"]) + f"：{_format_mobile(rng, mobile)}。")
        labels["mobile"] = mobile
    if rng.random() < 0.25:
        area = rng.choice(AREA_CODES)
        local_no = str(rng.randrange(2, 9)) + "".join(str(rng.randrange(10)) for _ in range(7))
        parts.append(f"座机{area}-{local_no}。")
        labels["landline"] = f"{area}-{local_no}"
    if rng.random() < 0.4:
        valid = rng.random() < 0.8
        card = make_id_card(rng, valid=valid)
        parts.append(f"身份证号{card}。")
        if valid:
            labels["id_card"] = card
    if rng.random() < 0.5:
        order = f"DD{rng.randrange(10**11, 10**12)}"
        parts.append(rng.choice(["订单号", "订单编号"]) + f"{order}。")
        labels["order_no"] = order
    if rng.random() < 0.3:
        account = "".join(str(rng.randrange(10)) for _ in range(16))
        parts.append(f"账号{account}。")
        labels["account_no"] = account
    if rng.random() < 0.7:
        style = rng.randrange(3)
        yuan = rng.randrange(5, 3000)
        if style == 0:
            cents = rng.choice([0, 0, 50, 99])
            amount = Decimal(yuan) + Decimal(cents) / 100
            parts.append(f"涉及金额{amount}元。")
        elif style == 1:
            amount = Decimal(yuan)
            parts.append(f"要求退还{_cn_small(yuan)}元。")
        else:
            amount = Decimal(yuan)
            parts.append(f"争议金额{_cn_upper(yuan)}。")
        labels["amount"] = amount
    if rng.random() < 0.25:
        parts.append(rng.choice(URGENT_ZH) + "！")
        labels["urgent"] = True
    if rng.random() < 0.4:
        phrase, when = _callback_phrase(rng, base)
        parts.append(f"客户要求{phrase}回电。")
        labels["callback_time"] = when
    subject = f"投诉：{rng.choice(zh_lines)}"
    return GeneratedText(text="".join(parts), language="zh", subject=subject, labels=_norm(labels))


def _norm(labels: dict[str, Any]) -> dict[str, Any]:
    amount = labels.get("amount")
    if isinstance(amount, Decimal):
        labels["amount"] = amount.quantize(Decimal("0.01"))
    return labels

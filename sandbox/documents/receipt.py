"""A Chinese till receipt (小票) drawn from a seed."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from backroom.sandbox.documents.render import CENT, Distortion, cjk_font, faker_for, photograph

__all__ = ["RECEIPT_ITEMS", "SHOPS", "make_receipt"]

SHOPS = ["便利店", "超市", "餐厅", "咖啡馆", "文具店", "面馆", "书店", "药房"]
RECEIPT_ITEMS = ["矿泉水", "咖啡", "三明治", "签字笔", "笔记本", "牛肉面", "可乐", "A4纸", "口罩", "茶叶蛋", "酸奶"]


def make_receipt(
    seed: int, *, distortion: Distortion | None = None, strength: float = 1.0, issue_date: dt.date | None = None
) -> tuple[Any, dict[str, Any]]:
    """A Chinese till receipt (小票) image and its ground truth."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    fake = faker_for(seed + 7919)
    shop = fake.company_prefix() + rng.choice(SHOPS)
    address = fake.address().split(" ")[0][:22]
    date = issue_date or dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 330))
    time = dt.time(rng.randrange(8, 22), rng.randrange(60), rng.randrange(60))
    items = []
    for _ in range(rng.randint(2, 5)):
        qty = rng.randint(1, 3)
        price = (Decimal(rng.randrange(150, 6000)) / 100).quantize(CENT)
        items.append((rng.choice(RECEIPT_ITEMS), qty, price, (price * qty).quantize(CENT)))
    total = sum((i[3] for i in items), Decimal("0.00"))
    method = rng.choice(["微信支付", "支付宝", "现金"])
    paid = (total // 10 + 1) * 10 if method == "现金" else total
    width = 620
    lines_count = 14 + len(items)
    image = Image.new("RGB", (width, 90 + lines_count * 46), (253, 253, 250))
    draw = ImageDraw.Draw(image)
    f_big, f = cjk_font(36), cjk_font(25)
    y = 30

    def center(text: str, font: Any) -> None:
        nonlocal y
        draw.text(((width - draw.textlength(text, font=font)) / 2, y), text, font=font, fill=(15, 15, 15))
        y += 50 if font is f_big else 40

    def pair(left: str, right: str) -> None:
        nonlocal y
        draw.text((30, y), left, font=f, fill=(15, 15, 15))
        draw.text((width - 30 - draw.textlength(right, font=f), y), right, font=f, fill=(15, 15, 15))
        y += 40

    center(shop, f_big)
    center(address, f)
    center(f"电话: {fake.phone_number()}", f)
    y += 6
    draw.text((30, y), f"日期: {date.isoformat()} {time.strftime('%H:%M:%S')}", font=f, fill=(15, 15, 15))
    y += 40
    draw.text((30, y), f"单号: {rng.randrange(10**9, 10**10)}", font=f, fill=(15, 15, 15))
    y += 40
    draw.text((30, y), "-" * 40, font=f, fill=(15, 15, 15))
    y += 34
    pair("商品  数量", "金额")
    for name, qty, _price, amount in items:
        pair(f"{name}  x{qty}", f"{amount:.2f}")
    draw.text((30, y), "-" * 40, font=f, fill=(15, 15, 15))
    y += 34
    pair("合计:", f"¥{total:.2f}")
    pair(f"{method}:", f"¥{paid:.2f}")
    if paid != total:
        pair("找零:", f"¥{paid - total:.2f}")
    center("谢谢惠顾 欢迎再次光临", f)
    truth = {
        "type": "receipt",
        "company": shop,
        "address": address,
        "date": date.isoformat(),
        "time": time.isoformat(),
        "total": f"{total:.2f}",
        "currency": "CNY",
        "payment_method": {"微信支付": "wechat", "支付宝": "alipay", "现金": "cash"}[method],
    }
    distortion = distortion or Distortion.random(rng, strength=strength)
    truth["distortion"] = distortion.__dict__
    return photograph(image, distortion, rng), truth

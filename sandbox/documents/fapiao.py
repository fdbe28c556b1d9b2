"""A Chinese VAT invoice (fapiao) drawn from a seed: the QR code, the buyer and seller, goods, 大写 total."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from backroom.ocr.chinese import USCC_ALPHABET, amount_to_capitals, uscc_check_char
from backroom.sandbox.documents.render import CENT, Distortion, cjk_font, faker_for, photograph

__all__ = ["GOODS", "PROVINCES", "TITLES", "make_fapiao", "make_uscc"]


def make_uscc(rng: random.Random) -> str:
    """A well-formed 18-character unified social credit code (valid GB 32100 check character)."""
    area = rng.choice(["110108", "310115", "440300", "440106", "330106", "510107", "320505", "420111"])
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    org = body + {10: "X", 11: "0"}.get(check, str(check))
    first17 = rng.choice("9159") + rng.choice("1123") + area + org
    first17 = "".join(ch if ch in USCC_ALPHABET else "0" for ch in first17)
    return first17 + uscc_check_char(first17)


GOODS = [
    ("*信息技术服务*软件服务费", "项", Decimal("0.06")),
    ("*餐饮服务*餐费", "次", Decimal("0.06")),
    ("*住宿服务*住宿费", "天", Decimal("0.06")),
    ("*运输服务*客运服务费", "次", Decimal("0.09")),
    ("*计算机外部设备*键盘", "个", Decimal("0.13")),
    ("*纸制品*复印纸", "箱", Decimal("0.13")),
    ("*电子元件*数据线", "根", Decimal("0.13")),
    ("*办公用品*签字笔", "盒", Decimal("0.13")),
]
TITLES = {
    "01": "增值税专用发票",
    "04": "增值税普通发票",
    "10": "增值税电子普通发票",
    "31": "电子发票（增值税专用发票）",
    "32": "电子发票（普通发票）",
}
PROVINCES = ["北京", "上海", "广东", "浙江", "江苏", "四川", "湖北", "深圳"]


def make_fapiao(
    seed: int,
    *,
    kind: str | None = None,
    buyer_name: str | None = None,
    buyer_tax_id: str | None = None,
    issue_date: dt.date | None = None,
    qr_mismatch: bool = False,
    distortion: Distortion | None = None,
    strength: float = 1.0,
) -> tuple[Any, dict[str, Any]]:
    """A fapiao image (PIL, RGB) and its ground truth. Same seed and arguments → same invoice."""
    import qrcode
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    fake = faker_for(seed)
    kind = kind or rng.choice(list(TITLES))
    digital = kind in ("31", "32")
    code = "" if digital else f"{rng.choice(['0440', '0310', '0110', '0330'])}{rng.randrange(10**7, 10**8)}"
    if digital:
        code = ""
    number = f"{rng.randrange(10**19, 10**20)}" if digital else f"{rng.randrange(10**7, 10**8)}"
    date = issue_date or dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 330))
    check_code = "" if kind in ("01", "31") else "".join(str(rng.randrange(10)) for _ in range(20))
    buyer = buyer_name or fake.company()
    buyer_id = buyer_tax_id or make_uscc(rng)
    seller = fake.company()
    while seller == buyer:
        seller = fake.company()
    seller_id = make_uscc(rng)
    items = []
    for _ in range(rng.randint(1, 3)):
        name, unit, rate = rng.choice(GOODS)
        qty = rng.randint(1, 5)
        price = (Decimal(rng.randrange(500, 90000)) / 100).quantize(CENT)
        amount = (price * qty).quantize(CENT)
        items.append({"name": name, "unit": unit, "quantity": qty, "price": price, "amount": amount, "rate": rate})
    rate = items[0]["rate"]
    for item in items:
        item["rate"] = rate
        item["tax"] = (item["amount"] * rate).quantize(CENT)
    amount = sum((i["amount"] for i in items), Decimal("0.00"))
    tax = sum((i["tax"] for i in items), Decimal("0.00"))
    total = amount + tax
    # a 数电票's QR code states the total with tax; older invoices' the amount before it
    qr_base = total if kind in ("31", "32") else amount
    qr_amount = qr_base + Decimal(rng.choice([100, 250, 1000])) if qr_mismatch else qr_base
    qr_text = f"01,{kind},{code},{number},{qr_amount:.2f},{date:%Y%m%d},{check_code},{rng.randrange(16**4):04X},"

    width, height = 1600, 1000
    brown, ink = (150, 80, 40), (20, 20, 30)
    image = Image.new("RGB", (width, height), (252, 251, 246))
    draw = ImageDraw.Draw(image)
    f_title, f_label, f_value, f_small = cjk_font(44), cjk_font(24), cjk_font(25), cjk_font(21)
    province = rng.choice(PROVINCES)
    title = TITLES[kind] if digital else f"{province}{TITLES[kind]}"
    tw = draw.textlength(title, font=f_title)
    draw.text(((width - tw) / 2, 40), title, font=f_title, fill=brown)
    draw.line([((width - tw) / 2, 100), ((width + tw) / 2, 100)], fill=brown, width=3)
    draw.line([((width - tw) / 2, 106), ((width + tw) / 2, 106)], fill=brown, width=2)

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=5, border=2)
    qr.add_data(qr_text)
    qr.make(fit=True)
    qr_img = qr.make_image(fill_color="black", back_color="white").convert("RGB").resize((180, 180), Image.NEAREST)
    image.paste(qr_img, (50, 30))

    x_label, x_value = 1080, 1230
    y = 40
    top_fields = []
    if code:
        top_fields.append(("发票代码:", code))
    top_fields.append(("发票号码:", number))
    top_fields.append(("开票日期:", f"{date.year}年{date.month:02d}月{date.day:02d}日"))
    if check_code:
        top_fields.append(("校 验 码:", " ".join(check_code[i : i + 5] for i in range(0, 20, 5))))
    for label, value in top_fields:
        draw.text((x_label, y), label, font=f_label, fill=brown)
        draw.text((x_value, y), value, font=f_value if label != "校 验 码:" else f_small, fill=ink)
        y += 42

    left, right, top = 40, width - 40, 250
    draw.rectangle([left, top, right, 900], outline=brown, width=2)

    def party(y0: int, role: str, name: str, tax_id: str, address: str, bank: str) -> None:
        draw.rectangle([left, y0, right, y0 + 150], outline=brown, width=2)
        draw.line([(left + 60, y0), (left + 60, y0 + 150)], fill=brown, width=2)
        for i, ch in enumerate(role):
            draw.text((left + 18, y0 + 18 + i * 40), ch, font=f_label, fill=brown)
        rows = [("名        称:", name), ("纳税人识别号:", tax_id), ("地 址、电 话:", address), ("开户行及账号:", bank)]
        for i, (label, value) in enumerate(rows):
            yy = y0 + 10 + i * 35
            draw.text((left + 80, yy), label, font=f_label, fill=brown)
            draw.text((left + 270, yy), value, font=f_value, fill=ink)
        draw.line([(1050, y0), (1050, y0 + 150)], fill=brown, width=2)
        draw.text((1070, y0 + 60), "密码区", font=f_label, fill=brown)

    phone = fake.phone_number()
    party(
        top,
        "购买方",
        buyer,
        buyer_id,
        f"{fake.address()[:18]} {phone}",
        f"{fake.company_prefix()}银行 {rng.randrange(10**15, 10**16)}",
    )
    header_y = top + 165
    columns = [(60, "货物或应税劳务、服务名称"), (470, "规格型号"), (620, "单位"), (720, "数量"), (830, "单价"),
               (1010, "金额"), (1190, "税率"), (1330, "税额")]  # fmt: skip
    for x, label in columns:
        draw.text((x, header_y), label, font=f_label, fill=brown)
    yy = header_y + 45
    for item in items:
        draw.text((60, yy), item["name"], font=f_value, fill=ink)
        draw.text((640, yy), item["unit"], font=f_value, fill=ink)
        draw.text((740, yy), str(item["quantity"]), font=f_value, fill=ink)
        draw.text((830, yy), f"{item['price']:.2f}", font=f_value, fill=ink)
        draw.text((1010, yy), f"{item['amount']:.2f}", font=f_value, fill=ink)
        draw.text((1195, yy), f"{int(rate * 100)}%", font=f_value, fill=ink)
        draw.text((1330, yy), f"{item['tax']:.2f}", font=f_value, fill=ink)
        yy += 38
    sum_y = 600
    draw.line([(left, sum_y - 10), (right, sum_y - 10)], fill=brown, width=1)
    draw.text((200, sum_y), "合        计", font=f_label, fill=brown)
    draw.text((1000, sum_y), f"¥{amount:.2f}", font=f_value, fill=ink)
    draw.text((1320, sum_y), f"¥{tax:.2f}", font=f_value, fill=ink)
    cap_y = sum_y + 55
    draw.rectangle([left, cap_y - 12, right, cap_y + 45], outline=brown, width=2)
    draw.text((60, cap_y), "价税合计（大写）", font=f_label, fill=brown)
    draw.text((330, cap_y), f"⊗{amount_to_capitals(total)}", font=f_value, fill=ink)
    draw.text((1100, cap_y), "（小写）", font=f_label, fill=brown)
    draw.text((1210, cap_y), f"¥{total:.2f}", font=f_value, fill=ink)
    party(
        cap_y + 45,
        "销售方",
        seller,
        seller_id,
        f"{fake.address()[:18]} {fake.phone_number()}",
        f"{fake.company_prefix()}银行 {rng.randrange(10**15, 10**16)}",
    )
    foot_y = 920
    for x, label in ((80, f"收款人: {fake.name()}"), (480, f"复核: {fake.name()}"), (880, f"开票人: {fake.name()}")):
        draw.text((x, foot_y), label, font=f_label, fill=brown)
    seal_x, seal_y = 1300, 880
    draw.ellipse([seal_x, seal_y - 40, seal_x + 200, seal_y + 80], outline=(210, 40, 40), width=4)

    truth = {
        "type": "fapiao",
        "kind": kind,
        "kind_name": TITLES[kind],
        "code": code,
        "number": number,
        "date": date.isoformat(),
        "check_code": check_code,
        "buyer_name": buyer,
        "buyer_tax_id": buyer_id,
        "seller_name": seller,
        "seller_tax_id": seller_id,
        "amount": f"{amount:.2f}",
        "tax_rate": f"{rate:.2f}",
        "tax": f"{tax:.2f}",
        "total": f"{total:.2f}",
        "total_capitals": amount_to_capitals(total),
        "qr_text": qr_text,
        "qr_mismatch": qr_mismatch,
        "items": [{k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in item.items()} for item in items],
    }
    distortion = distortion or Distortion.random(rng, strength=strength)
    truth["distortion"] = distortion.__dict__
    return photograph(image, distortion, rng), truth

"""Receipts and Chinese VAT invoices (fapiao) rendered as images, with ground-truth JSON.

For the demo and the tests (never the only data the OCR is judged on): every document is drawn
deterministically from a seed with a CJK font from Debian's packages (fonts-wqy-microhei or
fonts-noto-cjk), then photographed badly on purpose: a small tilt, optional upside-down turn, blur,
sensor noise and JPEG compression. A fapiao carries the QR code real ones carry (see
:mod:`ocr.qr`); ``qr_mismatch=True`` makes the QR disagree with the printed amount, as a forged or
altered invoice would.

    python -m sandbox.documents OUT_DIR --fapiao 20 --receipts 10 --seed 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from backroom.ocr.chinese import USCC_ALPHABET, amount_to_capitals, uscc_check_char

__all__ = [
    "FONT_CANDIDATES",
    "Distortion",
    "find_font",
    "make_fapiao",
    "make_receipt",
    "make_uscc",
    "write_fapiao",
    "write_receipt",
    "write_set",
]

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
)
CENT = Decimal("0.01")


def find_font() -> tuple[str, int]:
    """A font file with CJK glyphs (path, face index); a clear error says which package to install."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise FileNotFoundError(
        "no CJK font found; install Debian's fonts-wqy-microhei or fonts-noto-cjk "
        f"(looked for {', '.join(p for p, _ in FONT_CANDIDATES)})"
    )


def _font(size: int) -> Any:
    from PIL import ImageFont

    path, index = find_font()
    return ImageFont.truetype(path, size, index=index)


@dataclass(frozen=True)
class Distortion:
    """How badly the document is photographed."""

    tilt: float = 0.0  # degrees, counter-clockwise
    upside_down: bool = False
    blur: float = 0.0  # Gaussian radius in px
    noise: float = 0.0  # std-dev of pixel noise
    jpeg_quality: int = 90
    scale: float = 1.0  # resolution of the photo relative to the drawn page (1600 px wide fapiao)

    @classmethod
    def random(cls, rng: random.Random, *, strength: float = 1.0, upside_down: bool = False) -> Distortion:
        return cls(
            tilt=round(rng.uniform(-2.5, 2.5) * strength, 2),
            upside_down=upside_down,
            blur=round(rng.uniform(0.0, 0.9) * strength, 2),
            noise=round(rng.uniform(0, 6) * strength, 1),
            jpeg_quality=int(90 - 35 * strength * rng.random()),
        )

    def scaled(self, scale: float) -> Distortion:
        return Distortion(self.tilt, self.upside_down, self.blur, self.noise, self.jpeg_quality, scale)


def _apply(image: Any, distortion: Distortion, rng: random.Random) -> Any:
    import numpy as np
    from PIL import Image, ImageFilter

    if distortion.scale != 1.0:
        size = (round(image.width * distortion.scale), round(image.height * distortion.scale))
        image = image.resize(size, Image.LANCZOS)
    if distortion.tilt:
        image = image.rotate(distortion.tilt, resample=Image.BICUBIC, expand=True, fillcolor=(250, 250, 247))
    if distortion.upside_down:
        image = image.rotate(180, expand=True)
    if distortion.blur:
        image = image.filter(ImageFilter.GaussianBlur(distortion.blur))
    if distortion.noise:
        array = np.asarray(image).astype(np.int16)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, distortion.noise, array.shape)
        image = Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8))
    return image


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


def _faker(seed: int) -> Any:
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake


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
    fake = _faker(seed)
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
    qr_amount = amount + Decimal(rng.choice([100, 250, 1000])) if qr_mismatch else amount
    qr_text = f"01,{kind},{code},{number},{qr_amount:.2f},{date:%Y%m%d},{check_code},{rng.randrange(16**4):04X},"

    width, height = 1600, 1000
    brown, ink = (150, 80, 40), (20, 20, 30)
    image = Image.new("RGB", (width, height), (252, 251, 246))
    draw = ImageDraw.Draw(image)
    f_title, f_label, f_value, f_small = _font(44), _font(24), _font(25), _font(21)
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
    return _apply(image, distortion, rng), truth


SHOPS = ["便利店", "超市", "餐厅", "咖啡馆", "文具店", "面馆", "书店", "药房"]
RECEIPT_ITEMS = ["矿泉水", "咖啡", "三明治", "签字笔", "笔记本", "牛肉面", "可乐", "A4纸", "口罩", "茶叶蛋", "酸奶"]


def make_receipt(
    seed: int, *, distortion: Distortion | None = None, strength: float = 1.0, issue_date: dt.date | None = None
) -> tuple[Any, dict[str, Any]]:
    """A Chinese till receipt (小票) image and its ground truth."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    fake = _faker(seed + 7919)
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
    f_big, f = _font(36), _font(25)
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
    return _apply(image, distortion, rng), truth


def _save(image: Any, truth: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    quality = int(truth.get("distortion", {}).get("jpeg_quality", 90))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    path.with_suffix(".json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def write_fapiao(path: Path, seed: int, **kwargs: Any) -> dict[str, Any]:
    """Render a fapiao to ``path`` (JPEG/PNG/PDF...) and its truth beside it as ``.json``."""
    image, truth = make_fapiao(seed, **kwargs)
    _save(image, truth, Path(path))
    return truth


def write_receipt(path: Path, seed: int, **kwargs: Any) -> dict[str, Any]:
    image, truth = make_receipt(seed, **kwargs)
    _save(image, truth, Path(path))
    return truth


def write_set(folder: Path, *, fapiao: int = 10, receipts: int = 5, seed: int = 0, strength: float = 1.0) -> list[Path]:
    """A folder of generated documents (``fapiao_NNN.jpg``, ``receipt_NNN.jpg``) with truths."""
    folder = Path(folder)
    paths = []
    for i in range(fapiao):
        path = folder / f"fapiao_{i:03d}.jpg"
        write_fapiao(path, seed * 10_000 + i, strength=strength)
        paths.append(path)
    for i in range(receipts):
        path = folder / f"receipt_{i:03d}.jpg"
        write_receipt(path, seed * 10_000 + 5_000 + i, strength=strength)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fapiao", type=int, default=10)
    parser.add_argument("--receipts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strength", type=float, default=1.0, help="0 = clean scans, 1 = phone photos")
    args = parser.parse_args(argv)
    for path in write_set(args.out, fapiao=args.fapiao, receipts=args.receipts, seed=args.seed, strength=args.strength):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

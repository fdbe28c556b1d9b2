"""Receipt fields from OCR lines: merchant (``company``), address, date, time, total, tax,
currency, payment method and, where legible, line items.

The rules follow how receipts are laid out the world over rather than any one shop:

- the merchant's name is the first name-like line at the top, in large type or carrying a company
  word (SDN BHD, LTD, 公司, 店...), never a registration number, phone or "TAX INVOICE";
- the address is the run of lines right under it, up to the first phone / tax-ID / title line;
- the date is the one labelled "Date"/"日期" if any, else the first date printed;
- the total is the amount beside the strongest "total" label (GRAND/NET TOTAL, TOTAL INCL. TAX,
  AMOUNT DUE, 合计, 实付...), never SUB TOTAL, TOTAL QTY or a tax line; it gains confidence when
  the amount paid less the change confirms it.

Confidence is the OCR confidence of the line the value came from, lowered when a weaker rule
chose it, so the audit can send doubtful values to review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from backroom.ocr.engines import Line
from backroom.ocr.fields import Extraction, Field
from backroom.ocr.layout import Row, group_rows, right_of
from backroom.ocr.normalise import find_amounts, find_dates, find_time, half_width

__all__ = ["DEFAULT_RULES", "RULES", "extract_receipt", "receipt_score"]

#: Rules that can be switched on and off one by one, so the benchmark can cross-validate each
#: (tests/benchmarks/bench_receipt_fields.py, 5 folds over the shared receipts). A rule is on by
#: default (:data:`DEFAULT_RULES`) only where it raised the mean held-out score over the folds:
#:
#: - ``address_words``: a word of an address one letter away from a word every Malaysian address
#:   uses (JALAN, TAMAN, KAWASAN, the states...) is that word ("Kawassn", "SRKSYEN", "Selengor").
#:   Off: over the folds it cost 0.7 points of address (exact) for 0.2 squashed;
#: - ``address_start``: an address begins at its number: a line without digits right before a
#:   line that starts with "NO"/"LOT"/"UNIT"/a number is a branch or building name, not the address;
#: - ``address_commas``: OCR reads the comma between address parts as a full stop ("PUDU. 55100");
#: - ``company_suffix_space``: a legal suffix glued to the name ("IMPRESSIONSDN BHD") gets its space.
#: - ``company_line_above``: a name-like line in the same type right above the name is its first half;
#: - ``company_glued_words``: a name OCR read without its spaces is split around its trade words.
RULES = frozenset(
    {
        "address_words",
        "address_start",
        "address_commas",
        "company_suffix_space",
        "company_line_above",
        "company_glued_words",
    }
)
DEFAULT_RULES = frozenset(
    {"address_start", "address_commas", "company_suffix_space", "company_line_above", "company_glued_words"}
)

COMPANY_WORDS = re.compile(
    r"\b(SDN\.?\s*BHD|BHD|BERHAD|S/B|LTD|LIMITED|INC|LLC|PLC|GMBH|CO\.|COMPANY|CORP|ENTERPRISES?|TRADING|"
    r"PERNIAGAAN|KEDAI|RESTORAN|RESTAURANT|CAFE|BAKERY|BAKERIES|HARDWARE|STORES?|MART|SUPERMARKET|"
    r"MINIMARKET|HYPERMARKET|PHARMACY|STATIONERY|BOOKSTORE|TRADERS?|INDUSTRIES|HOLDINGS|MARKETING|"
    r"SERVICES?|CENTRE|CENTER|SHOP|BOUTIQUE|HOUSE|KITCHEN|FOOD|BISTRO|PUB|HOTEL|GROUP|PHOTO|"
    r"ELECTRICAL|MOTOR|AUTO|TEA|COFFEE|KOPITIAM|MAMAK|NASI)\b|公司|商店|超市|餐厅|饭店|酒店|药房|便利店|商行|"
    r"[店铺馆行厂]$",
    re.I,
)
STOP_HEADER = re.compile(
    r"\b(TEL|TELEPHONE|PHONE|FAX|H/?P|MOBILE|E-?MAIL|WWW|HTTP|GST|SST|REG|ROC|CO\.?\s*NO|COMPANY\s*NO|"
    r"TAX\s*INVOICE|INVOICE|RECEIPT|BILL|CASHIER|TABLE|DATE|TIME|TERMINAL|POS|DOC|NO\s*:)\b|"
    r"电话|电話|税号|发票|收据|收银|日期|小票|单号|网址",
    re.I,
)
REG_NUMBER = re.compile(r"^[\(\[]?\s*[A-Z]{0,3}\d[\d\s\-]*[-\s]?[A-Z]?\s*[\)\]]?$", re.I)
ADDRESS_HINT = re.compile(
    r"\b(NO\.?|LOT|JALAN|JLN|TAMAN|TMN|LORONG|PERSIARAN|BANDAR|KAWASAN|BLOK|BLOCK|WISMA|PLAZA|LEVEL|"
    r"FLOOR|GROUND|ROAD|RD|STREET|ST|AVENUE|AVE|KM|BATU|KG|KAMPUNG|SEKSYEN|SECTION|SELANGOR|JOHOR|"
    r"KUALA\s+LUMPUR|PETALING|SHAH\s+ALAM|PERAK|PAHANG|KEDAH|MELAKA|PENANG|SABAH|SARAWAK|UNIT|SUITE|"
    r"MALAYSIA|SINGAPORE|CHINA|DARUL|EHSAN|WILAYAH|PERSEKUTUAN|MENARA|LEVE[L1]|BANGUNAN|KOMPLEKS|PUSAT)\b|"
    r"^\d+[A-Z]?\s*,|\b[A-Z]{1,3}\d{1,2}/\d|"
    r"(?<!\d)\d{5}(?!\d)|省|市|区|县|路|街|道|号|楼|室|大厦|广场",
    re.I,
)
POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")
PHONE = re.compile(r"(?<!\d)(\+?\d{2,4}[\s-]?)?\d{3,4}[\s-]?\d{4}(?!\d)")

TOTAL_STRONG = re.compile(
    r"GRAND\s*TOTAL|NETT?\s*TOTAL|BALANCE\s*DUE|TOTAL\s*AMOUNT|TOTAL\s*AMT|AMOUNT\s*DUE|TOTAL\s*DUE|TOTAL\s*PAYABLE|"
    r"AMOUNT\s*PAYABLE|TOTAL\s*PAYMENT|ROUNDED\s*TOTAL|TOTAL\s*ROUNDED|TOTAL\s*INCL|TOTAL\s*INC\b|"
    r"INCL\.?\s*(GST|SST|TAX)|INCLUSIVE|INCLUDES|TOTAL\s*SALES|TOTAL\s*\(?(RM|MYR|SGD|USD|RMB|CNY)\)?|TOTAL\s*:|"
    r"价税合计|合计|总计|总额|实付|应付|应收|支付金额|付款金额|消费金额",
    re.I,
)
TOTAL_WORD = re.compile(r"TOTAL|TOTA1|T0TAL|AMOUNT|AN?OUNT|AMOUN|JUMLAH|\bTL\b|\bAMT\b|\bDUE\b|金额", re.I)
TOTAL_EXCLUDE = re.compile(
    r"SUB\s*-?\s*TOTAL|TOTAL\s*(QTY|QUANTITY|ITEM|ITEMS|PCS|UNIT|NO\b|POINT|SAVING|DISCOUNT|DISC|GST|SST|TAX\b|"
    r"EXCL|EX\b|WEIGHT|VOL|COUNT|BEFORE)|EXCL|EXCLUSIVE|0%\s*SUPPLIES|ITEM\(?S\)?|QTY|DISCOUNT|SAVING|"
    r"GST\s*@|GST\s*\d|TAX\s*\(|TAX\s*AMOUNT|TAX\s*TOTAL|GST\s*TOTAL|ADJ|ACCEPTED|SERVICE\s*CHARGE|CHANGE|找零|税额|小计|数量|件数",
    re.I,
)
PAID = re.compile(
    r"\b(CASH|VISA|MASTER|MASTERCARD|CARD|CREDIT|DEBIT|TENDER|TENDERED|PAID|PAYMENT|AMEX|E-?WALLET|TNG|"
    r"GRABPAY|BOOST)\b|现金|微信|支付宝|银行卡|刷卡|实收",
    re.I,
)
CHANGE = re.compile(r"\bCHANGE\b|找零|找赎", re.I)
TAX_LABEL = re.compile(r"\b(GST|SST|VAT|TAX)\b(?!\s*(INVOICE|ID|REG|NO))|税额|税金", re.I)
DATE_LABEL = re.compile(r"DATE|TARIKH|日期|DT\b", re.I)
CURRENCIES = (
    (re.compile(r"\bRM\b|\bMYR\b|RM\d", re.I), "MYR"),
    (re.compile(r"¥|￥|元|\bRMB\b|\bCNY\b|人民币"), "CNY"),
    (re.compile(r"\bSGD\b|S\$"), "SGD"),
    (re.compile(r"\bUSD\b|US\$"), "USD"),
)
PAYMENT_METHODS = (
    (re.compile(r"微信|WECHAT", re.I), "wechat"),
    (re.compile(r"支付宝|ALIPAY", re.I), "alipay"),
    (re.compile(r"\bVISA\b", re.I), "visa"),
    (re.compile(r"MASTER", re.I), "mastercard"),
    (re.compile(r"\bAMEX\b", re.I), "amex"),
    (re.compile(r"CREDIT\s*CARD|DEBIT|\bCARD\b|银行卡|刷卡", re.I), "card"),
    (re.compile(r"\bCASH\b|现金", re.I), "cash"),
)


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def _plain(text: str) -> str:
    """Half-width forms, and no accents on Latin letters (OCR adds them to plain capitals)."""
    text = half_width(text)
    if text.isascii() or re.search(r"[\u3000-\u9fff]", text):
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _norm_rows(lines: Sequence[Line]) -> list[Row]:
    cleaned = [Line(_plain(ln.text).strip(), ln.box, ln.confidence, ln.page) for ln in lines]
    return group_rows([ln for ln in cleaned if ln.text])


def _is_noise(text: str) -> bool:
    """Registration numbers, receipt codes, lone symbols: never a merchant or an address."""
    stripped = text.strip(" .:-*#()[]")
    if _letters(stripped) < 3:
        return True
    if REG_NUMBER.match(text.strip()):
        return True
    return bool(re.fullmatch(r"[A-Z]?\d[\dA-Z\-]*", stripped))


def _name_like(text: str) -> bool:
    if _is_noise(text) or STOP_HEADER.search(text) or re.search(r"[<>=_~|*]{2,}", text):
        return False
    if find_dates(text) or (PHONE.search(text) and _letters(text) < 6):
        return False
    return _letters(text) >= max(3, len(text.replace(" ", "")) * 0.5)


INLINE_REG = re.compile(r"[\(\[]\s*(CO\.?\s*)?(REG\.?\s*)?(NO\.?)?\s*:?\s*[A-Z]{0,3}\d{3,}[\dA-Z\s\-]*[\)\]]?", re.I)
REG_LINE = re.compile(
    r"^[\(\[]?\s*[A-Z]{0,3}\d{4,}[\s\-]*[A-Z]?\s*[\)\]]?$|\bCO\.?\s*-?\s*RE|\bCO\.?\s*NO\b|COMPANY\s*(REG|NO)|ROC\b|"
    r"BR\s*NO|"
    r"REG(ISTRATION)?\.?\s*NO",
    re.I,
)
LEGAL_SUFFIX = re.compile(r"^\W*(\(M\)\s*)?(SDN\.?\s*BHD|BHD|BERHAD|S/B|CO\.|LTD|LIMITED|有限公司|公司)", re.I)


def _clean_company(text: str) -> str:
    """Drop a registration number printed after the name (and anything after it), OCR slips in
    legal suffixes, and accents OCR adds to plain capitals."""
    match = INLINE_REG.search(text)
    if match and match.start() > 3:
        text = text[: match.start()]
    reg = REG_LINE.search(text)
    if reg and reg.start() > 3:
        text = text[: reg.start()]
    for pattern, replacement in SUFFIX_CONFUSIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split()).strip(" ,:-(")


#: What OCR makes of legal suffixes: letters read as look-alikes, the space before them lost.
SUFFIX_CONFUSIONS = (
    (re.compile(r"\b[5S]\s*/\s*[B8]\b"), "S/B"),
    (re.compile(r"\bS\s*/\s*[0O]\b"), "S/B"),
    (re.compile(r"\b(?:SON|SDM|SIN|5DN|SDH)(\.?\s*BHD)\b"), r"SDN\1"),
    (re.compile(r"\b(SDN\.?\s*)(?:BND|8HD|BH0)\b"), r"\1BHD"),
    (re.compile(r"\bSDNBHD\b"), "SDN BHD"),
)


def registration_number(text: str) -> str | None:
    """The company registration number printed with the name ("… S/B (273500-U)", "Co. No: 20154-T")."""
    match = re.search(
        r"(?:CO\.?\s*(?:REG\.?\s*)?NO\.?|ROC|COMPANY\s*(?:REG|NO)\.?\s*(?:NO\.?)?|REG(?:ISTRATION)?\.?\s*NO\.?)"
        r"\s*:?\s*([0-9]{4,}[\-\s]?[A-Z]?)|[\(\[]\s*([0-9]{4,}[\-\s]?[A-Z])\s*[\)\]]",
        text,
        re.I,
    )
    if not match:
        return None
    return re.sub(r"\s", "", match.group(1) or match.group(2)).upper()


@dataclass
class _Header:
    company_row: int | None
    company: Field | None
    address: Field | None
    registration: Field | None = None


def _header(rows: list[Row], rules: frozenset[str] = DEFAULT_RULES) -> _Header:
    """Find the merchant row and the address rows under it in the top part of the receipt."""
    limit = min(len(rows), 14)
    heights = sorted(ln.height for r in rows for ln in r) or [1.0]
    typical = heights[len(heights) // 2]
    best: tuple[float, int] | None = None
    for index in range(limit):
        text = rows[index].text
        if not _name_like(text) and not (INLINE_REG.search(text) and COMPANY_WORDS.search(text)):
            continue
        if re.search(r"\.COM\b|HOURS|THANK|WELCOME|\bTQ\b", text, re.I) or find_amounts(text):
            continue  # a slogan, or a priced line from the body
        reg = REG_LINE.search(text)
        if reg and not (COMPANY_WORDS.search(text[: reg.start()]) and _letters(text[: reg.start()]) >= 3):
            continue  # a registration line (a name glued before its number stays a candidate)
        if ADDRESS_HINT.search(text) and not COMPANY_WORDS.search(text):
            continue
        score = 3.0 - index * 0.25
        if COMPANY_WORDS.search(text):
            score += 2.5
        if INLINE_REG.search(text) and INLINE_REG.search(text).start() > 3:
            score += 3.0
        nxt = rows[index + 1].text if index + 1 < len(rows) else ""
        if REG_LINE.search(nxt.strip()):
            score += 2.0
        if index > 0 and re.search(r"OWNED\s*BY|OPERATED\s*BY|LICENSEE|FKA|FORMERLY", rows[index - 1].text, re.I):
            score -= 4.0  # the registered owner printed under the trading name
        tallest = max(ln.height for ln in rows[index])
        if tallest > typical * 1.3:
            score += 1.0
        if text.upper() == text:
            score += 0.5
        if best is None or score > best[0]:
            best = (score, index)
    if best is None:
        return _Header(None, None, None)
    index = best[1]
    used = list(rows[index])
    name = _clean_company(rows[index].text)
    if LEGAL_SUFFIX.match(name) and index > 0 and _name_like(rows[index - 1].text):
        name = _clean_company(f"{rows[index - 1].text} {name}")  # "POPULAR BOOK" / "CO. (M) SDN BHD"
        used += rows[index - 1]
    nxt = rows[index + 1] if index + 1 < len(rows) else None
    if (
        nxt is not None
        and LEGAL_SUFFIX.match(nxt.text)
        and not REG_LINE.search(nxt.text)
        and not re.search(r"BHD|BERHAD|LTD|LIMITED|公司|S/B", name, re.I)
    ):
        name = _clean_company(f"{name} {nxt.text}")  # "PASARAYA BORONG PINTAR" / "SDN BHD"
        used += nxt
        index += 1
    above = rows[best[1] - 1] if best[1] > 0 else None
    complete = re.search(r"\b(BHD|BERHAD|LTD|LIMITED|S/B|INC|LLC|PLC|GMBH)\W*$|公司$", name, re.I)
    if (
        "company_line_above" in rules
        and above is not None
        and len(used) == len(rows[best[1]])
        and not complete  # a name with its legal suffix is whole: the line above is a trading name
        and _continues_name(above, rows[best[1]])
    ):
        name = _clean_company(f"{above.text} {name}")  # "RESTAURANT JIAWEI" / "JIAWEI HOUSE"
        used += above
    if "company_suffix_space" in rules:
        name = GLUED_SUFFIX.sub(r"\1 \2", name)
    if "company_glued_words" in rules:
        name = re.sub(r"\b[A-Z]{12,}\b", _split_glued, name)
    conf = min(ln.confidence for ln in used) * (1.0 if best[0] >= 4 else 0.75)
    address = _address(rows, index + 1, rules) or _address(rows[: best[1]], 0, rules)
    registration = None
    for row in rows[best[1] : index + 3]:
        number = registration_number(row.text)
        if number:
            registration = Field.from_line(number, row[0], factor=0.9)
            break
    return _Header(index, Field(name, round(conf, 3), _union(used)), address, registration)


#: Words of trade that OCR glues to their neighbours when it loses the spaces of a name.
GLUED_WORDS = re.compile(
    r"(STATIONERY|ENTERPRISES?|TRADING|RESTAURANT|RESTORAN|HARDWARE|BAKERY|PHARMACY|SUPERMARKET|"
    r"MINIMARKET|KEDAI|TRADERS|MARKETING|SERVICES|ELECTRICAL|HOLDINGS|INDUSTRIES|SHOP)"
)


def _split_glued(match: re.Match[str]) -> str:
    """A long run of capitals split around the trade words inside it ("SANYUSTATIONERYSHOP")."""
    return " ".join(GLUED_WORDS.sub(r" \1 ", match.group(0)).split())


def _continues_name(above: Row, row: Row) -> bool:
    """Whether ``above`` is the first half of a name printed on two lines: name-like, in type as
    large as the name's, right on top of it (no gap of a line) and centred on the same axis."""
    text = above.text
    if not _name_like(text) or re.search(r"\.COM\b|HOURS|THANK|WELCOME|\bTQ\b", text, re.I):
        return False
    if COMPANY_WORDS.search(text) and re.search(r"BHD|BERHAD|LTD|LIMITED|S/B|公司", text, re.I):
        return False  # a whole company name of its own (the owner above a trading name)
    h_above = max(ln.height for ln in above)
    h_row = max(ln.height for ln in row)
    if not 0.8 <= h_above / h_row <= 1.25:
        return False
    gap = min(ln.y0 for ln in row) - max(ln.y1 for ln in above)
    centre_above = (min(ln.x0 for ln in above) + max(ln.x1 for ln in above)) / 2
    centre_row = (min(ln.x0 for ln in row) + max(ln.x1 for ln in row)) / 2
    return gap < h_row * 0.5 and abs(centre_above - centre_row) < h_row * 1.5


def _union(lines: Sequence[Line]) -> tuple[float, float, float, float]:
    return (
        min(ln.x0 for ln in lines),
        min(ln.y0 for ln in lines),
        max(ln.x1 for ln in lines),
        max(ln.y1 for ln in lines),
    )


ADDRESS_STOP = re.compile(
    r"\b(TEL|TELEPHONE|PHONE|FAX|H/?P|E-?MAIL|WWW|HTTP|WHATSAPP|GST|SST|TAX|INVOICE|RECEIPT|CASHIER|TABLE|"
    r"DATE|TERMINAL|OPEN|WELCOME|BUSINESS\s*HOURS?|SALES|BILL|QTY|ITEM|INV|SITE|OWNED|MOBILE)\b|TAXINV|@|"
    r"CARELINE|HOTLINE|CUSTOMER\s*SERVICE|"
    r"电话|税号|发票",
    re.I,
)


COUNTRY_END = re.compile(r"\b(MALAYSIA|SINGAPORE|INDONESIA|THAILAND|CHINA)\W*$|中国$", re.I)
ADDRESS_GLUE = re.compile(r"(\d)(JALAN|JLN|TAMAN|TMN|LORONG|PERSIARAN|BANDAR|KAWASAN|BLOK|BLOCK|ROAD|STREET)\b", re.I)


GLUED_SUFFIX = re.compile(r"([A-Z]{3,})(SDN\.?\s*BHD)\b")
HOUSE_NUMBER = re.compile(r"^\W*(NO\b|NO\.|LOT\b|UNIT\b|BLOCK\b|BLOK\b|LEVEL\b|\d)", re.I)
#: A full stop between two parts of an address (after a word or number, before the next part),
#: not the one ending an abbreviation ("NO.", "JLN.", "P.T.") or the address.
FULL_STOP_FOR_COMMA = re.compile(
    r"(?<![\s.])(?<!\bNO)(?<!\bJLN)(?<!\bTMN)(?<!\bLOT)(?<!\b[A-Z])\.(?=\s+[A-Z0-9])", re.I
)
#: Words that Malaysian addresses are made of, and the states and big towns: general facts,
#: used to undo a single misread letter.
_ADDRESS_WORDS = (
    "JALAN TAMAN KAWASAN PERINDUSTRIAN INDUSTRI BANDAR PERSIARAN LORONG SEKSYEN KAMPUNG MUKIM BANGUNAN "
    "MENARA KOMPLEKS PUSAT DAGANGAN PERNIAGAAN MEDAN PLAZA WISMA UTAMA SELANGOR JOHOR BAHRU KUALA LUMPUR "
    "PETALING SUBANG CHERAS KLANG MALAYSIA DARUL EHSAN TAKZIM PERSEKUTUAN WILAYAH PULAU PINANG PENANG "
    "NEGERI SEMBILAN MELAKA PAHANG PERAK KEDAH KELANTAN TERENGGANU PERLIS SABAH SARAWAK LABUAN PUTRAJAYA "
    "DAMANSARA AMPANG PUCHONG KAJANG SERDANG RAWANG SETAPAK SENTUL KEPONG SEREMBAN SEMENYIH DENGKIL "
    "BANTING SEPANG SHAH SETIA"
)
ADDRESS_WORDS = frozenset(_ADDRESS_WORDS.split())


#: Digits OCR reads for the letters they look like.
_LOOKALIKE = str.maketrans("0158627", "OISBGZT")


def _address_word(match: re.Match[str]) -> str:
    """``match``'s word, or the address word it is one misread letter away from (case kept;
    digits inside a word read as the letters they look like: "SE1ANGOR")."""
    word = match.group(0)
    upper = word.upper()
    if upper in ADDRESS_WORDS or sum(ch.isdigit() for ch in word) > 2 or word[0].isdigit():
        return word
    letters = upper.translate(_LOOKALIKE)
    if letters in ADDRESS_WORDS:
        near = [letters]
    else:
        near = [w for w in ADDRESS_WORDS if len(w) == len(letters) and sum(map(str.__ne__, w, letters)) == 1]
    if len(near) != 1:
        return word  # none, or ambiguous
    return near[0] if not any(ch.islower() for ch in word) else near[0].capitalize()


def _address(rows: list[Row], start: int, rules: frozenset[str] = DEFAULT_RULES) -> Field | None:
    """The run of address-like rows under the merchant, skipping registration numbers before it
    and stopping at the first phone, tax-ID, title or amount."""
    picked: list[Row] = []
    texts: dict[int, str] = {}
    for index in range(start, min(len(rows), start + 9)):
        text = rows[index].text
        if "address_words" in rules:
            text = re.sub(r"\b[A-Za-z][A-Za-z0-9]{4,}\b", _address_word, text)  # before deciding where the address ends
        texts[id(rows[index])] = text
        stripped = text.strip(" .:-*()[]")
        if REG_LINE.search(text) or re.search(r"\bGST\s*(ID|NO|REG)|GSTID|GSTNO|GSTREG", text, re.I):
            if picked:
                break
            continue
        if ADDRESS_STOP.search(text) or (PHONE.search(text) and not ADDRESS_HINT.search(text)):
            if picked:
                break
            continue
        if find_amounts(text):
            break
        if not picked and (_is_noise(text) or find_dates(text) or not ADDRESS_HINT.search(text)):
            continue  # a second name line, a branch, a date between the name and the address
        if _letters(stripped) < 2 and not re.search(r"\d{5}", stripped):
            break
        past_postcode = bool(picked) and bool(POSTCODE.search(" ".join(r.text for r in picked)))
        if past_postcode and not ADDRESS_HINT.search(text) and not re.search(r"\d", text):
            break  # past the postcode comes a state or "1422-TMN DESA JAYA", not a branch name
        picked.append(rows[index])
        if len(picked) >= 6 or COUNTRY_END.search(text):
            break  # an address ends with its country
    if not picked:
        return None
    first, second = (texts[id(r)] for r in [*picked, picked[0]][:2])
    if "address_start" in rules and len(picked) > 1 and not re.search(r"\d", first) and HOUSE_NUMBER.match(second):
        picked = picked[1:]  # a branch or building name printed above the address
    text = " ".join(texts[id(r)] for r in picked)
    text = re.sub(r"(?<!\d)(\d{5})(?=[A-Za-z])", r"\1 ", text)  # "43200CHERAS": OCR lost the space
    text = ADDRESS_GLUE.sub(r"\1 \2", text)  # "276JALAN"
    text = re.sub(r"\bLEVE1\b", "LEVEL", text, flags=re.I)
    if "address_commas" in rules:
        text = FULL_STOP_FOR_COMMA.sub(",", text)
    conf = min(r.confidence for r in picked) * (1.0 if len(picked) > 1 or re.search(r"\d{5}", text) else 0.7)
    return Field(" ".join(text.split()), round(conf, 3), _union([ln for r in picked for ln in r]))


def _date(rows: list[Row], dayfirst: bool) -> tuple[Field | None, Field | None]:
    labelled, first = None, None
    for row in rows:
        text = row.text
        dates = find_dates(text, dayfirst=dayfirst)
        if not dates:
            continue
        line = max(row, key=lambda ln: len(find_dates(ln.text, dayfirst=dayfirst)))
        field = Field.from_line(dates[0], line)
        if first is None:
            first = field
        if labelled is None and DATE_LABEL.search(text) and not re.search(r"PRINT|DUE|EXP", text, re.I):
            labelled = field
    chosen = labelled or first
    time_field = None
    if chosen is not None:
        for row in rows:
            for ln in row:
                t = find_time(ln.text)
                if t is not None and (time_field is None or ln.box == chosen.box):
                    time_field = Field.from_line(t, ln)
            if time_field is not None and any(ln.box == chosen.box for ln in row):
                break
    return chosen, time_field


@dataclass
class _Candidate:
    amount: Decimal
    score: float
    line: Line
    order: int


def _amounts_beside(row: Row, label_index: int, rows: list[Row], row_index: int) -> list[tuple[Decimal, Line]]:
    label = row[label_index]
    found = []
    for ln in row[label_index:]:
        for amount in find_amounts(ln.text):
            found.append((amount, ln))
    if not found:
        flat = [ln for r in rows[max(0, row_index - 1) : row_index + 2] for ln in r]
        for ln in right_of(label, flat):
            for amount in find_amounts(ln.text):
                found.append((amount, ln))
    return found


def _total(rows: list[Row]) -> tuple[Field | None, list[_Candidate]]:
    candidates: list[_Candidate] = []
    paid: list[Decimal] = []
    change: list[Decimal] = []
    order = 0
    for row_index, row in enumerate(rows):
        for label_index, line in enumerate(row):
            text = line.text
            rounded = bool(re.search(r"ROUNDING|ROUNDED", text, re.I)) and not re.search(r"ADJ", text, re.I)
            labelled = TOTAL_WORD.search(text) or TOTAL_STRONG.search(text) or PAID.search(text) or rounded
            if not labelled and not CHANGE.search(text):
                continue
            amounts = _amounts_beside(row, label_index, rows, row_index)
            if not amounts:
                continue
            amount, source = amounts[-1]
            if CHANGE.search(text):
                change.append(amount)
                continue
            inclusive = re.search(r"INCL|INCLUSIVE|INCLUDES?|含税", text, re.I) and not re.search(r"EXCL", text, re.I)
            if TOTAL_EXCLUDE.search(text) and not inclusive:
                continue
            if amount <= 0 or (rounded and amount < Decimal("0.10")):
                continue  # a rounding adjustment or a refund line, not a total
            if rounded:
                score = 3.5
            elif TOTAL_STRONG.search(text):
                score = 3.0
            elif TOTAL_WORD.search(text):
                score = 2.0
            else:
                paid.append(amount)
                continue
            order += 1
            candidates.append(_Candidate(amount, score, source, order))
            break
    # the amount paid less the change confirms a total, or stands in for a missing label
    confirmed = {p - c for p in paid for c in [*change, Decimal(0)] if p - c > 0}
    if not any(c.score >= 3 and c.amount in confirmed for c in candidates):
        for row in rows:
            for line in row:
                if (TOTAL_WORD.search(row.text) and not TOTAL_EXCLUDE.search(row.text)) or PAID.search(row.text):
                    continue
                if CHANGE.search(row.text):
                    continue
                for amount in find_amounts(line.text):
                    if amount in confirmed and change:
                        order += 1
                        candidates.append(_Candidate(amount, 3.2, line, order))
    if not candidates and paid:
        line = next(ln for r in rows for ln in r if find_amounts(ln.text) and paid[0] in find_amounts(ln.text))
        candidates.append(_Candidate(paid[0], 1.0, line, order + 1))
    if not candidates:
        return None, []
    sums = _sums(rows)
    for cand in candidates:
        if cand.amount in confirmed:
            # what was handed over less the change is what was paid: exact when change was given
            cand.score += 1.0  # what was handed over less the change is what was paid
        if cand.amount in sums.totals:
            cand.score += 0.75  # subtotal + tax (− discount, ± rounding) gives the same figure
        cand.score += 0.3 * sum(1 for other in candidates if other is not cand and other.amount == cand.amount)
    best = max(candidates, key=lambda c: (c.score, c.amount, c.order))
    rivals = {c.amount for c in candidates if c.score >= 2 and c.amount != best.amount}
    factor = 1.0 if best.score >= 3.5 or (best.score >= 2 and not rivals) else 0.85 if best.score >= 3 else 0.7
    if sums.subtotals and all(best.amount < sub - Decimal("0.10") for sub in sums.subtotals):
        factor = min(factor, 0.5)  # a total under every subtotal: a digit was probably lost (35.00 for 635.00)
    return Field.from_line(best.amount, best.line, factor=factor), candidates


@dataclass
class _Sums:
    subtotals: list[Decimal]
    totals: set[Decimal]
    roundings: list[Decimal]


SUBTOTAL = re.compile(r"SUB\s*-?\s*TOTAL|TOTAL\s*(EXCL|BEFORE)|小计", re.I)
DISCOUNT_LABEL = re.compile(r"DISCOUNT|\bDISC\b|优惠|折扣", re.I)
ROUNDING_LABEL = re.compile(r"ROUNDING|ROUND\s*ADJ|ADJ", re.I)


def _labelled_amounts(rows: list[Row], label: re.Pattern[str], exclude: re.Pattern[str] | None = None) -> list[Decimal]:
    found = []
    for row in rows:
        if label.search(row.text) and not (exclude and exclude.search(row.text)):
            amounts = [a for ln in row for a in find_amounts(ln.text)]
            if amounts:
                found.append(amounts[-1])
    return found


def _sums(rows: list[Row]) -> _Sums:
    """What the receipt's parts add up to: each subtotal plus each tax (or none), less a discount,
    plus or minus a rounding adjustment. A total candidate equal to one of these is consistent."""
    subtotals = _labelled_amounts(rows, SUBTOTAL)
    taxes = _labelled_amounts(rows, TAX_LABEL, re.compile(r"TOTAL|INCL|SUMMARY|REG|ID\b|NO\b|@\s*0|0\s*%", re.I))
    discounts = _labelled_amounts(rows, DISCOUNT_LABEL)
    roundings = [a for a in _labelled_amounts(rows, ROUNDING_LABEL) if abs(a) < Decimal("0.10")]
    totals: set[Decimal] = set()
    # a receipt that prints a tax adds it: the subtotal alone is then not the total
    tax_options = [t for t in taxes if t > 0] or [Decimal(0)]
    for sub in subtotals:
        for tax in tax_options:
            for disc in [Decimal(0), *discounts]:
                for rnd in [Decimal(0), *roundings, *(-r for r in roundings)]:
                    totals.add(sub + tax - abs(disc) + rnd)
    return _Sums(subtotals, {t for t in totals if t > 0}, roundings)


def _tax(rows: list[Row], total: Decimal | None) -> Field | None:
    for row in rows:
        text = row.text
        if TAX_LABEL.search(text) and not re.search(r"TOTAL|INCL|EXCL|SUMMARY|REG|ID\b|NO\b", text, re.I):
            amounts = [(a, ln) for ln in row for a in find_amounts(ln.text)]
            amounts = [(a, ln) for a, ln in amounts if total is None or a < total]
            if amounts:
                amount, line = amounts[-1]
                return Field.from_line(amount, line, factor=0.8)
    return None


def _first_match(rows: list[Row], table: Sequence[tuple[re.Pattern[str], str]], factor: float) -> Field | None:
    for pattern, value in table:
        for row in rows:
            for ln in row:
                if pattern.search(ln.text):
                    return Field.from_line(value, ln, factor=factor)
    return None


def _items(rows: list[Row], stop_y: float | None) -> list[dict[str, object]]:
    """Rows with a description on the left and an amount at the right end, above the total."""
    items: list[dict[str, object]] = []
    for row in rows:
        if stop_y is not None and row.cy >= stop_y:
            break
        if len(row) < 2:
            continue
        amounts = find_amounts(row[-1].text)
        desc = row[0].text
        skip = TOTAL_WORD.search(row.text) or STOP_HEADER.search(desc) or PAID.search(desc) or CHANGE.search(desc)
        if not amounts or _letters(desc) < 3 or skip or re.search(r"DISC|ROUND|GST|SST|TAX|税", desc, re.I):
            continue
        items.append({"description": desc, "amount": amounts[-1]})
    return items[:50]


def receipt_score(lines: Sequence[Line]) -> float:
    """How receipt-like a page is: amounts, a total label and a date (0 when nothing fits)."""
    text = "\n".join(half_width(ln.text) for ln in lines)
    score = 0.0
    if find_amounts(text):
        score += 1
    if TOTAL_WORD.search(text) or TOTAL_STRONG.search(text):
        score += 1
    if find_dates(text):
        score += 1
    return score


def extract_receipt(
    lines: Sequence[Line], *, dayfirst: bool = True, rules: frozenset[str] = DEFAULT_RULES
) -> Extraction:
    """All receipt fields found in ``lines``. Missing fields are simply absent. ``rules`` names the
    switchable rules in use (:data:`DEFAULT_RULES` unless given)."""
    rows = _norm_rows(lines)
    result = Extraction(type="receipt", lines=list(lines))
    header = _header(rows, rules)
    if header.company is not None:
        result.fields["company"] = header.company
    if header.address is not None:
        result.fields["address"] = header.address
    if header.registration is not None:
        result.fields["registration"] = header.registration
    date, time = _date(rows, dayfirst)
    if date is not None:
        result.fields["date"] = date
    if time is not None:
        result.fields["time"] = time
    total, _ = _total(rows)
    if total is not None:
        result.fields["total"] = total
    tax = _tax(rows, total.value if total else None)
    if tax is not None:
        result.fields["tax"] = tax
    currency = _first_match(rows, CURRENCIES, 0.9)
    if currency is not None:
        result.fields["currency"] = currency
    payment = _first_match(rows, PAYMENT_METHODS, 0.9)
    if payment is not None:
        result.fields["payment_method"] = payment
    items = _items(rows, total.box[1] if total and total.box else None)
    if items:
        result.fields["items"] = Field(items, 0.6, None)
    return result

"""Field extraction from complaint texts: each field, bad values, and accuracy on a labelled set."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backroom.bots.tickets.extract import Extractor, id_card_valid, normalize_mobile
from backroom.sandbox.helpdesk_texts import PRODUCTS, PRODUCTS_EN, generate_texts, make_id_card

SH = ZoneInfo("Asia/Shanghai")
REF = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor(products=PRODUCTS + PRODUCTS_EN)


@pytest.mark.parametrize(
    ("text", "mobile"),
    [
        ("手机：13812345678。", "13812345678"),
        ("电话 +86 138 1234 5678 谢谢", "13812345678"),
        ("call me on 138-1234-5678.", "13812345678"),
        ("联系+86-13812345678", "13812345678"),
        ("号码8613812345678", "13812345678"),
    ],
)
def test_mobile_formats(ex: Extractor, text: str, mobile: str) -> None:
    assert ex.extract(text).value("mobile") == mobile


def test_malformed_mobile_is_rejected_not_written(ex: Extractor) -> None:
    result = ex.extract("客户手机138123456789，请回电")  # 12 digits
    assert result.value("mobile") is None
    assert [r[0] for r in result.rejected] == ["mobile"]
    assert normalize_mobile("12812345678") is None  # no 12x mobile prefix


def test_landline_and_id_card(ex: Extractor) -> None:
    good = "11010519491231002X"
    assert id_card_valid(good)
    bad = good[:-1] + "1"
    result = ex.extract(f"座机010-62345678，身份证{good}，另一个{bad}")
    assert result.value("landline") == "010-62345678"
    assert result.value("id_card") == good
    assert ("id_card", bad, "check digit or birth date is wrong") in result.rejected
    # the ID's digits must not be mistaken for a phone number
    assert result.value("mobile") is None


def test_id_card_with_impossible_birth_date_is_invalid() -> None:
    import random

    card = make_id_card(random.Random(3))
    assert id_card_valid(card)
    broken = card[:10] + "13" + card[12:]  # month 13
    assert not id_card_valid(broken)


def test_order_and_account_numbers_by_configurable_pattern() -> None:
    text = "订单号DD123456789012，账号6222020200112233445，工单号WO-2026-0042"
    default = Extractor().extract(text)
    assert default.value("order_no") == "DD123456789012"
    assert default.value("account_no") == "6222020200112233445"
    custom = Extractor(patterns={"work_order": r"(WO-\d{4}-\d{4})"}).extract(text)
    assert custom.value("work_order") == "WO-2026-0042"
    assert custom.value("order_no") is None


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("多扣了一百二十元", Decimal("120.00")),
        ("争议金额叁佰贰拾元整", Decimal("320.00")),
        ("要求退还两千零五元", Decimal("2005.00")),
        ("涉及金额1,234.50元", Decimal("1234.50")),
        ("I want RMB 88.9 back", Decimal("88.90")),
        ("退我伍拾元伍角", Decimal("50.50")),
    ],
)
def test_amounts_including_chinese_numerals(ex: Extractor, text: str, amount: Decimal) -> None:
    found = ex.extract(text).fields["amount"]
    assert found.value == amount
    assert isinstance(found.value, Decimal)


def test_name_product_category_and_confidence(ex: Extractor) -> None:
    result = ex.extract("客户张伟来电反映：家里宽带老是断网，网速特别慢，办理的是家庭宽带。")
    assert result.value("name") == "张伟"
    assert result.value("product") == "家庭宽带"
    assert result.value("category") == "network"
    assert result.fields["category"].confidence >= 0.8
    mixed = ex.extract("退款没到账，另外话费也不对")
    assert mixed.fields["category"].confidence < 0.6  # refund vs billing tie: goes to review


def test_urgency_signals(ex: Extractor) -> None:
    result = ex.extract("这是我第三次投诉了，再不解决我就打12315，还要投诉到媒体，然后销户")
    assert set(result.value("urgency")) == {"repeat", "regulator", "media", "cancel"}
    assert ex.extract("I will report this to the regulator").value("urgency") == ["regulator"]
    assert ex.extract("网速慢").value("urgency") is None


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明天下午三点", dt.datetime(2026, 11, 25, 15, 0, tzinfo=SH)),
        ("后天上午十点半", dt.datetime(2026, 11, 26, 10, 30, tzinfo=SH)),
        ("今天晚上7点", dt.datetime(2026, 11, 24, 19, 0, tzinfo=SH)),
        ("周五下午两点", dt.datetime(2026, 11, 27, 14, 0, tzinfo=SH)),
    ],
)
def test_callback_time_is_aware(ex: Extractor, phrase: str, expected: dt.datetime) -> None:
    found = ex.extract(f"客户要求{phrase}回电", reference=REF).fields["callback_time"]
    assert found.value == expected
    assert found.value.tzinfo is not None
    assert found.confidence >= 0.8


def test_callback_in_the_past_has_low_confidence(ex: Extractor) -> None:
    found = ex.extract("今天上午九点回电", reference=REF).fields["callback_time"]
    assert found.confidence < 0.6


def test_labelled_set_accuracy(ex: Extractor) -> None:
    """At least 300 generated texts: precision and recall per field stay above a floor."""
    base = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    items = generate_texts(320, seed=11, base=base)
    fields = ["name", "mobile", "landline", "id_card", "order_no", "account_no", "amount", "category", "callback_time"]
    stats = {f: [0, 0, 0] for f in fields}
    for item in items:
        result = ex.extract(item.text, reference=base)
        for f in fields:
            got, want = result.value(f), item.labels.get(f)
            if got is not None and got == want:
                stats[f][0] += 1
            else:
                stats[f][1] += got is not None
                stats[f][2] += want is not None
    for f, (tp, fp, fn) in stats.items():
        assert tp + fn > 10, f"label set has too few {f}"
        assert tp / (tp + fp) >= 0.85, (f, tp, fp, fn)
        assert tp / (tp + fn) >= 0.85, (f, tp, fp, fn)


HANDWRITTEN = [
    (
        "坐席记录：客户姓名：欧阳娜娜，电话136 0000 1111，反映宽带月租被多扣了两百元，要求下午四点前回电。",
        {
            "name": "欧阳娜娜",
            "mobile": "13600001111",
            "amount": Decimal("200.00"),
            "callback_time": dt.datetime(2026, 11, 24, 16, 0, tzinfo=SH),
        },
    ),
    ("您好，我的手机是13812340000，你们上个月多收我58.5块钱", {"mobile": "13812340000", "amount": Decimal("58.50")}),
    (
        "【在线客服】用户：我要投诉！快递三天了还没到，订单DD202611240001，再不处理我去12315",
        {"name": None, "order_no": "DD202611240001", "category": "delivery", "urgency": ["regulator"]},
    ),
    (
        "Hi, this is Mary Johnson (account number 6222001234567890). You charged me ¥1,299.00 twice on my "
        "credit card. Call me back at +86 139 8888 7777.",
        {
            "name": "Mary Johnson",
            "account_no": "6222001234567890",
            "amount": Decimal("1299.00"),
            "mobile": "13988887777",
            "category": "billing",
        },
    ),
    (
        "客户来电，联系人：李先生 18600001234，座机0755-88889999，身份证440305199001011234，反映营业厅工作人员态度恶劣",
        {
            "name": "李先生",
            "mobile": "18600001234",
            "landline": "0755-88889999",
            "id_card": None,
            "category": "service",
        },
    ),
    (
        "用户张三丰投诉：退订流量包后退款一直没到，金额壹佰贰拾元整，已经是第二次投诉了。明天上午十点联系他。",
        {
            "name": "张三丰",
            "amount": Decimal("120.00"),
            "product": "流量包",
            "category": "refund",
            "urgency": ["repeat"],
            "callback_time": dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH),
        },
    ),
]


@pytest.mark.parametrize(("text", "expected"), HANDWRITTEN)
def test_handwritten_tickets(ex: Extractor, text: str, expected: dict[str, object]) -> None:
    """Phrasings the generator does not produce, written the way agents and chats really read."""
    result = ex.extract(text, reference=REF)
    for field_name, value in expected.items():
        assert result.value(field_name) == value, field_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hello, my name is John Smith and my internet is down.", "John Smith"),
        ("投诉人：陈静，手机13800138000，话费多扣。", "陈静"),
        ("用户马超说宽带三天没修好。", "马超"),
    ],
)
def test_names_the_issue_found_missing(ex: Extractor, text: str, name: str) -> None:
    assert ex.extract(text).value("name") == name


@pytest.mark.parametrize(
    ("phrase", "expected", "sure"),
    [
        ("Please call me back tomorrow afternoon.", dt.datetime(2026, 11, 25, 14, 0, tzinfo=SH), False),
        ("Call me tomorrow at 3 pm please.", dt.datetime(2026, 11, 25, 15, 0, tzinfo=SH), True),
        ("Call back on Friday morning.", dt.datetime(2026, 11, 27, 9, 0, tzinfo=SH), False),
        ("call me today at 16:30", dt.datetime(2026, 11, 24, 16, 30, tzinfo=SH), True),
    ],
)
def test_english_relative_callback_times(ex: Extractor, phrase: str, expected: dt.datetime, sure: bool) -> None:
    found = ex.extract(phrase, reference=REF).fields["callback_time"]
    assert found.value == expected and found.value.tzinfo is not None
    assert found.confidence == (0.85 if sure else 0.7)


def test_a_bare_english_day_promises_no_time(ex: Extractor) -> None:
    assert "callback_time" not in ex.extract("I will be home tomorrow.", reference=REF).fields

"""The matching cascade, stage by stage, and its refusal to guess."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from backroom.bots.reconcile.matching import Item, MatchSettings, match_items, reference_tokens
from backroom.bots.reconcile.names import name_score, normalise_name

D0 = dt.date(2024, 3, 1).toordinal()


def bank(key: str, amount: str, name: str = "", text: str = "", day: int = 0) -> Item:
    return Item.make(key, D0 + day, Decimal(amount), "CNY", name, text)


def book(key: str, amount: str, name: str = "", ref: str = "", day: int = 0) -> Item:
    return Item.make(key, D0 + day, Decimal(amount), "CNY", name, ref)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("北京字节跳动科技有限公司", "字节跳动科技", True),
        ("字节跳动(北京)有限公司", "北京字节跳动科技有限公司", True),
        ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统", True),
        ("艾提科信网络　有限公司", "艾提科信网络有限公司", True),
        ("鸿睿思博科技有限公司", "鸿睿恩博科技有限公司", True),  # one typo
        ("Acme Co., Ltd.", "ACME LIMITED", True),
        ("华为技术有限公司", "中兴通讯股份有限公司", False),
        ("上海启航科技有限公司", "上海远航物流有限公司", False),
    ],
)
def test_company_names(a: str, b: str, same: bool) -> None:
    assert (name_score(a, b) >= 80) is same, (normalise_name(a), normalise_name(b), name_score(a, b))


def test_reference_tokens() -> None:
    assert reference_tokens("货款 发票号INV20240312345，合同HT-2024-007", "6222020200112233445") == (
        "INV20240312345",
        "HT-2024-007",
    )
    assert reference_tokens("房租 2024") == ()


def test_stage_one_reference_wins_over_date_distance() -> None:
    out = match_items(
        [bank("b1", "1000.00", "甲公司", "货款 INV20240300001", day=0)],
        [book("g1", "1000.00", "乙公司", "INV20240300001", day=20), book("g2", "1000.00", "甲公司", "", day=0)],
    )
    (m,) = out.matches
    assert (m.bank, m.ledger, m.rule, m.status) == (("b1",), ("g1",), "reference", "auto")
    assert out.unmatched_ledger == ["g2"]


def test_stage_two_amount_date_name() -> None:
    out = match_items(
        [bank("b1", "-2500.10", "北京字节跳动科技有限公司", "采购付款", day=2)],
        [book("g1", "-2500.10", "字节跳动", day=0), book("g2", "-2500.10", "字节跳动", day=9)],
    )
    (m,) = out.matches
    assert m.ledger == ("g1",) and m.rule == "amount-date-name" and m.score >= 80


def test_two_equally_good_candidates_go_to_review() -> None:
    out = match_items(
        [bank("b1", "800.00", "上海启航客服外包有限公司", "服务费", day=0)],
        [book("g1", "800.00", "启航客服外包", day=1), book("g2", "800.00", "启航客服外包", day=-1)],
    )
    assert out.matches == []
    (r,) = out.review
    assert r.status == "review" and set(r.ledger + r.alternatives) == {"g1", "g2"}
    assert "equally good" in r.note


def test_one_entry_wanted_by_two_bank_lines_goes_to_review() -> None:
    out = match_items(
        [bank("b1", "50.00", "甲有限公司", day=0), bank("b2", "50.00", "甲有限公司", day=0)],
        [book("g1", "50.00", "甲有限公司", day=0)],
    )
    assert out.matches == [] and len(out.review) == 2


def test_same_amount_different_company_is_only_a_suggestion() -> None:
    out = match_items([bank("b1", "123.45", "华为技术有限公司")], [book("g1", "123.45", "中兴通讯")])
    assert out.matches == []
    (r,) = out.review
    assert r.rule == "amount-date"


def test_combined_payment_subset_sum() -> None:
    out = match_items(
        [bank("b1", "3500.00", "北京星河有限公司", "货款", day=1)],
        [
            book("g1", "1000.00", "星河", day=0),
            book("g2", "2500.00", "星河", day=0),
            book("g3", "700.00", "星河", day=0),
            book("g4", "3500.00", "别家公司", day=30),
        ],
    )
    (m,) = out.matches
    assert m.rule == "combined" and sorted(m.ledger) == ["g1", "g2"]


def test_split_payment_subset_sum() -> None:
    out = match_items(
        [bank("b1", "400.00", "星河有限公司", day=0), bank("b2", "600.00", "星河有限公司", day=2)],
        [book("g1", "1000.00", "星河", day=1)],
    )
    (m,) = out.matches
    assert m.rule == "split" and sorted(m.bank) == ["b1", "b2"] and m.ledger == ("g1",)


def test_ambiguous_subset_goes_to_review() -> None:
    out = match_items(
        [bank("b1", "300.00", "星河有限公司")],
        [book("g1", "100.00", "星河"), book("g2", "200.00", "星河"), book("g3", "200.00", "星河")],
    )
    assert out.matches == [] and out.review[0].rule == "combined"


def test_fee_tolerance_proposes_adjustment() -> None:
    out = match_items(
        [bank("b1", "9985.00", "远方贸易有限公司", "INV20240300077", day=1)],
        [book("g1", "10000.00", "远方贸易", "INV20240300077")],
    )
    (m,) = out.matches
    assert m.rule == "fee" and m.adjustment_cents == 1500


def test_fee_beyond_limit_stays_unmatched() -> None:
    out = match_items(
        [bank("b1", "9900.00", "远方贸易有限公司", "INV20240300077")],
        [book("g1", "10000.00", "远方贸易", "INV20240300077")],
        MatchSettings(fee_max_cents=5000, fx_pct=Decimal(0)),
    )
    assert out.matches == [] and out.unmatched_bank == ["b1"]


def test_fx_difference() -> None:
    out = match_items(
        [bank("b1", "7215.00", "Globex Ltd", "PO-998877")],
        [book("g1", "7200.00", "Globex", "PO-998877")],
        MatchSettings(fee_max_cents=0),
    )
    (m,) = out.matches
    assert m.rule == "fx" and m.adjustment_cents == -1500


def test_rejected_pair_is_never_proposed_again() -> None:
    items = ([bank("b1", "42.00", "甲有限公司", "INV20240300042")], [book("g1", "42.00", "甲", "INV20240300042")])
    assert match_items(*items).matches
    out = match_items(*items, rejected={("b1", "g1")})
    assert out.matches == [] and out.review == [] and out.unmatched_bank == ["b1"]


def test_different_invoice_numbers_are_never_auto_matched() -> None:
    out = match_items(
        [bank("b1", "5000.00", "杭州中和润峰传媒有限公司", "货款 INV8493152883")],
        [book("g1", "5000.00", "中和润峰传媒", "INV9401161286")],
    )
    assert out.matches == [] and out.review[0].rule == "amount-date"
    typo = match_items(  # a mistyped reference is still the same reference
        [bank("b1", "5000.00", "杭州中和润峰传媒有限公司", "货款 INV84931S2883")],
        [book("g1", "5000.00", "中和润峰传媒", "INV8493152883")],
    )
    assert [m.rule for m in typo.matches] == ["amount-date-name"]


def test_several_same_amount_candidates_without_names_become_a_suggestion() -> None:
    """Two 500.00 entries near a nameless 500.00 bank line: never auto, but a person is asked."""
    out = match_items([bank("b1", "500.00", day=1)], [book("L1", "500.00", day=0), book("L2", "500.00", day=3)])
    assert out.matches == []
    (s,) = out.review
    assert (s.bank, s.ledger, s.alternatives, s.rule) == (("b1",), ("L1",), ("L2",), "amount-date")
    assert "2 ledger entries" in s.note
    assert out.unmatched_ledger == ["L2"]  # the alternative stays open for another line


def test_two_nameless_lines_and_two_candidates_get_one_suggestion_each() -> None:
    out = match_items(
        [bank("b1", "500.00", day=0), bank("b2", "500.00", day=3)],
        [book("L1", "500.00", day=0), book("L2", "500.00", day=3)],
    )
    assert sorted((s.bank, s.ledger) for s in out.review) == [(("b1",), ("L1",)), (("b2",), ("L2",))]
    assert out.unmatched_bank == [] and out.unmatched_ledger == []

"""``tickets fill`` against the sandbox helpdesk through the RT REST adapter."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.tickets import TicketsWorld


def _new_ticket(world: TicketsWorld, content: str, **cf: str) -> int:
    r = httpx.post(
        f"{world.helpdesk.url}/REST/2.0/ticket",
        headers={"Authorization": "token sandbox-helpdesk-token"},
        json={"Subject": "投诉", "Queue": "Complaints", "Content": content, "CustomFields": cf},
    )
    return int(r.json()["id"])


def _comments(world: TicketsWorld, tid: int) -> list[str]:
    desk = world.desk
    return [desk.transactions[i].content for i in desk.by_ticket[tid] if desk.transactions[i].type == "Comment"]


def test_fill_writes_fields_with_sources_and_never_overwrites(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    text = (
        "客户李娜来电反映：家里宽带老是断网，网速特别慢，办理的是家庭宽带。手机：+86 139-1234-5678。"
        "订单号DD123456789012。身份证号11010519491231002X。要求退还一百二十元。再不解决我就投诉到工信部！"
        "客户要求明天下午三点回电。"
    )
    tid = _new_ticket(world, text, CustomerName="李娜娜")  # a human already typed the name (differently)
    result = world.run("fill")
    assert result.counts == {"filled": 1}
    cf = world.desk.tickets[tid].cf
    assert cf["CustomerName"] == "李娜娜"  # never overwritten
    assert cf["Mobile"] == "13912345678"
    assert cf["Category"] == "network"
    assert cf["OrderNo"] == "DD123456789012"
    assert cf["IDCard"] == "11010519491231002X"
    assert cf["Amount"] == "120.00"
    assert cf["Regulator"] == "yes"
    assert cf["CallbackTime"] == "2026-11-25T15:00+08:00"
    [comment] = _comments(world, tid)
    assert "Mobile = 13912345678" in comment and "139-1234-5678" in comment  # says where it came from
    assert "CustomerName" not in comment
    # a second run finds nothing to do and writes no second comment
    again = world.run("fill")
    assert again.counts == {"nothing_to_fill": 1}
    assert len(_comments(world, tid)) == 1


def test_low_confidence_and_invalid_values_go_to_review(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = _new_ticket(world, "用户王强投诉，退款没到账，另外话费也不对。手机138123456789，身份证110105194912310021。")
    result = world.run("fill")
    assert result.counts == {"review": 1}
    cf = world.desk.tickets[tid].cf
    assert "Category" not in cf and "Mobile" not in cf and "IDCard" not in cf
    assert cf["CustomerName"] == "王强"
    assert "Category?=" in cf["ReviewNeeded"] and "IDCard!" in cf["ReviewNeeded"] and "Mobile!" in cf["ReviewNeeded"]
    [comment] = _comments(world, tid)
    assert "待复核 Category" in comment and "check digit" in comment


def test_fill_report_and_seeded_tickets(tickets_world: TicketsWorld) -> None:
    from openpyxl import load_workbook

    result = tickets_world.run("fill")
    assert result.counts.get("filled", 0) + result.counts.get("review", 0) >= 5
    sheet = load_workbook(result.outputs["report"])["Fill"]
    statuses = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert statuses.count("filled") == result.counts.get("filled", 0)

"""Onboarding into a company directory in WeCom's contacts API shape (a stand-in: WeCom cannot exist
here), beside the helpdesk: member created and tagged, disabled on the last day, re-runs call nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from backroom.bots.onboarding import Onboarding, OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.config import Position
from backroom.bots.sdk.testing import make_context, make_params
from backroom.sandbox.server import running
from backroom.sandbox.wecom_contacts import WecomWorld, make_app


def _run(tmp_path: Path, url: str, **params: object):
    config = OnboardingConfig(systems=["directory"], positions={"客服专员": Position(groups={"directory": ["客服"]})})
    ctx = make_context(
        tmp_path,
        "onboarding",
        systems={"directory": {"kind": "wecom", "url": url, "username": "ww-corp", "token": "env:WECOM_SECRET"}},
        config=config,
        environ={"WECOM_SECRET": "contacts-secret"},
        clock=lambda: dt.datetime(2026, 3, 16, 1, tzinfo=dt.UTC),
    )
    try:
        return Onboarding().run(ctx, make_params(OnboardingParams, ctx, today=dt.date(2026, 3, 16), **params))
    finally:
        ctx.close()


def test_a_directory_member_is_created_tagged_and_disabled_once(tmp_path: Path) -> None:
    world = WecomWorld("ww-corp", "contacts-secret")
    world.add_tag("客服")
    hires = Workbook()
    hires.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    hires.active.append(["周专员", "A1", "", "客服部", "客服专员", "2026-03-02", "", "", "zhou@example.com"])
    hires.save(tmp_path / "hires.xlsx")
    leavers = Workbook()
    leavers.active.append(["工号", "最后工作日"])
    leavers.active.append(["A1", "2026-03-16"])
    leavers.save(tmp_path / "leavers.xlsx")
    with running(make_app(world)) as server:
        first = _run(tmp_path, server.url, hires="hires.xlsx")
        assert first.counts["done"] == 2 and first.status == "succeeded", first.summary
        assert world.users["zhou@example.com"]["enable"] == 1 and world.tag_members[1] == {"zhou@example.com"}
        assert world.calls == ["create zhou@example.com", "tag 1 ['zhou@example.com']"]
        assert _run(tmp_path, server.url, hires="hires.xlsx").counts["done"] == 0
        leave = _run(tmp_path, server.url, leavers="leavers.xlsx")
        assert leave.status == "succeeded" and world.users["zhou@example.com"]["enable"] == 0
        calls = len(world.calls)
        assert _run(tmp_path, server.url, leavers="leavers.xlsx").counts["done"] == 0
        assert len(world.calls) == calls  # nothing written again


def test_a_refusal_in_a_200_answer_is_a_failed_step(tmp_path: Path) -> None:
    world = WecomWorld("ww-corp", "contacts-secret")  # no tag 客服: the group step is refused
    hires = Workbook()
    hires.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    hires.active.append(["周专员", "A1", "", "客服部", "客服专员", "2026-03-02", "", "", "zhou@example.com"])
    hires.save(tmp_path / "hires.xlsx")
    with running(make_app(world)) as server:
        result = _run(tmp_path, server.url, hires="hires.xlsx")
    assert result.status == "failed" and result.counts["failed"] == 1 and result.counts["done"] == 1

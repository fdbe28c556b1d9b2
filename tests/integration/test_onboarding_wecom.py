"""Onboarding into a company directory in WeCom's contacts API shape (a stand-in: WeCom cannot exist
here), beside the helpdesk: member created and tagged, disabled on the last day, re-runs call nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from backroom.bots.onboarding import Onboarding, OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.bot import QUEUE
from backroom.bots.onboarding.config import Position
from backroom.bots.sdk.testing import make_context, make_params
from backroom.bots.sdk.workitems import WorkQueue
from backroom.sandbox.server import running
from backroom.sandbox.wecom_contacts import WecomWorld, make_app
from backroom.schedules.history import History


def _run(tmp_path: Path, url: str, **params: object):
    History(f"sqlite:///{tmp_path / 'backroom.db'}")  # Backroom's database, with the work-item queue
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


def test_a_refusal_in_a_200_answer_is_a_failed_step_and_a_rerun_resumes(tmp_path: Path) -> None:
    world = WecomWorld("ww-corp", "contacts-secret")  # no tag 客服: the group step is refused
    hires = Workbook()
    hires.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    hires.active.append(["周专员", "A1", "", "客服部", "客服专员", "2026-03-02", "", "", "zhou@example.com"])
    hires.save(tmp_path / "hires.xlsx")
    with running(make_app(world)) as server:
        result = _run(tmp_path, server.url, hires="hires.xlsx")
        assert result.status == "failed" and result.counts["failed"] == 1 and result.counts["done"] == 1
        # the person is reported, not retried by itself: a re-run of the list leaves them be
        clock = lambda: dt.datetime(2026, 3, 16, 1, tzinfo=dt.UTC)  # noqa: E731 - the runs' clock
        queue = WorkQueue(History(f"sqlite:///{tmp_path / 'backroom.db'}").engine, QUEUE, clock=clock)
        (reported,) = queue.reported()
        assert reported["state"] == "business_failed" and "客服" in reported["error"]
        assert _run(tmp_path, server.url, hires="hires.xlsx").counts["queued"] == 0
        # the directory's admin creates the tag and retries the item (the console's queue page); the
        # next run resumes with the failed step only
        world.add_tag("客服")
        assert queue.retry(queue.list(state="business_failed")[0]["id"])
        resumed = _run(tmp_path, server.url)
    assert resumed.status == "succeeded" and resumed.counts["done"] == 1 and resumed.counts["done_earlier"] == 1
    assert world.calls == ["create zhou@example.com", "tag 1 ['zhou@example.com']"]


def test_hires_and_leavers_from_an_hr_systems_api(tmp_path: Path) -> None:
    import pytest
    from fastapi import FastAPI

    from backroom.bots.formats.payroll import PayrollSheetError
    from backroom.bots.onboarding.config import HrApi

    answers: dict[str, object] = {
        "hires": {
            "items": [
                {
                    "name": "周专员",
                    "employee_no": "A1",
                    "department": "客服部",
                    "position": "客服专员",
                    "start_date": "2026-03-02",
                    "manager": "",
                    "email": "zhou@example.com",
                }
            ]
        },
        "leavers": [],
    }
    hr = FastAPI()

    @hr.get("/api/hires")
    def hires() -> object:
        return answers["hires"]

    @hr.get("/api/leavers")
    def leavers() -> object:
        return answers["leavers"]

    world = WecomWorld("ww-corp", "contacts-secret")
    world.add_tag("客服")
    config = OnboardingConfig(
        systems=["directory"],
        positions={"客服专员": Position(groups={"directory": ["客服"]})},
        hr_api=HrApi(system="hr"),
    )
    History(f"sqlite:///{tmp_path / 'backroom.db'}")
    with running(make_app(world)) as wecom, running(hr) as hr_server:
        ctx = make_context(
            tmp_path,
            "onboarding",
            systems={
                "directory": {"kind": "wecom", "url": wecom.url, "username": "ww-corp", "token": "env:WECOM_SECRET"},
                "hr": {"kind": "http", "url": hr_server.url},
            },
            config=config,
            environ={"WECOM_SECRET": "contacts-secret"},
        )
        result = Onboarding().run(ctx, make_params(OnboardingParams, ctx, today=dt.date(2026, 3, 16)))
        assert result.counts["hires"] == 1 and result.counts["done"] == 2
        assert world.users["zhou@example.com"]["name"] == "周专员"
        answers["leavers"] = [{"employee_no": "A1", "last_day": "2026-03-16"}]
        answers["hires"] = []
        result = Onboarding().run(ctx, make_params(OnboardingParams, ctx, today=dt.date(2026, 3, 16)))
        assert result.counts["leavers"] == 1 and world.users["zhou@example.com"]["enable"] == 0
        answers["hires"] = {"errcode": 500, "errmsg": "HR system in maintenance"}  # a 200 with an error inside
        with pytest.raises(PayrollSheetError, match="HR system in maintenance"):
            Onboarding().run(ctx, make_params(OnboardingParams, ctx, today=dt.date(2026, 3, 16)))
        ctx.close()

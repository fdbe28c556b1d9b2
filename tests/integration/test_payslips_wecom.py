"""Payslips as WeCom application file messages to the roster's user ids (a stand-in: WeCom cannot exist
here): each member gets their encrypted PDF once; an unknown member is a failed delivery, not a sent one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pypdfium2
import pytest
from openpyxl import load_workbook

from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
from backroom.bots.payslips.config import RosterColumns
from backroom.bots.sdk.testing import make_context, make_params
from backroom.sandbox.server import running
from backroom.sandbox.wecom_contacts import WecomWorld, make_app
from tests.fixtures.payslips import make_people, write_payroll_xlsx, write_roster

CONFIG = PayslipsConfig(channel="wecom", mail_system="wecom", roster_columns=RosterColumns(wecom_user="企业微信账号"))


def _run(tmp_path: Path, url: str):
    ctx = make_context(
        tmp_path,
        "payslips",
        systems={
            "wecom": {
                "kind": "wecom-app",
                "url": url,
                "username": "ww-corp",
                "token": "env:APP_SECRET",
                "agentid": 1000002,
            }
        },
        config=CONFIG,
        environ={"APP_SECRET": "app-secret"},
        clock=lambda: dt.datetime(2026, 3, 31, 2, tzinfo=dt.UTC),
    )
    try:
        return Payslips().run(
            ctx, make_params(PayslipsParams, ctx, payroll="p.xlsx", roster="r.xlsx", month="2026-03-01")
        )
    finally:
        ctx.close()


def test_payslips_reach_wecom_members_once(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    write_payroll_xlsx(tmp_path / "p.xlsx", people)
    write_roster(tmp_path / "r.xlsx", people)
    book = load_workbook(tmp_path / "r.xlsx")  # the roster gains the members' WeCom user ids
    book.active.cell(1, 6, "企业微信账号")
    for row, person in enumerate(people, start=2):
        book.active.cell(row, 6, f"wx-{person.no}")
    book.save(tmp_path / "r.xlsx")
    world = WecomWorld("ww-corp", "app-secret")
    for person in people[:2]:  # the third is not a member: WeCom lists them as invaliduser
        world.users[f"wx-{person.no}"] = {"userid": f"wx-{person.no}", "name": person.name, "enable": 1}
    with running(make_app(world)) as server:
        result = _run(tmp_path, server.url)
        assert (result.counts["sent"], result.counts["failed"]) == (2, 1), result.summary
        for (member, pdf), person in zip(world.delivered, people[:2], strict=True):
            assert member == f"wx-{person.no}"
            with pytest.raises(pypdfium2.PdfiumError):
                pypdfium2.PdfDocument(pdf)
            pypdfium2.PdfDocument(pdf, password=person.id_number[-6:]).close()
        again = _run(tmp_path, server.url)
        assert again.counts["already_sent"] == 2 and again.counts["sent"] == 0 and again.counts["failed"] == 1
        assert len(world.delivered) == 2

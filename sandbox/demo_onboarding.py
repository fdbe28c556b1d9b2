"""The onboarding bot's part of ``backroom demo``: a new-hire list and a leaver list, an RT-shaped
accounts service on loopback (:mod:`backroom.sandbox.accounts`) with the position groups and one open
ticket, and an SMTP sink for the welcome mails.

Three people join the 客服部; an intern from the same list leaves today, so the run shows both
directions: accounts created and grouped, then the intern's ticket handed to their manager and their
account disabled.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["prepare"]

TODAY = dt.date(2026, 3, 16)


def prepare(workdir: Path) -> DemoPart:
    from openpyxl import Workbook

    from backroom.sandbox.accounts import AccountsWorld, make_app
    from backroom.sandbox.demo_payslips import _SmtpSink
    from backroom.sandbox.server import start

    folder = Path(workdir) / "onboarding"
    inbox = folder / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    world = AccountsWorld(token=secrets.token_hex(16))
    world.add_group("客服一线")
    world.add_group("客服主管")
    world.tickets[7001] = {
        "Subject": "退款进度查询",
        "Status": "open",
        "Owner": "intern@example.com",
        "Queue": "General",
    }
    server = start(make_app(world))
    sink = _SmtpSink(folder / "outbox")

    hires = Workbook()
    hires.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    hires.active.append(["陈主管", "M100", "", "客服部", "客服主管", "2026-03-02", "", "", "lead@example.com"])
    hires.active.append(["周专员", "A101", "", "客服部", "客服专员", "2026-03-16", "M100", "", "agent@example.com"])
    hires.active.append(["吴实习", "I102", "", "客服部", "客服专员", "2026-01-05", "M100", "", "intern@example.com"])
    hires.save(inbox / "入职名单.xlsx")
    leavers = Workbook()
    leavers.active.append(["工号", "最后工作日"])
    leavers.active.append(["I102", TODAY.isoformat()])
    leavers.save(inbox / "离职名单.xlsx")
    params = {"hires": "入职名单.xlsx", "leavers": "离职名单.xlsx", "today": TODAY.isoformat()}
    return DemoPart(
        bot="onboarding",
        systems={
            "helpdesk-accounts": {"kind": "rt-rest", "url": server.url, "token": "env:DEMO_ACCOUNTS_TOKEN"},
            "welcome-mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{sink.port}"},
        },
        bot_table={
            "schedule": "cron: 0 8 * * *",
            "calendar": "cn-workdays",
            "timeout": "30m",
            "roots": {"inbox": str(inbox)},
            "params": params,  # what its schedule runs with (`backroom check` wants the required ones)
            "config": {
                "systems": ["helpdesk-accounts"],
                "positions": {
                    "客服专员": {"groups": {"helpdesk-accounts": ["客服一线"]}},
                    "客服主管": {"groups": {"helpdesk-accounts": ["客服一线", "客服主管"]}},
                },
                "mail_system": "welcome-mail",
                "company": "上海后屋科技有限公司",
            },
        },
        params=params,
        env={"DEMO_ACCOUNTS_TOKEN": world.token},
        servers=[server, sink],  # type: ignore[list-item]  # anything with stop()
        description="入职/离职: accounts, groups and welcome mails for 3 hires; a leaving intern's ticket handed over",
    )

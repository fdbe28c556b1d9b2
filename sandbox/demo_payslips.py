"""The payslips bot's part of ``backroom demo``: a month's payroll sheet, the HR roster, and an SMTP
server on loopback (aiosmtpd) that takes every payslip and keeps it in ``payslips/outbox``.

Twelve employees in four departments, figures right by construction (contributions at Shanghai's
rates, 个税 by the cumulative method), laid out as HR keeps them: merged two-row headers, hidden ID
and bank-account columns, a totals row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backroom.sandbox.demo_base import DemoPart

__all__ = ["prepare"]

COMPANY = "上海后屋科技有限公司"


class _SmtpSink:
    """aiosmtpd on a free loopback port, writing each message to a folder as ``.eml``."""

    def __init__(self, folder: Path) -> None:
        from aiosmtpd.controller import Controller

        from backroom.sandbox.server import free_port

        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        count = [0]

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                count[0] += 1
                (folder / f"{count[0]:04d}.eml").write_bytes(envelope.original_content or envelope.content)
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def prepare(workdir: Path) -> DemoPart:
    from backroom.bots.payslips.config import PayslipsConfig
    from backroom.sandbox.hr_data import make_people, write_payroll_xlsx, write_roster

    folder = Path(workdir) / "payslips"
    inbox = folder / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    people = make_people(12, PayslipsConfig(), domain="staff.example.com")
    write_payroll_xlsx(inbox / "工资表-2026-03.xlsx", people)
    write_roster(inbox / "花名册.xlsx", people)
    sink = _SmtpSink(folder / "outbox")
    params = {"payroll": "工资表-2026-03.xlsx", "roster": "花名册.xlsx", "month": "2026-03-01"}
    return DemoPart(
        bot="payslips",
        systems={"payroll-mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{sink.port}"}},
        bot_table={
            "schedule": "cron: 0 10 10 * *",
            "calendar": "cn-workdays",
            "timeout": "30m",
            "roots": {"inbox": str(inbox)},
            "params": params,  # what its schedule runs with (`backroom check` wants the required ones)
            "config": {
                "company": COMPANY,
                "sender": "payroll@example.com",
                "mail_system": "payroll-mail",
                "workers": 1,
            },
        },
        params=params,
        servers=[sink],  # type: ignore[list-item]  # anything with stop()
        description="工资单发放: check March's payroll, e-mail 12 encrypted payslips to a loopback SMTP server",
    )

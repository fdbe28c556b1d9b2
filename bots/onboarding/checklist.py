"""The checklist workbook: one row per employee and step, with its status, time and evidence.

Steps a system did carry their evidence (the id read back, the tickets handed over); steps that need a
person (badge, laptop) stand as open items assigned to a named role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from backroom.bots.reports import GREEN_FILL, RED_FILL, YELLOW_FILL, highlight_rows, write_table

__all__ = ["STATUS_ZH", "Step", "write_checklist"]

STATUS_ZH = {
    "done": "完成",
    "done_earlier": "此前已完成",
    "failed": "失败",
    "open": "待办（人工）",
    "scheduled": "未到日期",
    "skipped": "不适用",
    "retrying": "稍后重试",
}


@dataclass
class Step:
    employee_no: str
    name: str
    kind: str  # 入职 | 离职
    step: str
    system: str
    status: str
    at: dt.datetime | None = None
    evidence: str = ""
    role: str = ""


def write_checklist(path: Path, title: str, steps: Sequence[Step], zone: ZoneInfo) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = "清单"
    last = write_table(
        ws,
        [f"工号（{title}）", "姓名", "类型", "步骤", "系统", "状态", "时间", "证据", "负责角色"],
        [
            [
                s.employee_no,
                s.name,
                s.kind,
                s.step,
                s.system,
                STATUS_ZH.get(s.status, s.status),
                s.at.astimezone(zone) if s.at else None,
                s.evidence,
                s.role,
            ]
            for s in steps
        ],
    )
    highlight_rows(ws, "F", 2, last, STATUS_ZH["failed"], RED_FILL)
    highlight_rows(ws, "F", 2, last, STATUS_ZH["open"], YELLOW_FILL)
    highlight_rows(ws, "F", 2, last, STATUS_ZH["retrying"], YELLOW_FILL)
    highlight_rows(ws, "F", 2, last, STATUS_ZH["done"], GREEN_FILL)
    book.save(path)
    return path

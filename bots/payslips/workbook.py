"""HR's summary workbook for one payroll month: totals per department, who was sent what and when,
what failed, and every check that did not pass.

It carries department totals, never one person's salary, ID number or full address: the payslip
itself is the only place those stand unmasked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from backroom.bots.payslips.checks import Issue, Line
from backroom.bots.reports import RED_FILL, YELLOW_FILL, highlight_rows, write_table

__all__ = ["Delivery", "write_summary"]

STATUS_ZH = {
    "sent": "已发送",
    "already_sent": "此前已发送",
    "failed": "发送失败",
    "uncertain": "结果不明（需人工确认）",
    "held": "未发送（批次有错误）",
    "no_address": "未发送（花名册无邮箱）",
    "no_password": "未发送（花名册身份证号不足，无法设密码）",
    "checked": "仅校验",
}


@dataclass
class Delivery:
    employee_no: str
    name: str
    department: str
    version: int
    correction: bool
    status: str
    recipient: str  # masked
    attempted_at: dt.datetime | None
    sent_at: dt.datetime | None
    detail: str = ""


def _local(value: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    return value.astimezone(zone) if value else None


def write_summary(
    path: Path,
    month: str,
    lines: Sequence[Line],
    deliveries: Sequence[Delivery],
    issues: Sequence[Issue],
    zone: ZoneInfo,
) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = "部门汇总"
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    heads: dict[str, int] = defaultdict(int)
    for line in lines:
        bucket = totals[line.department or "-"]
        heads[line.department or "-"] += 1
        for i, value in enumerate((line.gross, line.special, line.iit, line.deductions, line.net)):
            bucket[i] += value
    rows = [[dept, heads[dept], *values] for dept, values in sorted(totals.items())]
    if rows:
        rows.append(["合计", sum(heads.values()), *(sum((r[i] for r in rows), Decimal(0)) for i in range(2, 7))])
    write_table(ws, [f"部门（{month}）", "人数", "应发合计", "社保公积金", "个人所得税", "扣款合计", "实发合计"], rows)

    ws = book.create_sheet("发送记录")
    last = write_table(
        ws,
        ["工号", "姓名", "部门", "版本", "类型", "状态", "收件人", "尝试时间", "送达时间", "说明"],
        [
            [
                d.employee_no,
                d.name,
                d.department,
                d.version or "",
                "更正" if d.correction else "原件",
                STATUS_ZH.get(d.status, d.status),
                d.recipient,
                _local(d.attempted_at, zone),
                _local(d.sent_at, zone),
                d.detail,
            ]
            for d in deliveries
        ],
    )
    highlight_rows(ws, "F", 2, last, STATUS_ZH["failed"], RED_FILL)
    highlight_rows(ws, "F", 2, last, STATUS_ZH["uncertain"], YELLOW_FILL)

    ws = book.create_sheet("校验问题")
    write_table(
        ws,
        ["文件", "工作表", "行", "工号", "姓名", "列", "问题"],
        [[i.file, i.sheet, i.row or "", i.employee_no, i.name, i.column, i.message] for i in issues],
    )
    book.save(path)
    return path

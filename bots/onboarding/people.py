"""The new-hire and leaver lists as HR keeps them (Excel or CSV, Chinese headers), checked row by row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from backroom.bots.formats.payroll import PayrollSheetError
from backroom.bots.formats.statements.amounts import parse_date
from backroom.bots.formats.tabular import RowError, read_rows

__all__ = ["Hire", "Leaver", "read_hires", "read_leavers"]

HIRE_COLUMNS = ("姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱")
LEAVER_COLUMNS = ("工号", "最后工作日")


@dataclass(frozen=True)
class Hire:
    line: int
    name: str
    employee_no: str
    department: str
    position: str
    start: dt.date
    manager_no: str
    email: str

    @property
    def login(self) -> str:
        return self.email.lower()


@dataclass(frozen=True)
class Leaver:
    line: int
    employee_no: str
    last_day: dt.date


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    rows = []
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            raise PayrollSheetError(f"{path.name} line {line}: {row.reason}")
        if not rows:
            missing = [c for c in columns if c not in row]
            if missing:
                raise PayrollSheetError(f"{path.name}: expected columns {', '.join(missing)}")
        rows.append((line, row))
    return rows


def _date(path: Path, line: int, column: str, value: object) -> dt.date:
    try:
        return parse_date(value)
    except ValueError:
        raise PayrollSheetError(f"{path.name} line {line}, {column}: expected a date, found {_text(value)!r}") from None


def read_hires(path: Path) -> list[Hire]:
    out = []
    for line, row in _rows(path, HIRE_COLUMNS):
        email = _text(row["邮箱"])
        if "@" not in email:
            raise PayrollSheetError(f"{path.name} line {line}, 邮箱: expected an e-mail address")
        out.append(
            Hire(
                line=line,
                name=_text(row["姓名"]),
                employee_no=_text(row["工号"]),
                department=_text(row["部门"]),
                position=_text(row["岗位"]),
                start=_date(path, line, "入职日期", row["入职日期"]),
                manager_no=_text(row["直属上级"]),
                email=email,
            )
        )
    return out


def read_leavers(path: Path) -> list[Leaver]:
    return [
        Leaver(line, _text(row["工号"]), _date(path, line, "最后工作日", row["最后工作日"]))
        for line, row in _rows(path, LEAVER_COLUMNS)
    ]

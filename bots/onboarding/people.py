"""The new-hire and leaver lists as HR keeps them (Excel or CSV, Chinese headers) or as an HR system's
REST API answers them (JSON), checked row by row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from backroom.bots.formats.payroll import PayrollSheetError
from backroom.bots.formats.statements.amounts import parse_date
from backroom.bots.formats.tabular import RowError, read_rows

__all__ = ["API_FIELDS", "Hire", "Leaver", "hires_from_api", "leavers_from_api", "read_hires", "read_leavers"]

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


def _date(source: str, line: int, column: str, value: object) -> dt.date:
    try:
        return parse_date(value)
    except ValueError:
        raise PayrollSheetError(f"{source} line {line}, {column}: expected a date, found {_text(value)!r}") from None


def _hire(source: str, line: int, row: dict) -> Hire:
    email = _text(row.get("邮箱"))
    if "@" not in email:
        raise PayrollSheetError(f"{source} line {line}, 邮箱: expected an e-mail address")
    return Hire(
        line=line,
        name=_text(row.get("姓名")),
        employee_no=_text(row.get("工号")),
        department=_text(row.get("部门")),
        position=_text(row.get("岗位")),
        start=_date(source, line, "入职日期", row.get("入职日期")),
        manager_no=_text(row.get("直属上级")),
        email=email,
    )


def read_hires(path: Path) -> list[Hire]:
    return [_hire(path.name, line, row) for line, row in _rows(path, HIRE_COLUMNS)]


def read_leavers(path: Path) -> list[Leaver]:
    return [
        Leaver(line, _text(row["工号"]), _date(path.name, line, "最后工作日", row["最后工作日"]))
        for line, row in _rows(path, LEAVER_COLUMNS)
    ]


#: an HR system's JSON keys for each column (the Chinese column names are accepted too)
API_FIELDS = {
    "姓名": "name",
    "工号": "employee_no",
    "部门": "department",
    "岗位": "position",
    "入职日期": "start_date",
    "直属上级": "manager",
    "邮箱": "email",
    "最后工作日": "last_day",
}


def _api_rows(source: str, data: object, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    """Rows from a JSON answer: a list, or an object with ``items``/``data``; an error body is an error."""
    if isinstance(data, dict):
        if data.get("errcode") or data.get("error"):
            raise PayrollSheetError(
                f"{source}: the HR system answered an error: {data.get('errmsg') or data.get('error')}"
            )
        data = data.get("items", data.get("data"))
    if not isinstance(data, list):
        raise PayrollSheetError(f"{source}: expected a JSON list of people (or {{'items': [...]}})")
    rows = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise PayrollSheetError(f"{source} item {index}: expected an object")
        row = {c: item.get(c, item.get(API_FIELDS.get(c, c))) for c in columns}
        missing = [
            f"{c} ({API_FIELDS.get(c, c)})"
            for c in columns
            if row[c] in (None, "") and c in ("工号", "邮箱", "入职日期", "最后工作日")
        ]
        if missing:
            raise PayrollSheetError(f"{source} item {index}: missing {', '.join(missing)}")
        rows.append((index, row))
    return rows


def hires_from_api(source: str, data: object) -> list[Hire]:
    return [_hire(source, line, row) for line, row in _api_rows(source, data, HIRE_COLUMNS)]


def leavers_from_api(source: str, data: object) -> list[Leaver]:
    return [
        Leaver(line, _text(row["工号"]), _date(source, line, "最后工作日", row["最后工作日"]))
        for line, row in _api_rows(source, data, LEAVER_COLUMNS)
    ]

"""HR records for profiles: one workbook, a sheet per part, rows joined by 工号 (or the same from SQL).

员工 holds one row per person (工号, 姓名, 性别, 出生日期, 部门, 岗位, 入职日期, 学历, 手机, 邮箱, 照片);
教育经历 / 工作经历 / 证书 / 培训 hold any number of rows per person, each with its 工号. A row whose 工号
is not in 员工 is an error naming the sheet and line, not a silently dropped record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backroom.bots.formats.payroll import PayrollSheetError

__all__ = ["PARTS", "Person", "read_records", "read_records_sql"]

PARTS = ("教育经历", "工作经历", "证书", "培训")


@dataclass
class Person:
    line: int
    fields: dict[str, str]
    parts: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {p: [] for p in PARTS})

    @property
    def number(self) -> str:
        return self.fields.get("工号", "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_records(path: Path) -> list[Person]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise PayrollSheetError(f"{path.name}: not a readable Excel workbook: {exc}") from None
    try:
        if "员工" not in book.sheetnames:
            raise PayrollSheetError(f"{path.name}: expected a sheet 员工 (sheets: {', '.join(book.sheetnames)})")

        def rows(sheet: str) -> list[tuple[int, dict[str, str]]]:
            values = list(book[sheet].iter_rows(values_only=True))
            if not values:
                return []
            header = [_text(v) for v in values[0]]
            if "工号" not in header:
                raise PayrollSheetError(f"{path.name} [{sheet}]: expected a 工号 column")
            return [
                (i, dict(zip(header, (_text(v) for v in row), strict=False)))
                for i, row in enumerate(values[1:], start=2)
                if any(v not in (None, "") for v in row)
            ]

        people: dict[str, Person] = {}
        for line, row in rows("员工"):
            number = row.get("工号", "")
            if not number:
                raise PayrollSheetError(f"{path.name} [员工] line {line}: no 工号")
            if number in people:
                raise PayrollSheetError(
                    f"{path.name} [员工] line {line}: 工号 {number} also on line {people[number].line}"
                )
            people[number] = Person(line, row)
        for part in PARTS:
            if part not in book.sheetnames:
                continue
            for line, row in rows(part):
                person = people.get(row.get("工号", ""))
                if person is None:
                    raise PayrollSheetError(
                        f"{path.name} [{part}] line {line}: 工号 {row.get('工号')!r} is not in 员工"
                    )
                person.parts[part].append(row)
        return list(people.values())
    finally:
        book.close()


def _join(
    source: str, staff: list[tuple[int, dict[str, str]]], parts: dict[str, list[tuple[int, dict[str, str]]]]
) -> list[Person]:
    people: dict[str, Person] = {}
    for line, row in staff:
        number = row.get("工号", "")
        if not number:
            raise PayrollSheetError(f"{source} [员工] row {line}: no 工号")
        if number in people:
            raise PayrollSheetError(f"{source} [员工] row {line}: 工号 {number} also on row {people[number].line}")
        people[number] = Person(line, row)
    for part, rows in parts.items():
        for line, row in rows:
            person = people.get(row.get("工号", ""))
            if person is None:
                raise PayrollSheetError(f"{source} [{part}] row {line}: 工号 {row.get('工号')!r} is not in 员工")
            person.parts[part].append(row)
    return list(people.values())


def read_records_sql(engine: Any, people_query: str, part_queries: dict[str, str]) -> list[Person]:
    """The same records from HR's database: ``people_query`` returns one row per person with columns
    named as the 员工 sheet's (``SELECT emp_no AS "工号", name AS "姓名" …``), each part's query rows
    with a 工号 column. Read-only: the queries run in a transaction that is rolled back."""
    from sqlalchemy import text

    def rows(conn: Any, query: str, part: str) -> list[tuple[int, dict[str, str]]]:
        result = conn.execute(text(query))
        names = list(result.keys())
        if "工号" not in names:
            raise PayrollSheetError(f"SQL [{part}]: the query returns no 工号 column (it returns {', '.join(names)})")
        return [(i, {k: _text(v) for k, v in zip(names, row, strict=True)}) for i, row in enumerate(result, start=1)]

    with engine.connect() as conn:
        try:
            staff = rows(conn, people_query, "员工")
            parts = {part: rows(conn, query, part) for part, query in part_queries.items()}
        finally:
            conn.rollback()
    return _join("SQL", staff, parts)

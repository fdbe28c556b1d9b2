"""The HR roster and the year-to-date sheet: who an employee is, where their payslip goes, and the
year before this month when Backroom has no records of it.

The roster is the only source of an e-mail address: a payroll sheet is edited by many hands, and a
changed address in it must never redirect someone's salary details.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.payroll import PayrollSheetError
from backroom.bots.formats.statements.amounts import AmountError, parse_amount
from backroom.bots.formats.tabular import RowError, read_rows
from backroom.bots.payslips.config import RosterColumns, YtdColumns
from backroom.bots.payslips.tax import Cumulative

__all__ = ["RosterEntry", "read_roster", "read_ytd"]


@dataclass(frozen=True)
class RosterEntry:
    employee_no: str
    name: str
    id_number: str
    email: str
    department: str = ""
    wecom_user: str = ""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(str(value).split())


def _rows(path: Path, needed: list[str]) -> list[tuple[int, dict]]:
    out = []
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            raise PayrollSheetError(f"{path.name} line {line}: {row.reason}")
        if not out:
            missing = [c for c in needed if c not in row]
            if missing:
                raise PayrollSheetError(
                    f"{path.name}: expected columns {', '.join(missing)}; found {', '.join(map(str, row))}"
                )
        out.append((line, row))
    return out


def read_roster(path: Path, columns: RosterColumns) -> dict[str, RosterEntry]:
    """Employee number -> entry. A repeated number or a row without an address is an error naming the line."""
    needed = [columns.employee_no, columns.name, columns.id_number, columns.email]
    out: dict[str, RosterEntry] = {}
    for line, row in _rows(path, needed):
        number = _text(row.get(columns.employee_no))
        if not number:
            continue
        if number in out:
            raise PayrollSheetError(f"{path.name} line {line}, {columns.employee_no}: employee {number} listed twice")
        email = _text(row.get(columns.email))
        if email and ("@" not in email or email.startswith("@")):
            raise PayrollSheetError(f"{path.name} line {line}, {columns.email}: not an e-mail address")
        out[number] = RosterEntry(
            number,
            _text(row.get(columns.name)),
            _text(row.get(columns.id_number)).upper(),
            email,
            _text(row.get(columns.department)) if columns.department else "",
            _text(row.get(columns.wecom_user)) if columns.wecom_user else "",
        )
    return out


def read_ytd(path: Path, columns: YtdColumns) -> dict[str, Cumulative]:
    """Employee number -> the year up to the month before this one."""
    needed = [columns.employee_no, columns.months, columns.income, columns.special, columns.withheld]
    out: dict[str, Cumulative] = {}
    for line, row in _rows(path, needed):
        number = _text(row.get(columns.employee_no))
        if not number:
            continue
        try:
            values = {
                key: parse_amount(row.get(getattr(columns, key)), blank_as_zero=True) or Decimal(0)
                for key in ("months", "income", "special", "additional", "withheld")
            }
        except AmountError as exc:
            raise PayrollSheetError(f"{path.name} line {line}, employee {number}: {exc}") from None
        out[number] = Cumulative(
            months=int(values["months"]),
            income=values["income"],
            special=values["special"],
            additional=values["additional"],
            withheld=values["withheld"],
        )
    return out

"""Payroll workbooks as HR keeps them, for the payslips demo, tests and benchmark.

:func:`make_people` builds employees whose figures are right by construction (contributions at the
default rates of their base, 个税 by the cumulative method, sums that add up); tests then break one
figure at a time. :func:`write_payroll_xlsx` lays them out with two merged header rows, hidden ID and
bank-account columns and a totals row; :func:`write_payroll_csv` is the same sheet as WPS exports it
(GBK, the group name above its first column only).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from backroom.bots.payslips.config import PayslipsConfig
from backroom.bots.payslips.tax import Cumulative, month_tax

__all__ = [
    "Person",
    "compute",
    "make_people",
    "resident_id",
    "write_payroll_csv",
    "write_payroll_xlsx",
    "write_roster",
]

CENT = Decimal("0.01")
EARNINGS = ("基本工资", "岗位工资", "绩效", "加班费", "津贴")
DEDUCTIONS = ("养老", "医疗", "失业", "住房公积金", "个人所得税")
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(n: int) -> str:
    """A valid 18-character ID number (GB 11643 check character) for person ``n``."""
    body = f"310101{1980 + n % 20}{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]
    return body + check


@dataclass
class Person:
    no: str
    name: str
    department: str
    id_number: str
    email: str
    account: str
    earnings: dict[str, Decimal]
    additional: Decimal = Decimal(0)
    figures: dict[str, Decimal] = field(default_factory=dict)

    @property
    def gross(self) -> Decimal:
        return sum(self.earnings.values(), Decimal(0))


def compute(person: Person, config: PayslipsConfig, prior: Cumulative) -> None:
    """Fill ``person.figures`` with the right contributions, tax and net for this month."""
    gross = person.gross
    figures: dict[str, Decimal] = {}
    for key, label in zip(("pension", "medical", "unemployment", "housing_fund"), DEDUCTIONS, strict=False):
        rule = config.contributions[key]
        base = min(max(gross, rule.base_min), rule.base_max or gross)
        figures[label] = (base * rule.rate).quantize(CENT, ROUND_HALF_UP)
    special = sum(figures.values(), Decimal(0))
    figures["个人所得税"] = month_tax(prior, gross, special, person.additional)
    figures["应发合计"] = gross
    figures["实发工资"] = gross - special - figures["个人所得税"]
    person.figures = figures


def make_people(n: int, config: PayslipsConfig, *, domain: str = "example.com") -> list[Person]:
    departments = ("客服部", "运营部", "财务部", "技术部")
    people = []
    for i in range(1, n + 1):
        earnings = {
            "基本工资": Decimal(8000 + (i * 137) % 9000),
            "岗位工资": Decimal(2000 + (i * 53) % 3000),
            "绩效": Decimal((i * 71) % 4000) + Decimal("0.50") * (i % 2),
            "加班费": Decimal((i * 29) % 1200),
            "津贴": Decimal(500),
        }
        person = Person(
            no=f"E{i:05d}",
            name=f"员工{i}",
            department=departments[i % len(departments)],
            id_number=resident_id(i),
            email=f"e{i:05d}@{domain}",
            account=f"6222{i:015d}",
            earnings=earnings,
            additional=Decimal(2000) if i % 3 == 0 else Decimal(0),
        )
        compute(person, config, Cumulative())
        people.append(person)
    return people


def _header() -> tuple[list[str], list[str]]:
    top = [
        "序号",
        "工号",
        "姓名",
        "部门",
        "身份证号",
        "银行账号",
        *(["应发工资"] * 6),
        *(["扣款"] * 5),
        "专项附加扣除",
        "实发工资",
    ]
    bottom = ["", "", "", "", "", "", *EARNINGS, "应发合计", *DEDUCTIONS, "", ""]
    return top, bottom


def _row(index: int, p: Person) -> list[object]:
    f = p.figures
    return [
        index,
        p.no,
        p.name,
        p.department,
        p.id_number,
        p.account,
        *(p.earnings[k] for k in EARNINGS),
        f["应发合计"],
        *(f[k] for k in DEDUCTIONS),
        p.additional,
        f["实发工资"],
    ]


def _totals(people: list[Person]) -> list[object]:
    rows = [_row(0, p) for p in people]
    sums = [sum((Decimal(r[c]) for r in rows), Decimal(0)) for c in range(6, 19)]  # type: ignore[arg-type]
    return ["合计", "", "", "", "", "", *sums]


def write_payroll_xlsx(path: Path, people: list[Person], *, totals: list[object] | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "2026年3月工资表"
    top, bottom = _header()
    for col, (a, b) in enumerate(zip(top, bottom, strict=True), start=1):
        ws.cell(1, col, a if (col == 1 or top[col - 2] != a) else None)
        ws.cell(2, col, b or None)
    for col in (1, 2, 3, 4, 5, 6, 18, 19):
        ws.merge_cells(start_row=1, start_column=col, end_row=2, end_column=col)
    ws.merge_cells(start_row=1, start_column=7, end_row=1, end_column=12)
    ws.merge_cells(start_row=1, start_column=13, end_row=1, end_column=17)
    for letter in ("E", "F"):
        ws.column_dimensions[letter].hidden = True
    for index, person in enumerate(people, start=1):
        ws.append([float(v) if isinstance(v, Decimal) else v for v in _row(index, person)])
    ws.append([float(v) if isinstance(v, Decimal) else v for v in (totals or _totals(people))])
    book.save(path)
    return path


def write_payroll_csv(path: Path, people: list[Person], *, encoding: str = "gbk") -> Path:
    top, bottom = _header()
    shown_top = [a if (i == 0 or top[i - 1] != a) else "" for i, a in enumerate(top)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(shown_top)
    writer.writerow(bottom)
    for index, person in enumerate(people, start=1):
        writer.writerow(_row(index, person))
    writer.writerow(_totals(people))
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_roster(path: Path, people: list[Person]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["工号", "姓名", "身份证号", "邮箱", "部门"])
    for p in people:
        ws.append([p.no, p.name, p.id_number, p.email, p.department])
    book.save(path)
    return path

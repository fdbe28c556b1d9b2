"""Every check a payroll batch passes before anything is sent, each failure located.

An :class:`Issue` names the file and sheet, the row, the employee and the column, and says what was
expected. Its message may carry amounts: it goes to HR's workbook, never to logs or the run summary
(those carry counts only).

Checks: every mapped cell is an amount; the components sum to 应发; 应发 − deductions = 实发; the
totals row equals the column sums; 个人所得税 recomputed by the cumulative method
(:mod:`backroom.bots.payslips.tax`) within a tolerance; each contribution is its rate of a base kept
within the configured bounds; every employee is on the roster with the same ID number; no employee
number or ID number appears twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from backroom.bots.formats.payroll import PayrollRow, PayrollSheet, PayrollSheetError
from backroom.bots.formats.statements.amounts import AmountError, parse_amount
from backroom.bots.payslips.config import PayrollColumns, PayslipsConfig
from backroom.bots.payslips.roster import RosterEntry
from backroom.bots.payslips.tax import Cumulative, month_tax

__all__ = ["CONTRIBUTIONS", "Issue", "Line", "check_batch", "parse_lines"]

CENT = Decimal("0.01")
CONTRIBUTIONS = ("pension", "medical", "unemployment", "housing_fund")


@dataclass(frozen=True)
class Issue:
    """One failed check. ``employee_no`` is empty for a sheet-wide problem (the totals row)."""

    file: str
    sheet: str
    row: int
    employee_no: str
    name: str
    column: str
    message: str

    def __str__(self) -> str:
        who = f"{self.employee_no} {self.name}".strip() or "-"
        return f"{self.file} [{self.sheet}] row {self.row}, {who}, {self.column}: {self.message}"


@dataclass
class Line:
    """One employee's figures as the sheet states them."""

    row: int
    employee_no: str
    name: str
    department: str
    id_number: str
    earnings: dict[str, Decimal]
    gross: Decimal
    pension: Decimal
    medical: Decimal
    unemployment: Decimal
    housing_fund: Decimal
    iit: Decimal
    net: Decimal
    other: dict[str, Decimal] = field(default_factory=dict)
    base: Decimal | None = None
    additional: Decimal = Decimal(0)

    @property
    def special(self) -> Decimal:
        """专项扣除: the employee's social insurance and housing fund."""
        return self.pension + self.medical + self.unemployment + self.housing_fund

    @property
    def deductions(self) -> Decimal:
        return self.special + self.iit + sum(self.other.values(), Decimal(0))

    def figures(self) -> dict[str, str]:
        """Every figure as text, in a fixed order: what a payslip states (its digest is taken over this)."""
        out = {f"earning:{k}": str(v) for k, v in self.earnings.items()}
        out.update(
            gross=str(self.gross),
            pension=str(self.pension),
            medical=str(self.medical),
            unemployment=str(self.unemployment),
            housing_fund=str(self.housing_fund),
            iit=str(self.iit),
            net=str(self.net),
        )
        out.update({f"deduction:{k}": str(v) for k, v in self.other.items()})
        return out


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(str(value).split())


def parse_lines(sheet: PayrollSheet, columns: PayrollColumns) -> tuple[list[Line], list[Issue]]:
    """The sheet's rows as :class:`Line` objects; a cell that is not an amount is an issue, its row skipped.

    Raises :class:`PayrollSheetError` when a mapped column is not in the sheet (the mapping and the
    sheet disagree: nothing can be checked).
    """
    wanted = columns.required()
    missing = [f"{figure} → {column!r}" for figure, column in wanted.items() if column not in sheet.headers]
    if missing:
        raise PayrollSheetError(
            f"{sheet.file} [{sheet.sheet}]: mapped columns not found: {'; '.join(missing)}. "
            f"The sheet's columns are: {', '.join(sheet.headers)}"
        )
    lines: list[Line] = []
    issues: list[Issue] = []
    for row in sheet.rows:
        employee_no = _text(row.cells.get(columns.employee_no))
        name = _text(row.cells.get(columns.name))

        def issue(column: str, message: str, row: PayrollRow = row, no: str = employee_no, name: str = name) -> None:
            issues.append(Issue(sheet.file, sheet.sheet, row.line, no, name, column, message))

        if not employee_no:
            issue(columns.employee_no, "no employee number")
            continue
        amounts: dict[str, Decimal] = {}
        bad = False
        for figure, column in wanted.items():
            if figure in ("employee_no", "name", "department", "id_number"):
                continue
            try:
                value = parse_amount(row.cells.get(column), blank_as_zero=True)
            except AmountError as exc:
                issue(column, str(exc))
                bad = True
                continue
            amounts[figure] = (value or Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        if bad:
            continue
        lines.append(
            Line(
                row=row.line,
                employee_no=employee_no,
                name=name,
                department=_text(row.cells.get(columns.department)) if columns.department else "",
                id_number=_text(row.cells.get(columns.id_number)).upper() if columns.id_number else "",
                earnings={k: amounts[f"earning:{k}"] for k in columns.earnings},
                gross=amounts["gross"],
                pension=amounts["pension"],
                medical=amounts["medical"],
                unemployment=amounts["unemployment"],
                housing_fund=amounts["housing_fund"],
                iit=amounts["iit"],
                net=amounts["net"],
                other={k: amounts[f"deduction:{k}"] for k in columns.other_deductions},
                base=amounts.get("insurance_base") if columns.insurance_base else None,
                additional=amounts.get("special_additional", Decimal(0)),
            )
        )
    return lines, issues


def _expected_contribution(base: Decimal, rule: object) -> tuple[Decimal, Decimal]:
    """(the base kept within bounds, the contribution it gives)."""
    low, high, rate = rule.base_min, rule.base_max, rule.rate  # type: ignore[attr-defined]
    kept = max(base, low)
    if high is not None:
        kept = min(kept, high)
    return kept, (kept * rate).quantize(CENT, ROUND_HALF_UP)


def check_batch(
    sheet: PayrollSheet,
    lines: list[Line],
    config: PayslipsConfig,
    roster: Mapping[str, RosterEntry],
    prior: Mapping[str, Cumulative],
) -> list[Issue]:
    """Every issue of the parsed batch (see the module docstring); ``prior`` is the year before this
    month per employee number (missing: the employee's first month this year)."""
    cols = config.columns
    tol = config.amount_tolerance
    issues: list[Issue] = []

    def issue(line: Line | None, column: str, message: str, row: int | None = None) -> None:
        issues.append(
            Issue(
                sheet.file,
                sheet.sheet,
                line.row if line else (row or 0),
                line.employee_no if line else "",
                line.name if line else "",
                column,
                message,
            )
        )

    # who: roster and duplicates -----------------------------------------------------------------
    numbers = Counter(line.employee_no for line in lines)
    ids = Counter(line.id_number for line in lines if line.id_number)
    for line in lines:
        if numbers[line.employee_no] > 1:
            issue(line, cols.employee_no, f"employee number appears {numbers[line.employee_no]} times in the sheet")
        if line.id_number and ids[line.id_number] > 1:
            issue(line, cols.id_number or "", f"the same ID number appears on {ids[line.id_number]} rows")
        entry = roster.get(line.employee_no)
        if entry is None:
            issue(line, cols.employee_no, "not on the HR roster: expected every paid employee to be on it")
        elif line.id_number and entry.id_number and line.id_number != entry.id_number:
            issue(line, cols.id_number or "", "ID number differs from the HR roster's")

    # sums ------------------------------------------------------------------------------------------
    for line in lines:
        components = sum(line.earnings.values(), Decimal(0))
        if abs(components - line.gross) > tol:
            issue(line, cols.gross, f"components sum to {components} but 应发 is {line.gross}")
        expected_net = line.gross - line.deductions
        if abs(expected_net - line.net) > tol:
            issue(
                line,
                cols.net,
                f"应发 {line.gross} − deductions {line.deductions} = {expected_net}, sheet says {line.net}",
            )

    # totals row ------------------------------------------------------------------------------------
    if sheet.totals is None:
        issue(None, "-", "no totals row (合计) found: expected one after the employee rows", row=0)
    else:
        for figure, column in cols.required().items():
            if figure in ("employee_no", "name", "department", "id_number"):
                continue
            try:
                stated = parse_amount(sheet.totals.cells.get(column))
            except AmountError as exc:
                issue(None, column, f"totals row: {exc}", row=sheet.totals.line)
                continue
            if stated is None:
                continue  # a totals row may leave a column blank
            total = sum((_figure(line, figure) for line in lines), Decimal(0))
            if abs(stated - total) > tol:
                issue(None, column, f"totals row says {stated}, the rows sum to {total}", row=sheet.totals.line)

    # contributions ---------------------------------------------------------------------------------
    for line in lines:
        stated_base = line.base if line.base is not None else line.gross
        for key in CONTRIBUTIONS:
            rule = config.contributions.get(key)  # type: ignore[call-overload]
            if rule is None:
                continue
            column = getattr(cols, key)
            if line.base is not None and (
                line.base < rule.base_min or (rule.base_max is not None and line.base > rule.base_max)
            ):
                issue(line, cols.insurance_base or column, f"base {line.base} outside {rule.base_min}–{rule.base_max}")
            kept, expected = _expected_contribution(stated_base, rule)
            actual = getattr(line, key)
            if abs(actual - expected) > tol:
                issue(line, column, f"expected {expected} ({rule.rate} of base {kept}), sheet says {actual}")

    # 个人所得税, cumulative method -----------------------------------------------------------------
    for line in lines:
        before = prior.get(line.employee_no, Cumulative())
        # other deductions from pay (a fine, a canteen card) do not lower the taxable income
        expected = month_tax(before, line.gross, line.special, line.additional)
        if abs(expected - line.iit) > config.tax_tolerance:
            issue(
                line,
                cols.iit,
                f"recomputed 个税 {expected} (累计预扣法, month {before.months + 1} of the year) differs "
                f"from the sheet's {line.iit} by more than {config.tax_tolerance}",
            )
    return issues


def _figure(line: Line, figure: str) -> Decimal:
    if figure.startswith("earning:"):
        return line.earnings[figure.removeprefix("earning:")]
    if figure.startswith("deduction:"):
        return line.other[figure.removeprefix("deduction:")]
    if figure == "insurance_base":
        return line.base or Decimal(0)
    if figure == "special_additional":
        return line.additional
    return getattr(line, figure)


def errors_by_employee(issues: Iterable[Issue]) -> dict[str, list[Issue]]:
    out: dict[str, list[Issue]] = {}
    for item in issues:
        out.setdefault(item.employee_no, []).append(item)
    return out

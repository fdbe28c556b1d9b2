"""The one report layer every bot's workbook goes through: tables, widths, print setup, sign-off.

Every bot report is an openpyxl workbook a finance or ops person opens in Excel or WPS and hands to a
manager, often printed. These helpers keep them alike and fit for that:

* a bold frozen header, filters, and rows that need attention in red first;
* column widths by *display* width (a CJK character takes two columns), so 对方户名 and
  "加：企业已收、银行未收" are not cut off;
* real dates (``yyyy-mm-dd``) and money as ``#,##0.00`` numbers, never text;
* print setup: fit to one page wide, landscape when the sheet is wide, the header row repeated on
  every page, the company and business period in the page header, page numbers in the footer;
* a summary sheet first, titled by the business period (never a run id), with a grand total;
* 编制/审核/日期 (prepared/reviewed/date) lines under financial summaries;
* file names by business and period (``银行对账_1234_2024-03.xlsx``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "GREEN_FILL",
    "HEADER_FILL",
    "RED_FILL",
    "YELLOW_FILL",
    "add_sign_off",
    "cell_value",
    "display_width",
    "fit_columns",
    "highlight_rows",
    "period_filename",
    "set_print",
    "write_summary",
    "write_table",
]

HEADER_FILL = PatternFill("solid", start_color="1F4E78")
RED_FILL = PatternFill("solid", start_color="F8CBAD")
YELLOW_FILL = PatternFill("solid", start_color="FFE699")
GREEN_FILL = PatternFill("solid", start_color="C6EFCE")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: the widest a column is sized to (in character widths); longer text wraps instead
MAX_WIDTH = 60
#: sheets wider than this (sum of column widths) print landscape
LANDSCAPE_FROM = 100


def display_width(value: Any) -> int:
    """How many character columns ``value`` takes on screen: East Asian wide and full-width characters
    count two, combining marks none; for several lines, the longest line."""
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    widest = 0
    for line in str(value).splitlines() or [""]:
        width = 0
        for char in line:
            if unicodedata.combining(char):
                continue
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        widest = max(widest, width)
    return widest


def cell_value(value: Any) -> Any:
    """Turn a Python value into something a cell holds without losing meaning.

    Aware datetimes become naive local wall time (Excel has no time zones); Decimals stay exact
    as numbers with a money format applied by :func:`write_table`.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


def _number_format(value: Any) -> str | None:
    if isinstance(value, Decimal):
        return MONEY_FORMAT
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    return None


def write_table(
    ws: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    start_row: int = 1,
    freeze: bool | None = None,
) -> int:
    """Write a header and rows; add a filter, size the columns by display width, set up printing.

    The header is frozen and repeated on every printed page when it is the sheet's first table
    (``freeze`` None) or when asked; a second table further down a sheet never moves the freeze.
    Dates and datetimes stay real dates with a date format; Decimals money numbers. Returns the last row.
    """
    for col, name in enumerate(headers, start=1):
        cell = ws.cell(row=start_row, column=col, value=name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [max(8, min(40, display_width(h) + 2)) for h in headers]
    row_index = start_row
    for row in rows:
        row_index += 1
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=row_index, column=col, value=cell_value(value))
            number_format = _number_format(value)
            if number_format:
                cell.number_format = number_format
            if isinstance(value, str) and "\n" in value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if col <= len(widths):
                widths[col - 1] = max(widths[col - 1], min(MAX_WIDTH, display_width(value) + 2))
    for col, width in enumerate(widths, start=1):
        letter = get_column_letter(col)
        current = ws.column_dimensions[letter].width if letter in ws.column_dimensions else None
        ws.column_dimensions[letter].width = max(width, current or 0)  # a table lower down never narrows one above
    first_table = freeze if freeze is not None else ws.freeze_panes is None
    if first_table:
        ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
        ws.print_title_rows = f"{start_row}:{start_row}"
    if row_index > start_row and (first_table or not ws.auto_filter.ref):
        ws.auto_filter.ref = f"A{start_row}:{get_column_letter(len(headers))}{row_index}"
    set_print(ws)
    return row_index


def fit_columns(ws: Worksheet, *, first_row: int = 1, minimum: int = 6) -> None:
    """Widen every column to its widest cell from ``first_row`` on, by display width (never narrower).

    For sheets laid out by hand (a 余额调节表) rather than through :func:`write_table`; a title cell that
    spans a merged range is left out, it does not widen its first column.
    """
    merged = {rng.start_cell.coordinate for rng in ws.merged_cells.ranges}
    widths: dict[int, int] = {}
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            if cell.value is None or cell.coordinate in merged:
                continue
            widths[cell.column] = max(widths.get(cell.column, minimum), min(MAX_WIDTH, display_width(cell.value) + 2))
    for col, width in widths.items():
        letter = get_column_letter(col)
        current = ws.column_dimensions[letter].width if letter in ws.column_dimensions else None
        ws.column_dimensions[letter].width = max(width, current or 0)


def set_print(ws: Worksheet, *, company: str = "", period: str = "", landscape: bool | None = None) -> None:
    """Print one page wide (as many pages long as it takes), landscape when the sheet is wide, page
    numbers in the footer, and the company and business period in the page header when given."""
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if landscape is None:
        total = sum((ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in range(1, ws.max_column + 1))
        landscape = total > LANDSCAPE_FROM
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if company:
        ws.oddHeader.left.text = company
    if period:
        ws.oddHeader.right.text = period
    if company or period:
        ws.oddHeader.center.text = "&A"  # the sheet's name


def write_summary(
    ws: Worksheet,
    *,
    title: str,
    period: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    total_columns: Sequence[int] = (),
    total_label: str = "合计",
    status: str = "",
    company: str = "",
) -> int:
    """A summary sheet: a title with the business period, an optional status line, the table, and a
    grand-total row summing ``total_columns`` (0-based). Returns the grand-total row."""
    from openpyxl.styles import Border, Side

    ws.cell(row=1, column=1, value=f"{title}（{period}）" if period else title).font = Font(bold=True, size=14)
    if status:
        ws.cell(row=2, column=1, value=status)
    last = write_table(ws, headers, rows, start_row=3, freeze=True)
    total_row = last + 1
    ws.cell(row=total_row, column=1, value=total_label).font = Font(bold=True)
    top = Border(top=Side(style="thin"), bottom=Side(style="double"))
    for index in total_columns:
        values = [r[index] for r in rows if index < len(r) and isinstance(r[index], int | float | Decimal)]
        total = sum(values, Decimal(0)) if any(isinstance(v, Decimal) for v in values) else sum(values)
        cell = ws.cell(row=total_row, column=index + 1, value=cell_value(total))
        cell.font = Font(bold=True)
        cell.border = top
        if isinstance(total, Decimal):
            cell.number_format = MONEY_FORMAT
    set_print(ws, company=company, period=period)
    return total_row


def add_sign_off(ws: Worksheet, row: int | None = None, *, column: int = 1) -> int:
    """编制/审核/日期 lines (prepared by, reviewed by, date) two rows under ``row`` (default: the last used
    row), for a financial report to be signed on paper. Returns the row written."""
    at = (row if row is not None else ws.max_row) + 2
    for offset, label in enumerate(("编制：", "审核：", "日期：")):
        ws.cell(row=at, column=column + offset * 2, value=f"{label}＿＿＿＿＿＿").font = Font(bold=True)
    return at


_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def period_filename(business: str, period: str, *parts: str, suffix: str = ".xlsx") -> str:
    """A report's file name by what it is and the business period it covers, not by when it ran:
    ``period_filename("银行对账", "2024-03", "1234")`` → ``银行对账_1234_2024-03.xlsx``."""
    pieces = [business, *(p for p in parts if p), period]
    return "_".join(_UNSAFE_NAME.sub("-", p).strip("-") for p in pieces if p) + suffix


def highlight_rows(ws: Worksheet, column: str, first_row: int, last_row: int, value: str, fill: PatternFill) -> None:
    """Conditional formatting: rows whose ``column`` equals ``value`` get ``fill`` (stays live on edit)."""
    if last_row < first_row:
        return
    last_col = get_column_letter(ws.max_column)
    ws.conditional_formatting.add(
        f"A{first_row}:{last_col}{last_row}",
        FormulaRule(formula=[f'${column}{first_row}="{value}"'], fill=fill),
    )

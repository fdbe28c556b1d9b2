"""Workbook helpers shared by bots: a header style, tables, widths, red-row highlighting.

Every bot report is an openpyxl workbook a finance or ops person opens in Excel or WPS; these
helpers keep them looking alike: bold frozen header, filters, sensible column widths, and rows
that need attention in red first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["GREEN_FILL", "HEADER_FILL", "RED_FILL", "YELLOW_FILL", "cell_value", "highlight_rows", "write_table"]

HEADER_FILL = PatternFill("solid", start_color="1F4E78")
RED_FILL = PatternFill("solid", start_color="F8CBAD")
YELLOW_FILL = PatternFill("solid", start_color="FFE699")
GREEN_FILL = PatternFill("solid", start_color="C6EFCE")
MONEY_FORMAT = "#,##0.00"


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


def write_table(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, start_row: int = 1) -> int:
    """Write a header and rows; freeze the header, add a filter, size the columns. Returns the last row."""
    for col, name in enumerate(headers, start=1):
        cell = ws.cell(row=start_row, column=col, value=name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [max(8, min(40, len(str(h)) * 2 + 2)) for h in headers]
    row_index = start_row
    for row in rows:
        row_index += 1
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=row_index, column=col, value=cell_value(value))
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            text = str(value) if value is not None else ""
            if col <= len(widths):
                widths[col - 1] = max(widths[col - 1], min(60, len(text) + 2))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    if row_index > start_row:
        ws.auto_filter.ref = f"A{start_row}:{get_column_letter(len(headers))}{row_index}"
    return row_index


def highlight_rows(ws: Worksheet, column: str, first_row: int, last_row: int, value: str, fill: PatternFill) -> None:
    """Conditional formatting: rows whose ``column`` equals ``value`` get ``fill`` (stays live on edit)."""
    if last_row < first_row:
        return
    last_col = get_column_letter(ws.max_column)
    ws.conditional_formatting.add(
        f"A{first_row}:{last_col}{last_row}",
        FormulaRule(formula=[f'${column}{first_row}="{value}"'], fill=fill),
    )

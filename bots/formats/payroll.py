"""Payroll sheets as HR keeps them: two header rows with merged groups, hidden columns, a totals row.

A Chinese 工资表 groups its columns under merged headers (应发工资 over 基本工资 / 岗位工资 / 绩效 …,
扣款 over 养老 / 医疗 …) while 姓名 or 实发工资 span both header rows. Each column is named by its
header path, the group and the column joined by ``/`` (``应发工资/基本工资``; ``实发工资`` alone when
the cell spans both rows), so a declarative mapping names columns the way HR reads them.

The same sheet exported as CSV (GBK or GB18030, as WPS and Excel write it in China) loses the merges:
the group name stands above its first column only and the cells to its right are blank. Those blanks
are filled from the left wherever the row below names a column, which rebuilds the same paths.

Hidden columns are read like the others (a hidden 身份证号 is still data) and listed, so a report can
say which columns were hidden. The totals row (合计 / 总计 in any of the label columns) is returned
apart from the employee rows, so its figures can be checked against the column sums.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backroom.bots.formats.errors import FormatError
from backroom.bots.formats.tabular import detect_encoding

__all__ = ["PayrollRow", "PayrollSheet", "PayrollSheetError", "read_payroll"]

TOTAL_LABELS = ("合计", "总计", "小计合计", "total", "totals")


class PayrollSheetError(FormatError):
    """A payroll sheet cannot be read as promised: names the file, sheet and what was expected."""


@dataclass
class PayrollRow:
    """One data row: its 1-based line in the file (as Excel or an editor shows it) and its cells by path."""

    line: int
    cells: dict[str, Any]


@dataclass
class PayrollSheet:
    file: str
    sheet: str
    headers: list[str]
    rows: list[PayrollRow]
    totals: PayrollRow | None = None
    hidden: list[str] = field(default_factory=list)


def _paths(grid: list[list[str]]) -> list[str]:
    """Header paths from ``grid`` (one list per header row, merges already filled)."""
    width = max((len(r) for r in grid), default=0)
    names: list[str] = []
    seen: dict[str, int] = {}
    for c in range(width):
        parts: list[str] = []
        for row in grid:
            text = (row[c] if c < len(row) else "").strip()
            text = "".join(text.split())  # 基本 工资 / line breaks in a header cell
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        name = "/".join(parts) or f"column_{c + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _fill_csv_groups(grid: list[list[str]]) -> list[list[str]]:
    """A CSV export keeps a group name above its first column only: spread it right over the blanks
    whose lower header cell names a column, up to the next named cell."""
    filled = [list(r) for r in grid]
    width = max((len(r) for r in filled), default=0)
    for r in filled:
        r.extend([""] * (width - len(r)))
    for depth in range(len(filled) - 1):
        upper, lower = filled[depth], filled[depth + 1]
        current = ""
        for c in range(width):
            if upper[c].strip():
                current = upper[c] if lower[c].strip() else ""
            elif current and lower[c].strip():
                upper[c] = current
            else:
                current = ""
    return filled


def _is_totals(cells: dict[str, Any], label_columns: list[str]) -> bool:
    for name in label_columns:
        value = cells.get(name)
        if isinstance(value, str) and "".join(value.split()).lower() in TOTAL_LABELS:
            return True
    return False


def _blank(values: list[Any] | tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _split(
    file: str, sheet: str, headers: list[str], lines: list[tuple[int, list[Any]]], label_columns: list[str]
) -> tuple[list[PayrollRow], PayrollRow | None]:
    rows: list[PayrollRow] = []
    totals: PayrollRow | None = None
    label_columns = label_columns or headers[:3]
    for line, values in lines:
        if _blank(values):
            continue
        cells = dict(zip(headers, values, strict=False))
        if _is_totals(cells, label_columns):
            if totals is not None:
                raise PayrollSheetError(
                    f"{file} [{sheet}] line {line}: a second totals row (the first is line {totals.line})"
                )
            totals = PayrollRow(line, cells)
            continue
        if totals is not None:
            raise PayrollSheetError(
                f"{file} [{sheet}] line {line}: data after the totals row (line {totals.line}); "
                "expected the totals row to be the last"
            )
        rows.append(PayrollRow(line, cells))
    return rows, totals


def _read_excel(path: Path, sheet: str | None, header_rows: int, label_columns: list[str]) -> PayrollSheet:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        book = load_workbook(path, data_only=True)  # not read_only: merged ranges and hidden columns are needed
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise PayrollSheetError(f"{path.name}: not a readable Excel workbook: {exc}") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise PayrollSheetError(f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet else book.worksheets[0]
        width = ws.max_column
        grid = [
            ["" if ws.cell(r, c).value is None else str(ws.cell(r, c).value) for c in range(1, width + 1)]
            for r in range(1, header_rows + 1)
        ]
        for rng in ws.merged_cells.ranges:
            if rng.min_row > header_rows:
                continue
            value = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, min(rng.max_row, header_rows) + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    grid[r - 1][c - 1] = "" if value is None else str(value)
        headers = _paths(grid)
        hidden = [headers[c - 1] for c in range(1, width + 1) if ws.column_dimensions[get_column_letter(c)].hidden]
        lines = [
            (i, list(values))
            for i, values in enumerate(ws.iter_rows(min_row=header_rows + 1, values_only=True), start=header_rows + 1)
        ]
        rows, totals = _split(path.name, ws.title, headers, lines, label_columns)
        return PayrollSheet(path.name, ws.title, headers, rows, totals, hidden)
    finally:
        book.close()


def _read_csv(path: Path, encoding: str | None, header_rows: int, label_columns: list[str]) -> PayrollSheet:
    enc = encoding or detect_encoding(path)
    raw = path.read_bytes()
    if enc == "gb18030-bom":
        raw, enc = raw[3:], "gb18030"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise PayrollSheetError(f"{path.name}: bytes not in {enc} at byte {exc.start}") from None
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise PayrollSheetError(f"{path.name}: malformed CSV: {exc}") from None
    if len(table) < header_rows:
        raise PayrollSheetError(f"{path.name}: expected {header_rows} header lines, found {len(table)}")
    headers = _paths(_fill_csv_groups(table[:header_rows]))
    lines = [(i, list(cells)) for i, cells in enumerate(table[header_rows:], start=header_rows + 1)]
    rows, totals = _split(path.name, "csv", headers, lines, label_columns)
    return PayrollSheet(path.name, "csv", headers, rows, totals, [])


def read_payroll(
    path: Path,
    *,
    sheet: str | None = None,
    header_rows: int = 2,
    label_columns: list[str] | None = None,
    encoding: str | None = None,
) -> PayrollSheet:
    """Read a payroll workbook (``.xlsx``) or its CSV export. ``label_columns`` are where a totals row
    says 合计 (default: the first three columns)."""
    if header_rows < 1:
        raise PayrollSheetError(f"{path.name}: header_rows must be at least 1")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        reader = _read_excel
        args: Any = sheet
    elif path.suffix.lower() in {".csv", ".txt"}:
        reader = _read_csv  # type: ignore[assignment]
        args = encoding
    else:
        raise PayrollSheetError(f"{path.name}: expected a .xlsx workbook or a .csv export")
    return reader(path, args, header_rows, label_columns or [])

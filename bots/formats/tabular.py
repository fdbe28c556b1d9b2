"""Reading CSV and Excel files the way Chinese back offices produce them.

CSV exports from Chinese systems are GBK/GB18030 more often than UTF-8, sometimes with a UTF-8 byte
order mark in front of GBK bytes (a tool "fixed" the encoding by adding a BOM). Excel lists from
partners often have two header rows with merged cells ("联系方式" over "手机" and "邮箱"). Both
readers yield ``(line, {header: value})`` so a bad row can be reported by file and line, and a
malformed CSV line becomes a :class:`RowError` the caller may reject while reading on.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backroom.bots.formats.encoding import sniff
from backroom.bots.formats.errors import EncodingError, FormatError

__all__ = ["RowError", "TabularFileError", "detect_encoding", "headers_of", "read_rows"]

_BOM = codecs.BOM_UTF8
_SAMPLE = 1 << 20


class TabularFileError(FormatError):
    """The file as a whole cannot be read (encoding, no header). Names the file."""


@dataclass
class RowError:
    """One malformed line: the file still reads on; the caller rejects this line."""

    line: int
    reason: str
    raw: str


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``, ``utf-8``, ``gb18030`` (a superset of GBK), ``gb18030-bom`` or ``utf-16``.

    Decided from the file's first megabyte by the one rule of :mod:`backroom.bots.formats.encoding`;
    ``gb18030-bom`` is GB18030 behind a misleading UTF-8 byte order mark (the mark is skipped).
    """
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    try:
        found = sniff(sample, complete=len(sample) < _SAMPLE)
    except EncodingError as exc:
        why = str(exc) if exc.foreign else f"not UTF-8 and not GBK/GB18030 (byte {exc.offset})"
        raise TabularFileError(f"{path.name}: {why}; give 'encoding' in config") from None
    if found.codec == "utf-8":
        return "utf-8-sig" if found.bom else "utf-8"
    return f"{found.codec}-bom" if found.bom else found.codec


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    raw = path.open("rb")
    if encoding == "gb18030-bom":
        raw.read(len(_BOM))
        encoding = "gb18030"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _csv_rows(path: Path, encoding: str | None, delimiter: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    enc = encoding or detect_encoding(path)
    with _open_text(path, enc) as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise TabularFileError(f"{path.name}: empty file, expected a header line") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise TabularFileError(f"{path.name}: line 1 (header) cannot be read: {exc}") from None
        names = _dedupe([h.strip() for h in header])
        width = len(names)
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, RowError(start, f"malformed CSV: {exc}", "")
                continue
            except UnicodeDecodeError as exc:
                raise TabularFileError(f"{path.name}: line {start}: bytes not in {enc}: {exc.reason}") from None
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != width:
                yield (
                    start,
                    RowError(start, f"expected {width} fields, found {len(cells)}", delimiter.join(cells)[:500]),
                )
                continue
            yield start, dict(zip(names, cells, strict=True))


def _excel_header(ws: Any, header_rows: int) -> list[str]:
    """Header names from the first rows; a merged cell's value fills every cell it spans."""
    grid = [[ws.cell(row=r, column=c).value for c in range(1, ws.max_column + 1)] for r in range(1, header_rows + 1)]
    for rng in ws.merged_cells.ranges:
        if rng.min_row > header_rows:
            continue
        value = ws.cell(row=rng.min_row, column=rng.min_col).value
        for r in range(rng.min_row, min(rng.max_row, header_rows) + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                grid[r - 1][c - 1] = value
    names = []
    for c in range(len(grid[0]) if grid else 0):
        parts: list[str] = []
        for r in range(header_rows):
            v = grid[r][c]
            text = str(v).strip() if v is not None else ""
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append("/".join(parts))
    return _dedupe(names)


def _excel_rows(path: Path, sheet: str | None, header_rows: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=True)  # not read_only: merged ranges are needed
    except Exception as exc:
        raise TabularFileError(f"{path.name}: not a readable Excel workbook: {exc}") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise TabularFileError(f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet else book.worksheets[0]
        names = _excel_header(ws, header_rows)
        for i, values in enumerate(ws.iter_rows(min_row=header_rows + 1, values_only=True), start=header_rows + 1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield i, dict(zip(names, values, strict=False))
    finally:
        book.close()


def read_rows(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str = ",",
    sheet: str | None = None,
    header_rows: int = 1,
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """``(line number, row)`` for each data row; a malformed CSV line comes as :class:`RowError`."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _excel_rows(path, sheet, header_rows)
    return _csv_rows(path, encoding, delimiter)


def headers_of(path: Path, **kwargs: Any) -> list[str]:
    """The header names of a file (for schema-drift checks)."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a bad file
            raise TabularFileError(f"{path.name}: not a readable Excel workbook: {exc}") from None
        try:
            sheet = kwargs.get("sheet")
            ws = book[sheet] if sheet else book.worksheets[0]
            return _excel_header(ws, kwargs.get("header_rows", 1))
        finally:
            book.close()
    enc = kwargs.get("encoding") or detect_encoding(path)
    with _open_text(path, enc) as fh:
        first = next(csv.reader(fh, delimiter=kwargs.get("delimiter", ",")), [])
    return _dedupe([h.strip() for h in first])

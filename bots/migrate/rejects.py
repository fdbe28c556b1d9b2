"""The rejects workbook: one line per record that could not be moved, and why.

Written in openpyxl's write-only mode so a run with many rejects still uses little memory. Each
line keeps where the record came from (file:line or its key), the field, the reason and the whole
source row as text, so a person can fix the source and re-run.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["RejectBook"]

HEADERS = ["来源 source", "键 key", "字段 field", "原因 reason", "源数据 source row"]


def _json_default(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    return repr(value)


class RejectBook:
    """Appends rejects; the file is only created when there is at least one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.by_field: dict[str, int] = {}
        self._book: Any = None
        self._sheet: Any = None
        self._lock = threading.Lock()  # the mapping thread and the writer thread both reject

    def add(self, ref: str, key: str, field: str, reason: str, row: Any) -> None:
        with self._lock:
            self._add(ref, key, field, reason, row)

    def _add(self, ref: str, key: str, field: str, reason: str, row: Any) -> None:
        if self._book is None:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell
            from openpyxl.styles import Font

            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet("rejects")
            self._sheet.freeze_panes = "A2"
            cells = []
            for h in HEADERS:
                cell = WriteOnlyCell(self._sheet, value=h)
                cell.font = Font(bold=True)
                cells.append(cell)
            self._sheet.append(cells)
        if isinstance(row, dict):
            text = json.dumps(
                {k: v for k, v in row.items() if not k.startswith("__")},
                ensure_ascii=False,
                default=_json_default,
            )
        else:
            text = str(row)
        self._sheet.append([ref, key, field, reason, text[:30000]])
        self.count += 1
        self.by_field[field] = self.by_field.get(field, 0) + 1

    def close(self) -> Path | None:
        if self._book is None:
            return None
        self._book.save(self.path)
        self._book = None
        return self.path

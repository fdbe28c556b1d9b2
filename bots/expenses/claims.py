"""The claims sheet: who claims which documents, in which category, for how much.

An Excel sheet with a header row naming (in any order, Chinese or English) the employee, the
category, the claimed amount and the files (one or more file names separated by commas). A sheet
missing a column is a :class:`ClaimsSheetError` naming the column and the file, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from backroom.bots.sdk.errors import BusinessError

__all__ = ["COLUMNS", "Claim", "ClaimsSheetError", "read_claims"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "employee": ("employee", "name", "员工", "姓名", "报销人"),
    "category": ("category", "type", "类别", "费用类别", "费用类型"),
    "claimed_amount": ("claimed amount", "claimed", "amount", "报销金额", "金额"),
    "files": ("files", "file", "documents", "附件", "文件", "票据"),
}


class ClaimsSheetError(BusinessError):
    """The claims sheet cannot be used as it is; the message names file, row and column."""


@dataclass(frozen=True)
class Claim:
    employee: str
    category: str
    claimed_amount: Decimal | None
    files: tuple[str, ...]
    row: int


def _norm(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def read_claims(path: Path) -> list[Claim]:
    """All claims in the first sheet of ``path``."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise ClaimsSheetError(f"{path}: not a readable Excel workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ClaimsSheetError(f"{path}: the sheet {sheet.title!r} is empty; expected a header row")
        names = [_norm(h) for h in header]
        index: dict[str, int] = {}
        for key, aliases in COLUMNS.items():
            for i, name in enumerate(names):
                if name in aliases:
                    index[key] = i
                    break
        missing = [key for key in COLUMNS if key not in index]
        if missing:
            found = ", ".join(str(h) for h in header if h is not None) or "none"
            wanted = "; ".join(f"{m} (one of: {', '.join(COLUMNS[m])})" for m in missing)
            raise ClaimsSheetError(
                f"{path}: sheet {sheet.title!r} is missing the column(s) {wanted}; found columns: {found}"
            )
        claims = []
        for number, row in enumerate(rows, start=2):
            if row is None or all(v in (None, "") for v in row):
                continue

            def cell(key: str, row: tuple[object, ...] = row) -> object:
                i = index[key]
                return row[i] if i < len(row) else None

            employee = str(cell("employee") or "").strip()
            files = tuple(f.strip() for f in re.split(r"[,，;；\n]", str(cell("files") or "")) if f.strip())
            if not employee:
                raise ClaimsSheetError(f"{path}: row {number}, column employee is empty")
            if not files:
                raise ClaimsSheetError(f"{path}: row {number}, column files is empty; expected file names")
            raw = cell("claimed_amount")
            amount = None
            if raw not in (None, ""):
                try:
                    amount = Decimal(str(raw).replace(",", "").replace("¥", "").strip()).quantize(Decimal("0.01"))
                except InvalidOperation:
                    raise ClaimsSheetError(
                        f"{path}: row {number}, column claimed amount: {raw!r} is not an amount"
                    ) from None
            category = str(cell("category") or "other").strip() or "other"
            claims.append(Claim(employee, category, amount, files, number))
        return claims
    finally:
        book.close()

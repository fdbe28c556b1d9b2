"""The audit workbook, and reading a reviewer's corrections back from it.

``Summary`` (first, what a manager reads): per employee and category with a grand total, titled by
the claim month, with 编制/审核/日期 lines. ``Documents``: one row per document — verdict first, a link
to the file and a thumbnail, every field, each rule's verdict with its reason, then two columns for
the reviewer (``reviewer verdict``, ``reviewer note``) and the document's sha256. Rows are sorted
fail, review, pass and coloured by conditional formatting, so reviewers see the red rows first and
colours follow their edits. ``Confidences`` (hidden): each field's OCR confidence. ``Rejected``:
files that could not be read and why.

A reviewer fixes a wrong field value in place (or sets ``reviewer verdict`` to pass/fail) and drops
the workbook back in the inbox; :func:`read_corrections` finds what changed on the next run.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backroom.bots.expenses.rules import RULES, Doc
from backroom.bots.reports import (
    GREEN_FILL,
    RED_FILL,
    YELLOW_FILL,
    add_sign_off,
    highlight_rows,
    set_print,
    write_summary,
    write_table,
)

__all__ = ["FIELD_COLUMNS", "Correction", "read_corrections", "write_workbook"]

FIELD_COLUMNS = (
    "company", "seller_name", "address", "date", "time", "type", "code", "number", "check_code",
    "buyer_name", "buyer_tax_id", "seller_tax_id", "amount", "tax_rate", "tax", "total", "total_capitals",
    "currency", "payment_method",
)  # fmt: skip
DECIMAL_FIELDS = {"amount", "tax_rate", "tax", "total", "total_capitals"}
DATE_FIELDS = {"date"}
MARKER = "sha256"
APPROVE = {"pass", "approve", "approved", "ok", "通过", "同意"}
REJECT = {"fail", "reject", "rejected", "驳回", "拒绝"}


def _headers() -> list[str]:
    headers = ["verdict", "file", "thumbnail", "employee", "category", "claimed", "doc type", *FIELD_COLUMNS]
    headers += [f"rule {name}" for name in RULES]
    headers += ["reasons", "reviewer verdict", "reviewer note", MARKER]
    return headers


def _confidence_headers() -> list[str]:
    return ["file", *(f"{name} conf" for name in FIELD_COLUMNS), MARKER]


SUMMARY_HEADERS = ["员工 employee", "类别 category", "单据数 documents", "票面合计 total", "申报金额 claimed"]
SUMMARY_HEADERS += ["审核通过金额 approved total", "通过 pass", "待复核 review", "未通过 fail"]


def write_workbook(
    path: Path,
    docs: Sequence[Doc],
    rejected: Sequence[tuple[str, str]],
    *,
    links: dict[str, Path],
    thumbnails: dict[str, bytes],
    title: str,
    period: str = "",
    company: str = "",
) -> Path:
    """The audit workbook: ``Summary`` first (per employee and category, a grand total, 编制/审核
    lines, titled by the claim month), then ``Documents`` for reviewers (field values only; OCR
    confidences, which a manager does not read, on their own ``Confidences`` sheet), then ``Rejected``."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as XLImage
    from openpyxl.styles import Font

    order = {"fail": 0, "review": 1, "pass": 2}
    docs = sorted(docs, key=lambda d: (order[d.verdict], d.employee, d.file))
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    groups: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for doc in docs:
        groups[(doc.employee, doc.category)].append(doc)
    summary_rows = []
    for (employee, category), items in sorted(groups.items()):
        total = sum((d.total or Decimal(0) for d in items), Decimal("0.00"))
        passed = sum((d.total or Decimal(0) for d in items if d.verdict == "pass"), Decimal("0.00"))
        claimed = sum((d.claimed_amount or Decimal(0) for d in items), Decimal("0.00"))
        counts = {v: sum(1 for d in items if d.verdict == v) for v in ("pass", "review", "fail")}
        summary_rows.append(
            [employee, category, len(items), total, claimed, passed, counts["pass"], counts["review"], counts["fail"]]
        )
    fails, reviews = sum(1 for d in docs if d.verdict == "fail"), sum(1 for d in docs if d.verdict == "review")
    status = f"共 {len(docs)} 张单据：{fails} 张未通过审核，{reviews} 张待人工复核，{len(rejected)} 个文件无法读取"
    total_row = write_summary(
        summary,
        title=title,
        period=period,
        headers=SUMMARY_HEADERS,
        rows=summary_rows,
        total_columns=range(2, 9),
        status=status,
        company=company,
    )
    add_sign_off(summary, total_row)

    sheet = book.create_sheet("Documents")
    headers = _headers()
    rows = []
    for doc in docs:
        row: list[Any] = [doc.verdict, doc.file, None, doc.employee, doc.category, doc.claimed_amount, doc.type]
        for name in FIELD_COLUMNS:
            item = doc.fields.get(name)
            row.append(item[0] if item else None)
        for name in RULES:
            result = doc.verdicts.get(name)
            row.append(
                f"{result.verdict}: {result.reason}" if result and result.reason else result.verdict if result else ""
            )
        row += ["\n".join(doc.reasons), None, None, doc.sha256]
        rows.append(row)
    last = write_table(sheet, headers, rows)
    thumb_col = headers.index("thumbnail") + 1
    file_col = headers.index("file") + 1
    sheet.column_dimensions[sheet.cell(row=1, column=thumb_col).column_letter].width = 16
    for i, doc in enumerate(docs, start=2):
        link = links.get(doc.sha256)
        if link is not None:
            cell = sheet.cell(row=i, column=file_col)
            cell.hyperlink = link.resolve().as_uri()
            cell.font = Font(color="0563C1", underline="single")
        data = thumbnails.get(doc.sha256)
        if data:
            image = XLImage(io.BytesIO(data))
            scale = 80 / max(image.height, 1)
            image.width, image.height = int(image.width * scale), 80
            sheet.add_image(image, sheet.cell(row=i, column=thumb_col).coordinate)
            sheet.row_dimensions[i].height = 62
    # what a reviewer never fills in stays out of sight (still there, and still read back by name):
    # the sha256 key and the fields no document in this batch has
    for index, name in enumerate(headers, start=1):
        empty = name in FIELD_COLUMNS and all(row[index - 1] in (None, "") for row in rows)
        if name == MARKER or empty:
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].hidden = True
    highlight_rows(sheet, "A", 2, last, "fail", RED_FILL)
    highlight_rows(sheet, "A", 2, last, "review", YELLOW_FILL)
    highlight_rows(sheet, "A", 2, last, "pass", GREEN_FILL)

    confidences = book.create_sheet("Confidences")
    conf_rows = []
    for doc in docs:
        values = [round(item[1], 3) if (item := doc.fields.get(name)) else None for name in FIELD_COLUMNS]
        conf_rows.append([doc.file, *values, doc.sha256])
    write_table(confidences, _confidence_headers(), conf_rows)
    confidences.sheet_state = "hidden"  # internals: there for whoever asks, not in a manager's way

    rejected_sheet = book.create_sheet("Rejected")
    write_table(rejected_sheet, ["file", "why"], list(rejected))
    for ws in book.worksheets:  # every printed page says what it is and for which month
        set_print(ws, company=company or "费用报销审核", period=period, landscape=True if ws is sheet else None)
    book.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


@dataclass
class Correction:
    sha256: str
    fields: dict[str, Any]  # field name → corrected value
    verdict: str | None  # "pass" / "fail" from the reviewer, or None
    note: str


def _same(old: Any, new: Any) -> bool:
    if old is None or old == "":
        return new is None or new == ""
    if isinstance(old, Decimal):
        try:
            return Decimal(str(new)) == old
        except (InvalidOperation, ValueError):
            return False
    if isinstance(old, dt.date) and isinstance(new, dt.datetime):
        return new.date() == old
    return str(old) == str(new)


def _convert(name: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if name in DECIMAL_FIELDS:
        try:
            return Decimal(str(value).replace(",", "").replace("¥", "").strip())
        except InvalidOperation:
            raise ValueError(f"{name}: {value!r} is not an amount") from None
    if name in DATE_FIELDS:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        from backroom.ocr.normalise import parse_date

        parsed = parse_date(str(value))
        if parsed is None:
            raise ValueError(f"{name}: {value!r} is not a date")
        return parsed
    return str(value).strip()


def is_audit_workbook(path: Path) -> bool:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception:
        return False
    try:
        if "Documents" not in book.sheetnames:
            return False
        header = next(book["Documents"].iter_rows(max_row=1, values_only=True), ())
        return MARKER in header and "reviewer verdict" in header
    finally:
        book.close()


def read_corrections(path: Path, known: Callable[[str], dict[str, tuple[Any, float, str]] | None]) -> list[Correction]:
    """What a reviewer changed: field cells that differ from what the bot stored (``known(sha256)``
    gives the stored fields, or ``None`` for a document it never saw), and the verdict column."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book["Documents"].iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows)]
        col = {name: i for i, name in enumerate(header)}
        out = []
        for number, row in enumerate(rows, start=2):
            sha = row[col[MARKER]] if col[MARKER] < len(row) else None
            stored = known(str(sha)) if sha else None
            if stored is None:
                continue
            changed: dict[str, Any] = {}
            for name in FIELD_COLUMNS:
                if name not in col:
                    continue
                new = row[col[name]]
                old = stored.get(name, (None, 0.0, ""))[0]
                if not _same(old, new):
                    try:
                        changed[name] = _convert(name, new)
                    except ValueError as exc:
                        raise ValueError(f"{path}: row {number}, {exc}") from None
            raw_verdict = str(row[col["reviewer verdict"]] or "").strip().lower()
            verdict = "pass" if raw_verdict in APPROVE else "fail" if raw_verdict in REJECT else None
            note = str(row[col["reviewer note"]] or "").strip()
            if changed or verdict:
                out.append(Correction(sha, changed, verdict, note))
        return out
    finally:
        book.close()

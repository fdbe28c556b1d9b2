"""Excel and CSV files dropped in a folder: GBK/GB18030 or UTF-8, Chinese headers.

Every matching file in ``folder`` is read on each pull (files are never moved, changed or deleted;
re-reading one replaces its intervals in the store, so a corrected file simply wins). The encoding
of a CSV is detected by :mod:`backroom.bots.formats.encoding` (BOM, strict UTF-8, else GB18030).
Headers are matched after trimming spaces and full-width forms. A file lacking a mapped column is
reported by name and column, and the other files are still read.
"""

from __future__ import annotations

import asyncio
import csv
import io
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from backroom.bots.formats.encoding import decode
from backroom.bots.formats.errors import FormatError
from backroom.bots.systems.metric_sources.base import (
    LayoutError,
    MetricSource,
    MetricSourceError,
    PullResult,
    SourceConfig,
    Window,
)
from backroom.bots.systems.metric_sources.values import RowOptions, check_columns, rows_to_samples

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["FilesSource", "Options", "decode", "pull", "read_table"]


class Options(RowOptions):
    folder: Path
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.xlsx"])
    encoding: str | None = None  # force one (e.g. "gb18030"); default: detect
    sheet: str | None = None  # Excel: sheet name (default: the first)
    header_row: int = Field(default=1, ge=1)
    minutes_field: str | None = None


def _clean(header: Any) -> str:
    return unicodedata.normalize("NFKC", str(header or "")).strip()


def read_table(path: Path, options: Options) -> tuple[list[str], list[dict[str, Any]]]:
    """Headers and rows (dicts by header) of one CSV or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb[options.sheet] if options.sheet else wb.worksheets[0]
            lines = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        text = decode(path.read_bytes(), declared=options.encoding)
        lines = list(csv.reader(io.StringIO(text)))
    lines = lines[options.header_row - 1 :]
    if not lines:
        return [], []
    headers = [_clean(h) for h in lines[0]]
    rows = [dict(zip(headers, line, strict=False)) for line in lines[1:] if any(c not in (None, "") for c in line)]
    return headers, rows


def _pull_sync(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    files = ctx.inputs(options.folder, options.patterns, missing_ok=True)  # reported below, per source
    folder = options.folder if options.folder.is_absolute() else ctx.home / options.folder
    if not folder.is_dir():
        raise MetricSourceError(f"{where}: folder {folder} does not exist")
    tz = ZoneInfo(source.timezone) if source.timezone else ctx.timezone
    result = PullResult()
    problems = 0
    for path in files:
        try:
            headers, rows = read_table(path, options)
            check_columns(options, headers, f"{where} file {path.name}")
            samples, issues = rows_to_samples(rows, options, tz, f"{where} file {path.name}")
        except (LayoutError, FormatError, UnicodeDecodeError, ValueError, OSError) as exc:
            result.issues.append(str(exc) if isinstance(exc, LayoutError) else f"{where} file {path.name}: {exc}")
            problems += 1
            continue
        result.samples.extend(s for s in samples if window.start <= s.start < window.end)
        result.issues.extend(issues)
    if files and problems == len(files):
        raise MetricSourceError(f"{where}: no file could be read: " + "; ".join(result.issues[:3]))
    return result


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    return await asyncio.to_thread(_pull_sync, ctx, source, window)


class FilesSource(MetricSource):
    """Excel/CSV files dropped in a folder (``kind = "files"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

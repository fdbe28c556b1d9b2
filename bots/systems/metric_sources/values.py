"""Turning rows from any source (JSON items, SQL rows, spreadsheet lines, table cells) into samples.

The mapping is declared once per source (:class:`RowOptions`): which field holds the interval start
(or a date plus an hour), which fields are dimensions, and which field feeds each metric — with an
optional ``times`` factor so that a dashboard's 首解率 of 72.5% on 400 answered calls becomes 290
resolved contacts, a sum that aggregates correctly.

A value that is not a number ("N/A", "—", "暂无") is skipped and reported as an issue naming the row
and field; it never stops the pull and never becomes a zero.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from backroom.bots.systems.metric_sources.base import LayoutError, Sample, dims_key

__all__ = ["DEFAULT_FIELDS", "FieldSpec", "RowOptions", "parse_number", "parse_time", "rows_to_samples"]

DEFAULT_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "answered_within_20s",
    "answered_within_30s",
    "handle_seconds",
    "fcr_resolved",
    "csat_responses",
    "csat_satisfied",
    "staffed_seconds",
)


class FieldSpec(BaseModel):
    """``value = number(field) × scale × number(times)`` (``times`` optional)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    times: str | None = None
    scale: float = 1.0


class RowOptions(BaseModel):
    """How rows map to samples; shared by every adapter's ``Options``."""

    model_config = ConfigDict(extra="forbid")

    time_field: str = "interval_start"  # ISO time (offset optional), or "HH:MM" with date_field
    date_field: str | None = None  # a column holding the date, when time_field holds only the time
    minutes_field: str | None = "interval_minutes"  # per-row interval length, if the source says
    interval_minutes: int = Field(default=15, ge=1, le=1440)  # otherwise this
    dimensions: dict[str, str] = Field(default_factory=lambda: {"queue": "queue"})  # dim -> field
    fields: dict[str, str | FieldSpec] = Field(default_factory=lambda: {m: m for m in DEFAULT_FIELDS})


_EMPTY = {"", "-", "—", "–", "--", "n/a", "na", "null", "none", "暂无", "无"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(raw: Any) -> float | None:
    """A number from a cell: ints, floats, "1,234", "72.5%", full-width digits; None if not one."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "").replace(" ", "")
    if text.lower() in _EMPTY:
        return None
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    if not _NUMBER.match(text):
        return None
    return float(text) * scale


def parse_time(raw: Any, tz: ZoneInfo, date: Any = None) -> dt.datetime:
    """An aware UTC datetime from ISO text, a datetime, or a date plus "HH:MM" — naive means ``tz``."""
    if isinstance(raw, dt.datetime):
        moment = raw
    elif date is not None:
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date).strip()[:10])
        if isinstance(raw, dt.time):
            clock = raw
        else:
            text = str(raw).strip().split("-")[0].split("~")[0].strip()
            clock = dt.time.fromisoformat(text if len(text) > 2 else f"{int(text):02d}:00")
        moment = dt.datetime.combine(day, clock)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().replace("Z", "+00:00").replace("/", "-")
        moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)


def check_columns(options: RowOptions, columns: Iterable[str], where: str) -> None:
    """Raise :class:`LayoutError` naming every mapped column that ``columns`` lacks."""
    have = {str(c).strip() for c in columns}
    needed = [options.time_field, *options.dimensions.values()]
    if options.date_field:
        needed.append(options.date_field)
    for spec in options.fields.values():
        spec = FieldSpec(field=spec) if isinstance(spec, str) else spec
        needed.append(spec.field)
        if spec.times:
            needed.append(spec.times)
    missing = [c for c in dict.fromkeys(needed) if c not in have]
    if missing:
        raise LayoutError(
            f"{where}: column(s) {', '.join(repr(m) for m in missing)} not found; "
            f"the table has {', '.join(repr(c) for c in have) or 'no columns'}"
        )


def rows_to_samples(
    rows: Iterable[Mapping[str, Any]],
    options: RowOptions,
    tz: ZoneInfo,
    where: str,
    *,
    date: Any = None,
) -> tuple[list[Sample], list[str]]:
    """Samples from mapped rows, and one issue line per value or row that had to be skipped.

    Two rows that give one metric different values for the same dimensions and interval would be
    merged silently downstream (the store keeps one value per key): that raises :class:`LayoutError`
    naming the columns the rows differ in — columns the mapping should keep as dimensions. A row
    repeated with the same values is the same fact and passes.
    """
    samples: list[Sample] = []
    issues: list[str] = []
    seen: dict[tuple[str, str, dt.datetime], tuple[float, int, Mapping[str, Any]]] = {}
    specs = {m: FieldSpec(field=s) if isinstance(s, str) else s for m, s in options.fields.items()}
    for number, row in enumerate(rows, start=1):
        try:
            day = row.get(options.date_field) if options.date_field else date
            start = parse_time(row[options.time_field], tz, day)
        except (KeyError, TypeError, ValueError) as exc:
            issues.append(f"{where} row {number}: interval start {row.get(options.time_field)!r} unreadable ({exc})")
            continue
        minutes = options.interval_minutes
        if options.minutes_field and row.get(options.minutes_field) not in (None, ""):
            minutes = int(parse_number(row[options.minutes_field]) or minutes)
        dims = dims_key({d: row.get(f, "") for d, f in options.dimensions.items()})
        for metric, spec in specs.items():
            if spec.field not in row:
                continue
            value = parse_number(row[spec.field])
            factor = 1.0
            if value is not None and spec.times:
                factor = parse_number(row.get(spec.times)) or math.nan
            if value is None or math.isnan(factor):
                bad = row[spec.field] if value is None else row.get(spec.times)
                issues.append(
                    f"{where} row {number} ({dims} {start:%Y-%m-%d %H:%M} UTC) field "
                    f"{spec.field if value is None else spec.times!r}: {bad!r} is not a number — skipped"
                )
                continue
            amount = value * spec.scale * factor
            earlier = seen.setdefault((metric, dims, start), (amount, number, row))
            if earlier[1] != number and earlier[0] != amount:
                other = earlier[2]
                differ = sorted(str(k) for k in set(row) | set(other) if row.get(k) != other.get(k))
                raise LayoutError(
                    f"{where}: rows {earlier[1]} and {number} both give {metric!r} for {dims} at "
                    f"{start:%Y-%m-%d %H:%M} UTC ({earlier[0]:g} vs {amount:g}); they differ in column(s) "
                    f"{', '.join(differ)} — map the column(s) telling them apart in 'dimensions'"
                )
            if earlier[1] != number:
                continue  # the same row again: one fact, stored once
            samples.append(Sample(metric, dims, start, minutes * 60, amount))
    return samples, issues

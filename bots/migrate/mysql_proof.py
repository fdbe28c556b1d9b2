"""Set-based proof on MySQL/MariaDB: one checksum per batch computed by the server, none row by row.

Reading a batch back through PyMySQL costs more than writing it (every value is parsed in Python).
Instead the server sums a 60-bit slice of ``MD5`` over each stored row as text, and Python sums the
same over the rows it sent, formatted as the server shows the column's type (``DECIMAL(12,2)`` →
``12.50``, ``DATETIME`` → ``2024-03-01 08:00:00``). Equal sums and counts prove the batch.

This check can only say "equal" or "look closer": any difference — a changed value, or a value
this module formats differently from the server — sends the engine to the row-by-row comparison,
which names key, field and both values. So a formatting gap costs time, never a wrong answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["batch_checksum", "formatters", "server_sum_sql"]

Formatter = Callable[[Any], str]


def _decimal(scale: int) -> Formatter:
    step = Decimal(1).scaleb(-scale)

    def fmt(v: Any) -> str:
        d = Decimal(v)
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            return format(d, "f")  # more places than the column keeps: differs, looked at closely
        return format(d.quantize(step), "f")

    return fmt


def _datetime(v: Any) -> str:
    if isinstance(v, dt.datetime):
        text = v.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{v.microsecond:06d}" if v.microsecond else text
    return str(v)


def formatters(table: Any, columns: Sequence[str]) -> list[Formatter] | None:
    """How the server shows each column as text; None when a column's type is not covered."""
    import sqlalchemy as sa

    out: list[Formatter] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, sa.Boolean) or getattr(kind, "display_width", None) == 1:
            return None  # TINYINT(1)/BOOLEAN: shown as 0/1, sent as True/False
        if isinstance(kind, sa.Integer):
            out.append(lambda v: str(int(v)))
        elif isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.scale is not None:
            out.append(_decimal(int(kind.scale)))
        elif isinstance(kind, sa.DateTime) and not getattr(kind, "fsp", None):
            out.append(_datetime)
        elif isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            out.append(lambda v: v.isoformat() if isinstance(v, dt.date) else str(v))
        elif isinstance(kind, (sa.String, sa.Text)) and not isinstance(kind, (sa.CHAR, sa.Enum)):
            out.append(str)
        else:
            return None
    return out


def _row_text(row: dict[str, Any], columns: Sequence[str], fmts: Sequence[Formatter]) -> str:
    return "\x1f".join("\x00" if row.get(c) is None else f(row[c]) for c, f in zip(columns, fmts, strict=True))


def batch_checksum(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmts: Sequence[Formatter]) -> int:
    """The sum the server computes with :func:`server_sum_sql`, over the rows as sent."""
    total = 0
    for row in rows:
        total += int(hashlib.md5(_row_text(row, columns, fmts).encode("utf-8")).hexdigest()[:15], 16)  # noqa: S324
    return total


def server_sum_sql(quoted: Sequence[str]) -> str:
    """``SUM`` of the same 60-bit MD5 slices over the stored rows (exact: DECIMAL sum of UNSIGNED)."""
    parts = ", ".join(f"IFNULL(CAST({c} AS CHAR), CHAR(0))" for c in quoted)
    return f"SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS(CHAR(31), {parts})), 1, 15), 16, 10) AS UNSIGNED))"

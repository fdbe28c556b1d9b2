"""What the target table will refuse or change, checked on each mapped row before it is sent.

A database refuses a row for reasons its schema states: NOT NULL, a length, numeric precision and
scale, an integer's range, a character set without 4-byte characters (MySQL's ``utf8mb3``). Reading
them once from the reflected table lets every row be judged in the mapping step, so

* the dry run reports exactly the rows the real run would reject, and why (same code path);
* a reject names the column at fault and the column's declared type, not the batch's first key;
* a value the target would silently change (``12.345`` into ``NUMERIC(12,2)``) is refused with the
  fix to make (``round = 2`` on the field), instead of failing the proof on every re-run.

Aware times bound for a column without a zone are stored as UTC wall time (what drivers do with
the offset differs: PyMySQL drops it), so the proof compares like with like.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["RowCheck", "compile_checks"]

#: Checks a mapped row (normalising values in place); ``(column, reason)`` when the target would refuse it.
RowCheck = Callable[[dict[str, Any]], tuple[str, str] | None]

_INT_RANGES = {
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "MEDIUMINT": (-(2**23), 2**23 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "TINYINT": (-128, 127),
}


class Refusal(ValueError):
    """The target would refuse (or silently alter) this value; the message says why."""


def _declared(column: Any, dialect: Any) -> str:
    try:
        return str(column.type.compile(dialect=dialect))
    except Exception:  # an exotic reflected type: name it as SQLAlchemy does
        return str(column.type)


def _narrow_charset(column: Any, table: Any) -> str | None:
    """MySQL/MariaDB: the column's character set when it cannot hold 4-byte characters."""
    charset = getattr(column.type, "charset", None) or table.dialect_options["mysql"].get("default charset")
    if charset and str(charset).lower() in ("utf8", "utf8mb3"):
        return str(charset)
    return None


def _column_check(column: Any, table: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """One function per column with something to check; None where the column accepts anything."""
    import sqlalchemy as sa

    kind = column.type
    declared = _declared(column, dialect)
    name = column.name
    steps: list[Callable[[Any], Any]] = []
    if isinstance(kind, sa.String) and getattr(kind, "length", None):
        limit = int(kind.length)

        def length(v: Any) -> Any:
            if isinstance(v, str) and len(v) > limit:
                raise Refusal(f"{len(v)} characters, column {name} {declared} holds at most {limit}")
            return v

        steps.append(length)
    if isinstance(kind, sa.String) and dialect.name in ("mysql", "mariadb") and _narrow_charset(column, table):
        charset = _narrow_charset(column, table)

        def narrow(v: Any) -> Any:
            if isinstance(v, str):
                wide = next((ch for ch in v if ord(ch) > 0xFFFF), None)
                if wide is not None:
                    raise Refusal(f"4-byte character {wide!r} cannot be stored in column {name} (charset {charset})")
            return v

        steps.append(narrow)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.precision is not None:
        precision, scale = int(kind.precision), int(kind.scale or 0)
        limit = Decimal(10) ** (precision - scale)  # computed once: this runs for every row

        def numeric(v: Any) -> Any:
            if v.__class__ is Decimal:
                d = v
            elif isinstance(v, int) and not isinstance(v, bool):
                d = Decimal(v)
            else:
                return v
            if not d.is_finite():
                raise Refusal(f"{v} is not a finite number for column {name} {declared}")
            exponent = d.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > scale:  # trailing zeros aside (12.500 fits (12,2))
                exponent = d.normalize().as_tuple().exponent
                if isinstance(exponent, int) and -exponent > scale:
                    raise Refusal(
                        f"{v} has {-exponent} decimal places, column {name} {declared} keeps {scale} "
                        f"(it would be rounded; set round = {scale} on the field to round on purpose)"
                    )
            if abs(d) >= limit:
                raise Refusal(f"{v} is out of range for column {name} {declared}")
            return v

        steps.append(numeric)
    elif isinstance(kind, sa.Integer):
        bounds = _INT_RANGES.get(type(kind).__visit_name__.upper()) or _INT_RANGES.get(declared.split("(")[0].upper())
        if bounds is not None and "UNSIGNED" not in declared.upper():
            lo, hi = bounds

            def integer(v: Any) -> Any:
                if isinstance(v, int) and not (lo <= v <= hi):
                    raise Refusal(f"{v} is out of range for column {name} {declared} ({lo}..{hi})")
                return v

            steps.append(integer)
    if isinstance(kind, sa.DateTime) and not getattr(kind, "timezone", False):

        def utc_wall(v: Any) -> Any:
            if isinstance(v, dt.datetime) and v.tzinfo is not None:
                return v.astimezone(dt.UTC).replace(tzinfo=None)  # stored as UTC; drivers differ with offsets
            return v

        steps.append(utc_wall)
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def all_of(v: Any) -> Any:
        for step in steps:
            v = step(v)
        return v

    return all_of


def compile_checks(table: Any, columns: Sequence[str], dialect: Any) -> RowCheck | None:
    """A function that checks (and normalises, in place) a mapped row; ``(column, reason)`` if refused."""
    checks: list[tuple[str, Callable[[Any], Any] | None, bool]] = []
    for name in columns:
        column = table.c[name]
        generated = column.autoincrement is True or (column.autoincrement == "auto" and column.primary_key)
        required = not column.nullable and column.server_default is None and not generated
        fn = _column_check(column, table, dialect)
        if fn is not None or required:
            checks.append((name, fn, required))
    if not checks:
        return None
    declared = {name: _declared(table.c[name], dialect) for name, _, _ in checks}

    def check(row: dict[str, Any]) -> tuple[str, str] | None:
        for name, fn, required in checks:
            value = row.get(name)
            if value is None:
                if required:
                    return name, f"column {name} {declared[name]} is NOT NULL in the target, the value is empty"
                continue
            if fn is not None:
                try:
                    row[name] = fn(value)
                except Refusal as exc:
                    return name, str(exc)
        return None

    return check

"""Canonical values, checksums and the cursor's JSON form.

Proof compares what the bot meant to write with what the target holds afterwards. Both sides go
through :func:`canonical` first, so that ``Decimal('12.5')`` and a ``numeric(12,2)`` read back as
``Decimal('12.50')``, or an aware time and the same instant in another zone, compare equal — and a
value the target silently truncated or rounded does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["canonical", "checksum", "decode_position", "encode_position", "key_of"]


def canonical(value: Any) -> str:
    """A text form that is equal exactly when the values mean the same."""
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(value.quantize(Decimal(1)))
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return canonical(Decimal(repr(value)))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def key_of(row: dict[str, Any], key: Sequence[str]) -> tuple[str, ...]:
    return tuple(canonical(row[k]) for k in key)


def checksum(rows: Iterable[dict[str, Any]], columns: Sequence[str], key: Sequence[str]) -> str:
    """Order-independent SHA-256 over the canonical rows (sorted by key)."""
    lines = sorted("\x1f".join(canonical(r.get(c)) for c in columns) for r in rows)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def _enc(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return dt.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        if "dec" in value:
            return Decimal(value["dec"])
    return value


def encode_position(position: Any) -> Any:
    """JSON form of a cursor position (lists of typed values, or plain dicts for REST/files)."""
    if isinstance(position, (list, tuple)):
        return [_enc(v) for v in position]
    return position


def decode_position(position: Any) -> Any:
    if isinstance(position, list):
        return [_dec(v) for v in position]
    return position

"""Extracted fields: a value with the confidence and box it came from, and a document's result.

Every field says where it came from (``ocr`` text, the ``qr`` code, a PDF ``text`` layer or a
``computed`` value) so a reviewer can judge it, and carries a confidence in 0..1 so the audit can
send doubtful values to review instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from backroom.ocr.engines import Box, Line

__all__ = ["DocType", "Extraction", "Field", "jsonable"]

DocType = Literal["receipt", "fapiao", "unknown"]


@dataclass(frozen=True)
class Field:
    """One extracted value."""

    value: Any
    confidence: float
    box: Box | None = None
    source: str = "ocr"
    page: int = 0

    @classmethod
    def from_line(cls, value: Any, line: Line, *, factor: float = 1.0, source: str = "ocr") -> Field:
        """A field read from ``line``; ``factor`` lowers confidence for weaker rules."""
        return cls(value, round(min(1.0, line.confidence * factor), 3), line.box, source, line.page)

    def to_json(self) -> dict[str, Any]:
        return {"value": jsonable(self.value), "confidence": round(self.confidence, 3)}


def jsonable(value: Any) -> Any:
    """Decimals as strings (never floats), dates as ISO, lists and dicts recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


@dataclass
class Extraction:
    """What was read from one document."""

    type: DocType
    fields: dict[str, Field] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # cross-check disagreements, unreadable parts

    def value(self, name: str, default: Any = None) -> Any:
        f = self.fields.get(name)
        return f.value if f is not None else default

    def confidence(self, name: str) -> float:
        f = self.fields.get(name)
        return f.confidence if f is not None else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "fields": {name: f.to_json() for name, f in self.fields.items()},
            **({"problems": self.problems} if self.problems else {}),
        }

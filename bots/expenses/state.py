"""Every document the bot has read, in Backroom's own database, for duplicates across all history
and for reviewer corrections.

One row per file content (sha256): who claimed it, for which month, its fields (typed JSON) and
its duplicate keys (fapiao code + number; receipt merchant + date + total). A second submission of
the same invoice — another scan, another month — finds the first by key.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, select, update
from sqlalchemy.engine import Engine

from backroom.bots.sdk.db import Schema, upgrade

__all__ = ["SCHEMA", "DocumentStore", "decode_fields", "encode_fields", "invoice_key", "pack", "receipt_key", "unpack"]

metadata = MetaData()

#: this bot's tables' migrations, in ``migrations/`` (see :mod:`backroom.bots.sdk.db`)
SCHEMA = Schema("expenses", Path(__file__).resolve().with_name("migrations"))

documents = Table(
    "expenses_documents",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("file", String(500), nullable=False),
    Column("employee", String(200), nullable=False),
    Column("category", String(100), nullable=False),
    Column("claim_month", String(7), nullable=False),
    Column("doc_type", String(20), nullable=False),
    Column("invoice_key", String(100), nullable=True),
    Column("receipt_key", String(300), nullable=True),
    Column("fields", Text, nullable=False),
    Column("verdict", String(10), nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # read | done
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_expenses_invoice_key", "invoice_key"),
    Index("ix_expenses_receipt_key", "receipt_key"),
)


def encode_fields(fields: dict[str, tuple[Any, float, str]]) -> str:
    """Typed JSON so Decimals stay Decimals and dates stay dates when read back."""
    out = {}
    for name, (value, confidence, source) in fields.items():
        if isinstance(value, Decimal):
            kind, raw = "decimal", str(value)
        elif isinstance(value, dt.date):
            kind, raw = "date", value.isoformat()
        elif isinstance(value, dt.time):
            kind, raw = "time", value.isoformat()
        else:
            from backroom.ocr.fields import jsonable

            kind, raw = "json", jsonable(value)
        out[name] = {"t": kind, "v": raw, "c": confidence, "s": source}
    return json.dumps(out, ensure_ascii=False)


def decode_fields(text: str) -> dict[str, tuple[Any, float, str]]:
    out: dict[str, tuple[Any, float, str]] = {}
    for name, item in json.loads(text).items():
        raw = item["v"]
        value = {
            "decimal": lambda r: Decimal(r),
            "date": dt.date.fromisoformat,
            "time": dt.time.fromisoformat,
        }.get(item["t"], lambda r: r)(raw)
        out[name] = (value, float(item["c"]), item["s"])
    return out


PROBLEMS = "_problems"


def pack(fields: dict[str, tuple[Any, float, str]], problems: list[str]) -> str:
    """Fields and the extractor's cross-check problems, in one typed JSON text."""
    return encode_fields({**fields, PROBLEMS: (list(problems), 1.0, "ocr")})


def unpack(text: str) -> tuple[dict[str, tuple[Any, float, str]], list[str]]:
    fields = decode_fields(text)
    problems = fields.pop(PROBLEMS, ([], 1.0, "ocr"))[0]
    return fields, list(problems)


def invoice_key(fields: dict[str, tuple[Any, float, str]]) -> str | None:
    """One invoice, whatever file it came in (image, PDF, OFD, XML): ``code:number``, and for a
    数电票 (20-digit number, no code) ``:number`` (see :func:`backroom.ocr.einvoice.duplicate_key`)."""
    from backroom.ocr.einvoice import duplicate_key

    return duplicate_key(fields)


def receipt_key(fields: dict[str, tuple[Any, float, str]]) -> str | None:
    parts = [fields.get(k) for k in ("company", "date", "total")]
    if any(p is None or p[0] in (None, "") for p in parts):
        return None
    company = "".join(str(parts[0][0]).split()).upper()  # type: ignore[index]
    return f"{company}|{parts[1][0]}|{parts[2][0]}"  # type: ignore[index]


class DocumentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, SCHEMA)

    def get(self, sha256: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.sha256 == sha256)).mappings().first()
        return dict(row) if row else None

    def find_duplicate(self, sha256: str, inv: str | None, rec: str | None) -> dict[str, Any] | None:
        """An earlier, finished document (other content) with the same invoice or receipt key.

        Rows still ``read`` belong to this batch or an interrupted one; the bot checks its own
        batch itself, so two copies in one batch do not flag each other."""
        conditions = []
        if inv:
            conditions.append(documents.c.invoice_key == inv)
        if rec:
            conditions.append(documents.c.receipt_key == rec)
        if not conditions:
            return None
        from sqlalchemy import or_

        query = (
            select(documents)
            .where(or_(*conditions), documents.c.sha256 != sha256, documents.c.status == "done")
            .order_by(documents.c.created_at)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def save(self, **values: Any) -> None:
        values.setdefault("created_at", dt.datetime.now(dt.UTC))
        with self.engine.begin() as conn:
            exists = conn.execute(select(documents.c.sha256).where(documents.c.sha256 == values["sha256"])).first()
            if exists:
                values.pop("created_at")
                conn.execute(update(documents).where(documents.c.sha256 == values["sha256"]).values(**values))
            else:
                conn.execute(documents.insert().values(**values))

    def mark(self, sha256: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(documents).where(documents.c.sha256 == sha256).values(**values))

    def all_for_month(self, month: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents).where(documents.c.claim_month == month)).mappings().all()
        return [dict(r) for r in rows]

"""What the reconcile bot remembers between runs, in Backroom's own database.

* ``reconcile_statements`` — every imported statement (file digest, account, period, balances):
  duplicate files, continuity of balances and date gaps are checked against it;
* ``reconcile_bank_lines`` — every imported bank line, so yesterday's unmatched lines are still
  open today (statements arrive daily; the ledger is re-read whole each run);
* ``reconcile_matches`` — auto, confirmed and rejected matches and open suggestions. Auto and
  confirmed matches are kept, so a run only works on what is still open; rejected pairs are
  never proposed again.

Amounts are stored as text so they stay exact Decimals on SQLite too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, DateTime, Float, Integer, MetaData, String, Table, Text, select, update
from sqlalchemy.engine import Engine

from backroom.bots.formats.statements import PreviousStatement, Statement, StatementLine
from backroom.bots.sdk.db import Schema, upgrade

__all__ = ["SCHEMA", "ReconcileState", "match_id"]

metadata = MetaData()

#: this bot's tables' migrations, in ``migrations/`` (see :mod:`backroom.bots.sdk.db`)
SCHEMA = Schema("reconcile", Path(__file__).resolve().with_name("migrations"))

statements_t = Table(
    "reconcile_statements",
    metadata,
    Column("digest", String(80), primary_key=True),  # file sha256, ":k" for the k-th statement in it
    Column("account", String(64), nullable=False, index=True),
    Column("statement_id", String(128)),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("opening", String(32)),
    Column("closing", String(32)),
    Column("line_count", Integer),
    Column("source", Text),
    Column("format", String(32)),
    Column("imported_at", DateTime(timezone=True)),
    Column("currency", String(8)),  # 0002
)
lines_t = Table(
    "reconcile_bank_lines",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("account", String(64), index=True),
    Column("booking_date", Date),
    Column("value_date", Date),
    Column("amount", String(32)),
    Column("currency", String(8)),
    Column("counterparty_name", Text),
    Column("counterparty_account", String(64)),
    Column("reference", Text),
    Column("purpose", Text),
    Column("bank_line_id", String(128)),
    Column("digest", String(80)),
    Column("balance_after", String(32)),  # with occurrence: what a content key is built from (0002)
    Column("occurrence", Integer),
)
matches_t = Table(
    "reconcile_matches",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("bank_keys", Text),
    Column("ledger_ids", Text),
    Column("rule", String(32)),
    Column("score", Float),
    Column("status", String(16), index=True),
    Column("adjustment", String(32)),
    Column("note", Text),
    Column("run_id", String(64)),
    Column("updated_at", DateTime(timezone=True)),
)


def match_id(bank_keys: Sequence[str], ledger_ids: Sequence[str]) -> str:
    raw = json.dumps([sorted(bank_keys), sorted(ledger_ids)], ensure_ascii=False)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


class ReconcileState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, SCHEMA)

    # -- statements ----------------------------------------------------------------------------
    def seen_digests(self) -> dict[str, str]:
        with self.engine.connect() as c:
            return {d: s for d, s in c.execute(select(statements_t.c.digest, statements_t.c.source))}

    def previous(self, account: str, before: dt.date | None = None) -> PreviousStatement | None:
        """The account's statement ending last (before ``before`` when given, so back-filling works)."""
        q = select(statements_t).where(statements_t.c.account == account)
        if before is not None:
            q = q.where(statements_t.c.period_end < before)
        q = q.order_by(statements_t.c.period_end.desc(), statements_t.c.imported_at.desc()).limit(1)
        with self.engine.connect() as c:
            row = c.execute(q).mappings().first()
        if row is None:
            return None
        closing = Decimal(row["closing"]) if row["closing"] else None
        return PreviousStatement(account, closing, row["period_end"], row["source"] or "")

    def line_keys(self, account: str) -> set[str]:
        with self.engine.connect() as c:
            return set(c.execute(select(lines_t.c.key).where(lines_t.c.account == account)).scalars())

    def import_statement(self, st: Statement, now: dt.datetime) -> int:
        """Store the statement and its new lines in one transaction; returns lines added."""
        known = self.line_keys(st.account)
        new = [ln for ln in st.lines if ln.key not in known]
        with self.engine.begin() as c:
            c.execute(
                statements_t.insert().values(
                    digest=st.digest,
                    account=st.account,
                    statement_id=st.statement_id,
                    period_start=st.first_date,
                    period_end=st.last_date,
                    opening=None if st.opening_balance is None else str(st.opening_balance),
                    closing=None if st.closing_balance is None else str(st.closing_balance),
                    line_count=len(st.lines),
                    source=st.source,
                    format=st.format,
                    imported_at=now,
                    currency=st.currency,
                )
            )
            if new:
                c.execute(lines_t.insert(), [self._line_row(ln, st.digest) for ln in new])
        return len(new)

    @staticmethod
    def _line_row(ln: StatementLine, digest: str) -> dict[str, Any]:
        return {
            "key": ln.key,
            "account": ln.account,
            "booking_date": ln.booking_date,
            "value_date": ln.value_date,
            "amount": str(ln.amount),
            "currency": ln.currency,
            "counterparty_name": ln.counterparty_name,
            "counterparty_account": ln.counterparty_account,
            "reference": ln.reference,
            "purpose": ln.purpose,
            "bank_line_id": ln.bank_line_id,
            "digest": digest,
            "balance_after": None if ln.balance_after is None else str(ln.balance_after),
            "occurrence": ln.occurrence,
        }

    def bank_lines(self, accounts: Iterable[str] | None = None) -> list[StatementLine]:
        q = select(lines_t).order_by(lines_t.c.booking_date, lines_t.c.key)
        if accounts:
            q = q.where(lines_t.c.account.in_(list(accounts)))
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return [
            StatementLine(
                account=r["account"],
                booking_date=r["booking_date"],
                value_date=r["value_date"],
                amount=Decimal(r["amount"]),
                currency=r["currency"],
                counterparty_name=r["counterparty_name"] or "",
                counterparty_account=r["counterparty_account"] or "",
                reference=r["reference"] or "",
                purpose=r["purpose"] or "",
                bank_line_id=r["bank_line_id"] or "",
                balance_after=None if r["balance_after"] is None else Decimal(r["balance_after"]),
                occurrence=r["occurrence"] or 0,
                stored_key=r["key"],  # the identity it was imported under, never recomputed
            )
            for r in rows
        ]

    def closing(self, account: str) -> tuple[Decimal | None, dt.date | None, str]:
        """The account's latest statement closing balance, its date, and its currency ('' if unknown)."""
        q = (
            select(statements_t.c.closing, statements_t.c.period_end, statements_t.c.currency)
            .where(statements_t.c.account == account)
            .order_by(statements_t.c.period_end.desc(), statements_t.c.imported_at.desc())
            .limit(1)
        )
        with self.engine.connect() as c:
            row = c.execute(q).first()
        if row is None:
            return None, None, ""
        return (Decimal(row[0]) if row[0] else None), row[1], row[2] or ""

    def latest_closing(self, accounts: Iterable[str]) -> tuple[Decimal | None, dt.date | None]:
        total: Decimal | None = None
        last: dt.date | None = None
        for account in accounts:
            prev = self.previous(account)
            if prev and prev.closing_balance is not None:
                total = (total or Decimal(0)) + prev.closing_balance
                last = max(last, prev.period_end) if last and prev.period_end else prev.period_end
        return total, last

    # -- matches --------------------------------------------------------------------------------
    def matches(self, statuses: Sequence[str]) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(select(matches_t).where(matches_t.c.status.in_(list(statuses)))).mappings().all()
        return [{**r, "bank_keys": json.loads(r["bank_keys"]), "ledger_ids": json.loads(r["ledger_ids"])} for r in rows]

    def save_matches(self, rows: Iterable[dict[str, Any]], run_id: str, now: dt.datetime) -> None:
        """Insert or replace matches by id (bank keys + ledger ids)."""
        rows = list(rows)
        if not rows:
            return
        ids = [match_id(r["bank_keys"], r["ledger_ids"]) for r in rows]
        with self.engine.begin() as c:
            for chunk in range(0, len(ids), 500):
                c.execute(matches_t.delete().where(matches_t.c.id.in_(ids[chunk : chunk + 500])))
            c.execute(
                matches_t.insert(),
                [
                    {
                        "id": mid,
                        "bank_keys": json.dumps(sorted(r["bank_keys"]), ensure_ascii=False),
                        "ledger_ids": json.dumps(sorted(r["ledger_ids"]), ensure_ascii=False),
                        "rule": r["rule"],
                        "score": r.get("score", 0.0),
                        "status": r["status"],
                        "adjustment": r.get("adjustment", "0"),
                        "note": r.get("note", ""),
                        "run_id": run_id,
                        "updated_at": now,
                    }
                    for mid, r in zip(ids, rows, strict=True)
                ],
            )

    def set_status(self, ids: Iterable[str], status: str, now: dt.datetime) -> None:
        with self.engine.begin() as c:
            c.execute(update(matches_t).where(matches_t.c.id.in_(list(ids))).values(status=status, updated_at=now))

    def drop_suggestions(self) -> None:
        """Open suggestions are recomputed every run; only decisions and matches persist."""
        with self.engine.begin() as c:
            c.execute(matches_t.delete().where(matches_t.c.status == "review"))

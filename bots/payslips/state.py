"""What the payslips bot remembers in Backroom's own database.

* ``payslips_ledger``: per year, month and employee, the figures the cumulative 个税 method needs
  (income, 专项扣除, 专项附加扣除, tax withheld), recorded when a month's batch is accepted; a later
  month reads the months before it from here instead of asking HR for a year-to-date sheet.
* ``payslips_deliveries``: one row per payslip sent or attempted, keyed ``month:employee:version``.
  The row is written (``sending``) before the message goes out and updated with the server's answer,
  so a run killed in between leaves ``sending``, which a re-run treats as possibly delivered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, and_, delete, select, update
from sqlalchemy.engine import Engine

from backroom.bots.payslips.tax import Cumulative
from backroom.bots.sdk.db import Schema, UTCDateTime, upgrade

__all__ = ["SCHEMA", "PayslipStore"]

SCHEMA = Schema("payslips", Path(__file__).resolve().with_name("migrations"))

metadata = MetaData()

ledger = Table(
    "payslips_ledger",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("employee_no", String(64), primary_key=True),
    Column("income", String(20), nullable=False),
    Column("special", String(20), nullable=False),
    Column("additional", String(20), nullable=False),
    Column("withheld", String(20), nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "payslips_deliveries",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("month", String(7), nullable=False),
    Column("employee_no", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # sending | sent | failed | uncertain
    Column("recipient", String(200), nullable=False),  # masked
    Column("message_id", String(200), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("attempted_at", UTCDateTime(timezone=True), nullable=False),
    Column("sent_at", UTCDateTime(timezone=True), nullable=True),
    Index("ix_payslips_deliveries_month_employee", "month", "employee_no"),
)


class PayslipStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, SCHEMA)

    # -- the tax year ----------------------------------------------------------------------------
    def prior(self, year: int, month: int) -> dict[str, Cumulative]:
        """Employee number -> the recorded months of ``year`` before ``month``."""
        out: dict[str, Cumulative] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ledger)
                .where(ledger.c.year == year, ledger.c.month < month)
                .order_by(ledger.c.employee_no, ledger.c.month)
            ).mappings()
            for row in rows:
                before = out.get(row["employee_no"], Cumulative())
                out[row["employee_no"]] = before.plus(
                    Decimal(row["income"]),
                    Decimal(row["special"]),
                    Decimal(row["additional"]),
                    withheld=Decimal(row["withheld"]),
                )
        return out

    def record_month(
        self, year: int, month: int, figures: dict[str, dict[str, Decimal]], run_id: str, now: dt.datetime
    ) -> None:
        """Replace the ledger rows of these employees for ``year-month`` (a corrected batch replaces them)."""
        with self.engine.begin() as conn:
            for number, values in figures.items():
                conn.execute(
                    delete(ledger).where(ledger.c.year == year, ledger.c.month == month, ledger.c.employee_no == number)
                )
                conn.execute(
                    ledger.insert().values(
                        year=year,
                        month=month,
                        employee_no=number,
                        **{k: str(v) for k, v in values.items()},
                        run_id=run_id,
                        recorded_at=now,
                    )
                )

    # -- deliveries --------------------------------------------------------------------------------
    def latest(self, month: str, employee_no: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(deliveries)
                    .where(and_(deliveries.c.month == month, deliveries.c.employee_no == employee_no))
                    .order_by(deliveries.c.version.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def latest_sent(self, month: str, employee_no: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(deliveries)
                    .where(
                        deliveries.c.month == month,
                        deliveries.c.employee_no == employee_no,
                        deliveries.c.status == "sent",
                    )
                    .order_by(deliveries.c.version.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def begin(self, **values: Any) -> None:
        """Record an attempt before the message leaves (status ``sending``); an earlier failed
        attempt under the same key is replaced."""
        with self.engine.begin() as conn:
            conn.execute(delete(deliveries).where(deliveries.c.key == values["key"]))
            conn.execute(deliveries.insert().values(status="sending", detail="", sent_at=None, **values))

    def finish(self, key: str, status: str, detail: str, sent_at: dt.datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.key == key)
                .values(status=status, detail=detail[:500], sent_at=sent_at)
            )

    def for_month(self, month: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries)
                .where(deliveries.c.month == month)
                .order_by(deliveries.c.employee_no, deliveries.c.version)
            ).mappings()
            return [dict(r) for r in rows]

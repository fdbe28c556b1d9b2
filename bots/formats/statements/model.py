"""One shape for every bank statement, whatever format it arrived in.

Parsers (Chinese CSV/XLSX, MT940/MT942, camt.052/053, OFX, BAI2) each turn a file into a
:class:`Statement` of :class:`StatementLine` objects, so the checks and the matcher never see a
format. Amounts are ``Decimal`` and signed from the account holder's view: money in is positive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.errors import FormatError

__all__ = ["Statement", "StatementError", "StatementLine", "file_digest"]


class StatementError(FormatError):
    """A statement file cannot be read as promised. Names the file, line and field where it can."""

    def __init__(self, file: Path | str, message: str, *, line: int | None = None, field: str | None = None):
        self.file = str(file)
        self.line = line
        self.field = field
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement on a bank account."""

    account: str
    booking_date: dt.date
    amount: Decimal  # signed: + money in, - money out
    currency: str = "CNY"
    value_date: dt.date | None = None
    counterparty_name: str = ""
    counterparty_account: str = ""
    counterparty_bank: str = ""  # 对方开户行, when the export has it
    reference: str = ""
    purpose: str = ""
    bank_line_id: str = ""  # the bank's own id for the line, when the format has one
    balance_after: Decimal | None = None  # running balance printed on the line, if any
    source_line: int | None = None  # line/row number in the source file, for error messages
    occurrence: int = 0  # n-th line with identical content in its statement (no id, no balance to tell them apart)
    stored_key: str = ""  # the key it was imported under, when reloaded from the bot's state

    @property
    def key(self) -> str:
        """A stable identity for state and idempotency.

        The bank's line id when the format has one (with its rank when the bank wrote the same id on
        several lines of the statement, as the cmxl sample's two ``//55555`` lines); else the content
        (date, amount, counterparty, texts), the running balance where printed, and the rank among
        identical lines of the statement — so the same line downloaded again in an overlapping period gets the same key,
        and two identical 10.00 fees on one day get two. A line read back from the state keeps the
        key it was stored under, whatever the formula has become since.
        """
        if self.stored_key:
            return self.stored_key
        if self.bank_line_id:  # banks reuse their reference within a statement (a batch's, a standing order's)
            return f"{self.account}|{self.bank_line_id}" + (f"#{self.occurrence}" if self.occurrence else "")
        raw = "|".join(
            [
                self.account,
                self.booking_date.isoformat(),
                str(self.amount),
                self.counterparty_account,
                self.reference,
                self.purpose,
                "" if self.balance_after is None else str(self.balance_after),
                str(self.occurrence),
            ]
        )
        return f"{self.account}|h{hashlib.sha1(raw.encode()).hexdigest()[:16]}"


@dataclass
class Statement:
    """A statement of one account over a period, with its balances when the format carries them."""

    account: str
    currency: str
    lines: list[StatementLine]
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    source: str = ""
    format: str = ""
    digest: str = ""  # sha256 of the file bytes: the same file imported twice is caught by this
    statement_id: str = ""  # the bank's statement number when it has one
    holder: str = ""  # 户名 from the export's header block, when it has one
    bank: str = ""  # the bank the layout was recognised as (ICBC, CCB...), empty when not known
    notes: list[str] = field(default_factory=list)

    @property
    def first_date(self) -> dt.date | None:
        if self.period_start:
            return self.period_start
        return min((ln.booking_date for ln in self.lines), default=None)

    @property
    def last_date(self) -> dt.date | None:
        if self.period_end:
            return self.period_end
        return max((ln.booking_date for ln in self.lines), default=None)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

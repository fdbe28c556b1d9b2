"""BAI2 cash-management files (US banks), read with the ``bai2`` package.

Amounts are in cents without a decimal point; type codes say credit or debit. Summary codes 010
(opening ledger) and 015 (closing ledger) give the balances.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest

__all__ = ["parse_bai2"]


def parse_bai2(path: Path, data: bytes | None = None) -> list[Statement]:
    from bai2 import bai2
    from bai2.constants import TypeCodeTransaction

    path = Path(path)
    data = path.read_bytes() if data is None else data
    try:
        parsed = bai2.parse_from_string(data.decode("ascii"), check_integrity=True)
    except UnicodeDecodeError as exc:
        raise StatementError(path, f"BAI2 must be ASCII; found byte {data[exc.start]:#x} at {exc.start}") from exc
    except Exception as exc:
        raise StatementError(path, f"BAI2 is malformed or truncated: {exc}") from exc
    statements = []
    for group in parsed.children:
        as_of: dt.date = group.header.as_of_date
        for account in group.children:
            acct = str(account.header.customer_account_number)
            currency = account.header.currency or group.header.currency or "USD"
            opening = closing = None
            for item in account.header.summary_items:
                if item.type_code.code == "010":
                    opening = Decimal(item.amount) / 100
                elif item.type_code.code == "015":
                    closing = Decimal(item.amount) / 100
            lines = []
            for n, tx in enumerate(account.children, start=1):
                sign = -1 if tx.type_code.transaction == TypeCodeTransaction.debit else 1
                lines.append(
                    StatementLine(
                        account=acct,
                        booking_date=as_of,
                        amount=sign * Decimal(tx.amount) / 100,
                        currency=currency,
                        reference=tx.customer_reference or "",
                        purpose=tx.text or "",
                        bank_line_id=tx.bank_reference or f"{as_of:%Y%m%d}-{n}",
                        source_line=n,
                    )
                )
            statements.append(
                Statement(
                    account=acct,
                    currency=currency,
                    lines=lines,
                    opening_balance=opening,
                    closing_balance=closing,
                    period_start=as_of,
                    period_end=as_of,
                    source=str(path),
                    format="bai2",
                    digest=file_digest(data),
                )
            )
    return statements

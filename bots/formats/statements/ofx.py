"""OFX/QFX statements (SGML 1.x or XML 2.x), read with ``ofxparse``.

OFX carries the closing (LEDGERBAL) balance but no opening one; the opening is derived so the
continuity check with the previous statement still has something to compare.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine, file_digest

__all__ = ["parse_ofx"]


def parse_ofx(path: Path, data: bytes | None = None) -> list[Statement]:
    from ofxparse import AccountType, OfxParser

    path = Path(path)
    data = path.read_bytes() if data is None else data
    try:
        ofx = OfxParser.parse(io.BytesIO(data))
    except Exception as exc:
        raise StatementError(path, f"OFX is malformed or truncated: {exc}") from exc
    statements = []
    investment = []
    for account in ofx.accounts:
        st = account.statement
        if st is None:
            continue
        if account.type == AccountType.Investment:  # a brokerage account: not a bank account's movements
            investment.append(str(account.account_id))
            continue
        currency = (getattr(st, "currency", "") or "CNY").upper()
        lines = [
            StatementLine(
                account=str(account.account_id),
                booking_date=tx.date.date(),
                amount=Decimal(tx.amount),
                currency=currency,
                counterparty_name=tx.payee or "",
                reference=(tx.checknum or "").strip(),
                purpose=(tx.memo or "").strip(),
                bank_line_id=str(tx.id),
                source_line=n,
            )
            for n, tx in enumerate(st.transactions, start=1)
        ]
        closing = Decimal(st.balance) if getattr(st, "balance", None) is not None else None
        statements.append(
            Statement(
                account=str(account.account_id),
                currency=currency,
                lines=lines,
                opening_balance=closing - sum((ln.amount for ln in lines), Decimal(0)) if closing is not None else None,
                closing_balance=closing,
                period_start=st.start_date.date() if getattr(st, "start_date", None) else None,
                period_end=st.end_date.date() if getattr(st, "end_date", None) else None,
                source=str(path),
                format="ofx",
                digest=file_digest(data),
            )
        )
    if not statements and investment:
        raise StatementError(
            path,
            f"OFX file holds only an investment statement (<INVSTMTRS>, account {', '.join(investment)}); "
            "expected a bank or credit-card statement (<STMTRS>/<CCSTMTRS>)",
        )
    if not statements:
        raise StatementError(path, "OFX file holds no bank statement (<STMTRS>)")
    return statements

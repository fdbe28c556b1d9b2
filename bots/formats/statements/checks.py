"""The checks every statement passes before its lines are trusted.

* opening balance + sum of lines = closing balance (per statement);
* the opening balance continues the previous statement's closing balance of the account;
* the same file (byte digest) or the same statement (account, period, line ids) is not read twice;
* no days are missing between the previous statement and this one.

Findings are data, not exceptions: the bot reports them and decides what to do (a broken balance
rejects the file; a gap is a warning).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from backroom.bots.formats.statements.model import Statement

__all__ = ["Finding", "PreviousStatement", "check_statement"]


@dataclass(frozen=True)
class Finding:
    code: str  # balance | continuity | duplicate-file | duplicate-statement | gap | no-balance
    severity: str  # error (reject the statement) | warning (report and go on)
    message: str


@dataclass(frozen=True)
class PreviousStatement:
    """What is remembered of the account's last imported statement."""

    account: str
    closing_balance: Decimal | None
    period_end: dt.date | None
    source: str = ""


def check_statement(
    statement: Statement,
    previous: PreviousStatement | None = None,
    *,
    seen_digests: dict[str, str] | None = None,
    seen_line_keys: set[str] | None = None,
) -> list[Finding]:
    """All findings for one statement; an empty list means it may be imported."""
    findings: list[Finding] = []
    if seen_digests and statement.digest in seen_digests:
        findings.append(
            Finding("duplicate-file", "error", f"this file was already imported as {seen_digests[statement.digest]}")
        )
        return findings
    if seen_line_keys is not None and statement.lines:
        repeated = sum(1 for ln in statement.lines if ln.key in seen_line_keys)
        if repeated == len(statement.lines):
            findings.append(
                Finding(
                    "duplicate-statement",
                    "error",
                    f"all {repeated} lines were already imported (the same statement twice)",
                )
            )
            return findings
        if repeated:
            findings.append(
                Finding(
                    "overlap",
                    "warning",
                    f"{repeated} of {len(statement.lines)} lines were already imported; they are skipped",
                )
            )
    total = sum((ln.amount for ln in statement.lines), Decimal(0))
    if statement.opening_balance is not None and statement.closing_balance is not None:
        expected = statement.opening_balance + total
        if expected != statement.closing_balance:
            findings.append(
                Finding(
                    "balance",
                    "error",
                    f"opening {statement.opening_balance} + lines {total} = {expected}, but the closing balance is "
                    f"{statement.closing_balance} (difference {statement.closing_balance - expected}): "
                    "lines are missing or the file is truncated",
                )
            )
    else:
        findings.append(Finding("no-balance", "warning", "the statement carries no opening/closing balance"))
    if previous is not None:
        if (
            previous.closing_balance is not None
            and statement.opening_balance is not None
            and previous.closing_balance != statement.opening_balance
        ):
            findings.append(
                Finding(
                    "continuity",
                    "error",
                    f"opening balance {statement.opening_balance} does not continue the previous closing balance "
                    f"{previous.closing_balance} ({previous.source or 'last statement'}, to {previous.period_end})",
                )
            )
        first = statement.first_date
        if previous.period_end and first and first > previous.period_end + dt.timedelta(days=1):
            missing_from = previous.period_end + dt.timedelta(days=1)
            missing_to = first - dt.timedelta(days=1)
            findings.append(
                Finding(
                    "gap",
                    "warning",
                    f"no statement covers {missing_from} to {missing_to} "
                    f"(previous ended {previous.period_end}, this starts {first})",
                )
            )
    return findings

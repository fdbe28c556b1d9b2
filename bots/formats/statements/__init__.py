"""Bank statements in every common format, normalised to one model and checked.

    parse_statement(path, profiles)  -> list[Statement]   (format detected from the content)
    check_statement(statement, previous, seen_digests=..., seen_line_keys=...) -> list[Finding]

Formats: Chinese bank CSV/XLSX/XLS (profiles, auto-detected), MT940/MT942, camt.052/053, OFX, BAI2.
"""

from __future__ import annotations

from backroom.bots.formats.statements.amounts import AmountError, parse_amount, parse_date
from backroom.bots.formats.statements.checks import Finding, PreviousStatement, check_statement
from backroom.bots.formats.statements.detect import detect_format, parse_statement, read_statements
from backroom.bots.formats.statements.model import Statement, StatementError, StatementLine
from backroom.bots.formats.statements.profiles import BUILTIN_PROFILES, Profile

__all__ = [
    "BUILTIN_PROFILES",
    "AmountError",
    "Finding",
    "PreviousStatement",
    "Profile",
    "Statement",
    "StatementError",
    "StatementLine",
    "check_statement",
    "detect_format",
    "parse_amount",
    "parse_date",
    "parse_statement",
    "read_statements",
]

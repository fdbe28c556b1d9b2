"""Pick the parser by looking at the file's first bytes, not trusting its name alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from backroom.bots.formats.statements.model import Statement, StatementError
from backroom.bots.formats.statements.profiles import Profile

__all__ = ["detect_format", "parse_statement", "read_statements"]


def detect_format(path: Path, data: bytes) -> str:
    """One of ``camt``, ``mt940``, ``ofx``, ``bai2``, ``table``."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \r\n\t")
    lowered = head.lower()
    if b"ofxheader" in lowered or b"<ofx>" in lowered or b"<ofx " in lowered:
        return "ofx"  # OFX 2.x is XML too: looked for before camt
    if head.startswith(b"<?xml") or head.startswith(b"<Document") or b"camt.05" in lowered:
        return "camt"
    if head.startswith(b"01,") and b"\n02," in data[:4096]:
        return "bai2"
    if head.startswith((b"{1:", b":20:")) or (b"\n:20:" in head[:200] and b":25:" in head):
        return "mt940"
    suffix = path.suffix.lower()
    if suffix in (".sta", ".mt940", ".940", ".942"):
        return "mt940"
    return "table"


def parse_statement(path: Path | str, profiles: Sequence[Profile] = (), *, account: str = "") -> list[Statement]:
    """Read any supported statement file into one or more :class:`Statement` objects.

    Strict: a file with one unreadable statement among good ones is an error here; the reconcile
    bot uses :func:`read_statements` to import the good ones and reject the bad one by name.
    """
    statements, errors = read_statements(path, profiles, account=account)
    if errors:
        raise errors[0]
    return statements


def read_statements(
    path: Path | str, profiles: Sequence[Profile] = (), *, account: str = ""
) -> tuple[list[Statement], list[StatementError]]:
    """The statements of a file that could be read, and an error for each that could not.

    A file that cannot be read at all raises :class:`StatementError`; formats holding several
    statements (MT940/MT942, camt) can come back partly read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StatementError(path, f"cannot read the file: {exc.strerror}") from exc
    if not data.strip():
        raise StatementError(path, "the file is empty")
    kind = detect_format(path, data)
    errors: list[StatementError] = []
    if kind == "camt":
        from backroom.bots.formats.statements.camt import parse_camt_parts

        result, errors = parse_camt_parts(path, data)
        if not result:
            raise errors[0]
    elif kind == "ofx":
        from backroom.bots.formats.statements.ofx import parse_ofx

        result = parse_ofx(path, data)
    elif kind == "bai2":
        from backroom.bots.formats.statements.bai2 import parse_bai2

        result = parse_bai2(path, data)
    elif kind == "mt940":
        from backroom.bots.formats.statements.swift import parse_swift_parts

        result, errors = parse_swift_parts(path, data)
        if not result:
            raise errors[0]
    else:
        from backroom.bots.formats.statements.chinese import parse_table_statement

        result = [parse_table_statement(path, data, profiles, account=account)]
    for st in result:
        if account and not st.account:
            st.account = account
        _number_identical_lines(st)
    return result, errors


def _number_identical_lines(statement: Statement) -> None:
    """Two identical lines (two 10.00 fees on one day, no bank id, no balance) must keep two keys."""
    seen: dict[str, int] = {}
    lines = []
    for line in statement.lines:
        if statement.account and line.account != statement.account:
            line = replace(line, account=statement.account)
        key = line.key
        count = seen.get(key, 0)
        seen[key] = count + 1
        lines.append(replace(line, occurrence=count) if count else line)
    statement.lines = lines

"""TicketSQL, the subset the sandbox understands: AND/OR, parentheses, comparisons, LIKE, IS NULL, CF.{Name}.

:func:`parse_ticketsql` compiles a query once into a predicate over tickets; a query it cannot read
raises :class:`TicketSQLError` pointing at the offending token (the API answers 400 with it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from backroom.sandbox.helpdesk.model import QUEUES, Ticket

__all__ = ["TicketSQLError", "parse_ticketsql"]


class TicketSQLError(ValueError):
    """A query the sandbox cannot parse; the message points at the offending token."""


_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bLIKE\b|\bIS\s+NOT\b|\bIS\b)"
    r"|(?P<word>[A-Za-z_][\w.{}-]*|\d+))",
    re.IGNORECASE,
)


def parse_ticketsql(query: str) -> Callable[[Ticket, str], bool]:
    """Compile a TicketSQL subset (AND/OR, parentheses, = != < > <= >= LIKE, IS NULL, CF.{Name})."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if not m:
            raise TicketSQLError(f"cannot parse TicketSQL near {query[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        tokens.append((kind, text))
        pos = m.end()
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise TicketSQLError("unexpected end of TicketSQL query")
        index += 1
        return tokens[index - 1]

    def expr() -> Callable[[Ticket, str], bool]:
        left = term()
        while (tok := peek()) and tok[0] == "word" and tok[1].upper() == "OR":
            take()
            right = term()
            left = (lambda a, b: lambda t, q: a(t, q) or b(t, q))(left, right)
        return left

    def term() -> Callable[[Ticket, str], bool]:
        left = atom()
        while (tok := peek()) and tok[0] == "word" and tok[1].upper() == "AND":
            take()
            right = atom()
            left = (lambda a, b: lambda t, q: a(t, q) and b(t, q))(left, right)
        return left

    def atom() -> Callable[[Ticket, str], bool]:
        kind, text = take()
        if kind == "lp":
            inner = expr()
            if take()[0] != "rp":
                raise TicketSQLError("missing ')' in TicketSQL")
            return inner
        if kind == "str":
            text = text[1:-1]
        elif kind != "word":
            raise TicketSQLError(f"expected a field name, found {text!r}")
        op_kind, op = take()
        if op_kind != "op":
            raise TicketSQLError(f"expected an operator after {text!r}, found {op!r}")
        vkind, value = take()
        if vkind == "str":
            value = value[1:-1]
        return _condition(text, " ".join(op.upper().split()), value)

    result = expr()
    if index != len(tokens):
        raise TicketSQLError(f"unexpected {tokens[index][1]!r} in TicketSQL")
    return result


def _ticket_value(ticket: Ticket, name: str) -> Any:
    m = re.fullmatch(r"(?:CF|CustomField)\.\{(.+)\}", name, re.IGNORECASE)
    if m:
        return ticket.cf.get(m.group(1)) or None
    key = name.lower()
    return {
        "id": ticket.id,
        "status": ticket.status,
        "queue": QUEUES.get(ticket.queue, str(ticket.queue)),
        "subject": ticket.subject,
        "owner": ticket.owner,
        "priority": ticket.priority,
        "created": ticket.created,
        "lastupdated": ticket.last_updated,
        "resolved": ticket.resolved,
        "requestor": ticket.requestor,
        "requestors": ticket.requestor,
        "requestor.emailaddress": ticket.requestor,
    }.get(key, KeyError)


def _condition(name: str, op: str, raw: str) -> Callable[[Ticket, str], bool]:
    def check(ticket: Ticket, _q: str) -> bool:
        value = _ticket_value(ticket, name)
        if value is KeyError:
            raise TicketSQLError(f"unknown field {name!r} in TicketSQL")
        if op in ("IS", "IS NOT"):
            is_null = value in (None, "")
            return is_null if op == "IS" else not is_null
        if value is None:
            return op == "!="
        target: Any = raw
        if isinstance(value, dt.datetime):
            try:
                target = dt.datetime.fromisoformat(raw.replace(" ", "T").rstrip("Z")).replace(tzinfo=dt.UTC)
            except ValueError:
                raise TicketSQLError(f"bad date {raw!r} for {name}") from None
        elif isinstance(value, int):
            target = int(raw)
        elif op in ("<", ">", "<=", ">="):
            with contextlib.suppress(ValueError):
                value, target = float(value), float(raw)
        if op == "LIKE":
            return str(target).lower() in str(value).lower()
        if op == "NOT LIKE":
            return str(target).lower() not in str(value).lower()
        if isinstance(value, str) and isinstance(target, str) and op in ("=", "!="):
            equal = value.lower() == target.lower()
            return equal if op == "=" else not equal
        return {
            "=": value == target,
            "!=": value != target,
            "<": value < target,
            ">": value > target,
            "<=": value <= target,
            ">=": value >= target,
        }[op]

    return check

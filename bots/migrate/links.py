"""``Link`` header paging as RFC 8288 defines it, not as one library's shortcut reads it.

A server may send several ``Link`` fields, several link-values per field, a ``rel`` holding several
relation types (``rel="next nofollow"``), relation types in any case, quoted parameters containing
commas and semicolons, and relative URI references that are resolved against the request's URL
(``<items?after=7>`` from ``/api/items`` is ``/api/items?after=7``). Missing any of these ends a
pass early, and a ``Link``-paged source announces no total that would reveal it: so every one counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin

__all__ = ["next_link", "parse_link_values"]

_WS = " \t"


def _quoted(text: str, i: int) -> tuple[str, int]:
    """A quoted-string starting at ``text[i] == '"'``: its value (escapes undone) and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


def _skip(text: str, i: int, chars: str = _WS) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def parse_link_values(field: str) -> list[tuple[str, dict[str, str]]]:
    """``<uri>; rel="next"; title="a, b", <uri2>; rel=prev`` → [(uri, {"rel": "next", ...}), ...].

    Parameter names are lower-cased; a parameter given twice keeps its first value (RFC 8288 §3.3
    for ``rel``). A link-value that does not start with ``<`` is skipped up to the next comma.
    """
    links: list[tuple[str, dict[str, str]]] = []
    i, n = 0, len(field)
    while i < n:
        i = _skip(field, i, _WS + ",")
        if i >= n:
            break
        if field[i] != "<":
            while i < n and field[i] != ",":
                i = _quoted(field, i)[1] if field[i] == '"' else i + 1
            continue
        end = field.find(">", i)
        if end < 0:
            break
        uri, i = field[i + 1 : end].strip(), end + 1
        params: dict[str, str] = {}
        while True:
            i = _skip(field, i)
            if i >= n or field[i] != ";":
                break
            i = _skip(field, i + 1)
            start = i
            while i < n and field[i] not in _WS + "=;,":
                i += 1
            name = field[start:i].lower()
            i = _skip(field, i)
            value = ""
            if i < n and field[i] == "=":
                i = _skip(field, i + 1)
                if i < n and field[i] == '"':
                    value, i = _quoted(field, i)
                else:
                    start = i
                    while i < n and field[i] not in _WS + ";,":
                        i += 1
                    value = field[start:i]
            if name:
                params.setdefault(name, value)
        links.append((uri, params))
    return links


def next_link(fields: Iterable[str], request_url: str) -> str | None:
    """The absolute URL of the ``next`` page, or None on the last page.

    A link with an ``anchor`` has another context than this page and is not followed.
    """
    for field in fields:
        for uri, params in parse_link_values(field):
            if "anchor" in params:
                continue
            if "next" in params.get("rel", "").lower().split():
                return urljoin(request_url, uri)
    return None

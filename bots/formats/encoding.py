"""Which text encoding a file from a Chinese back office is in: the one sniffer of the toolkit.

Exports from Chinese systems are GBK/GB18030 more often than UTF-8; some carry a UTF-8 byte order
mark in front of GBK bytes (a tool "fixed" the encoding by adding a BOM), some are UTF-16 with a
BOM. The rule is strict and deterministic rather than a statistical guess, because a wrong guess
silently changes names and amounts:

1. a UTF-16 BOM means UTF-16 when the rest is valid UTF-16 (else step 3 decides);
2. a UTF-8 BOM means UTF-8 when the rest is valid UTF-8, otherwise the BOM is skipped and step 3
   decides (the file's real encoding wins over a misleading mark);
3. the declared encoding if one is configured, else strict UTF-8, else strict GB18030 (a superset
   of GBK and GB2312);
4. GB18030 that decodes into private-use code points is refused: Big5 or Shift-JIS bytes often
   "decode" as GB18030 that way, and the file needs a declared encoding instead.

:func:`sniff` looks at a sample (a large file's first megabyte) and says how to decode; :func:`decode`
turns whole bytes into text. Both raise :class:`~backroom.bots.formats.errors.EncodingError`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from backroom.bots.formats.errors import EncodingError

__all__ = ["Sniffed", "decode", "sniff"]

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True, slots=True)
class Sniffed:
    """How to decode a file: skip ``bom`` bytes, then decode the rest with ``codec``."""

    codec: str
    bom: bytes = b""

    def decode(self, data: bytes) -> str:
        """The whole ``data`` (which starts with the sniffed mark, if any) as text, strictly."""
        return data[len(self.bom) :].decode(self.codec)


def sniff(sample: bytes, *, declared: str | None = None, complete: bool = True) -> Sniffed:
    """The encoding of a file whose first bytes are ``sample``.

    ``complete`` is False when ``sample`` is only the start of the file: a multi-byte character cut
    off at its end is then no error.
    """
    if sample.startswith(_UTF16_BOMS) and _decodes(sample, "utf-16", complete) is None:
        return Sniffed("utf-16")  # the codec reads the mark itself and picks the byte order
    bom = codecs.BOM_UTF8 if sample.startswith(codecs.BOM_UTF8) else b""
    body = sample[len(bom) :]
    if bom and _decodes(body, "utf-8", complete) is None:
        return Sniffed("utf-8", bom)
    tried = (declared,) if declared else ("utf-8", "gb18030")
    failure: UnicodeDecodeError | None = None
    for codec in tried:
        failure = _decodes(body, codec, complete)
        if failure is None:
            _refuse_private_use(body, codec, complete, tried, len(bom))
            return Sniffed(codec, bom)
    assert failure is not None
    start = len(bom) + failure.start
    raise EncodingError(
        f"not valid {' or '.join(t.upper() for t in tried)} at byte {start} ({sample[start : start + 4]!r})",
        tried=tried,
        offset=start,
        line=sample[:start].count(b"\n") + 1,
        foreign=False,
    )


def decode(data: bytes, *, declared: str | None = None) -> str:
    """All of ``data`` as text, by the rule above."""
    return sniff(data, declared=declared).decode(data)


def _decodes(body: bytes, codec: str, complete: bool) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(codec)().decode(body, final=complete)
    except UnicodeDecodeError as exc:
        return exc
    return None


def _refuse_private_use(body: bytes, codec: str, complete: bool, tried: tuple[str, ...], skipped: int) -> None:
    if not codec.lower().startswith("gb"):
        return
    text = codecs.getincrementaldecoder(codec)().decode(body, final=complete)
    odd = _PRIVATE_USE.search(text)
    if odd is None:
        return
    before = text[: odd.start()]
    raise EncodingError(
        f"decoding as {codec.upper()} gives unassigned characters ({odd.group()!r}): the file is in another "
        "encoding (Big5? Shift-JIS?)",
        tried=tried,
        offset=skipped + len(before.encode(codec)),
        line=before.count("\n") + 1,
        foreign=True,
    )

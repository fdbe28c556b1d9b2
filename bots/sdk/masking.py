"""Personal data and the encoded forms of secrets, masked before anything is stored or sent.

The :class:`~backroom.bots.sdk.secrets.Redactor` removes the secret values a run resolved. Two leaks
remain that plain substring matching misses:

* a secret travels **encoded**: in a URL (``%2B`` for ``+``), or inside an HTTP Basic header, where it is
  base64 *together with the user name*, so its base64 text depends on where in the input it starts.
  :func:`encoded_forms` gives the URL forms and the three base64 cores (one per byte alignment) that appear
  whatever precedes the value;
* **personal data** never came from a secret at all: 身份证号, mobile numbers and bank account numbers
  appear in ticket texts, statements and errors. :func:`mask_personal` masks them by shape, keeping the
  few characters a person needs to tell records apart (the last four digits).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

__all__ = ["encoded_forms", "is_resident_id", "mask_personal"]

#: base64 cores shorter than this would match ordinary text by chance
_MIN_CORE = 8

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)(\d{4})(\d{4})(?!\d)")
#: 16-19 digits, optionally grouped by spaces or dashes in fours: bank cards and most account numbers.
#: Twenty-digit 数电票 numbers and shorter references are left alone.
_ACCOUNT = re.compile(r"(?<![\d-])(\d{4}(?:[ -]?\d){11,14}\d)(?![\d-])")


def is_resident_id(text: str) -> bool:
    """Whether ``text`` is an 18-character 居民身份证号 whose GB 11643 check character is right."""
    if not re.fullmatch(r"\d{17}[0-9Xx]", text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == text[17].upper()


def _mask_id(match: re.Match[str]) -> str:
    whole = match.group(0)
    if not is_resident_id(whole):
        return whole
    return whole[:3] + "*" * 11 + whole[-4:]


def _mask_account(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    if not 16 <= len(digits) <= 19:
        return match.group(0)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_personal(text: str) -> str:
    """``text`` with resident ID numbers, mainland mobile numbers and bank account numbers masked."""
    if not text:
        return text
    text = _RESIDENT_ID.sub(_mask_id, text)
    text = _ACCOUNT.sub(_mask_account, text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def _base64_cores(raw: bytes) -> set[str]:
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = (offset * 4 + 2) // 3  # first character built only from the value's bits
        end = ((offset + len(raw)) * 8) // 6  # last character built only from the value's bits
        core = encoded[start:end]
        if len(core) >= _MIN_CORE:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return cores


def encoded_forms(value: str) -> set[str]:
    """The texts ``value`` may take in a log line besides itself: URL-encoded and base64 (any alignment)."""
    if not value:
        return set()
    forms = {quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    forms |= _base64_cores(value.encode())
    forms.discard(value)
    return {form for form in forms if len(form) >= 3}

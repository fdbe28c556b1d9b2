"""Personal data masked in what ``backroom ocr`` prints.

An invoice's remarks and a receipt's lines carry what a claimant wrote: a 身份证号 for a train
ticket, a mobile number, the bank account a refund goes to. ``backroom ocr`` prints to a terminal
whose output ends up in shell history, tickets and chat, so these are masked by shape, keeping the
last four digits so records can still be told apart. ``ocr`` stands on its own (it imports no bot
code), so this is a small copy of the shapes ``bots/sdk/masking.py`` masks; a test keeps the two
in step.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["mask_personal", "mask_tree"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)(\d{4})(\d{4})(?!\d)")
#: 16-19 digits, optionally grouped in fours: bank cards and most account numbers (never the
#: twenty-digit 数电票 number).
_ACCOUNT = re.compile(r"(?<![\d-])(\d{4}(?:[ -]?\d){11,14}\d)(?![\d-])")
#: Keys whose values are identifiers of the document itself, printed as they are.
_KEEP = frozenset({"file", "number", "invoice_number", "invoice_code", "seller_tax_id", "buyer_tax_id", "check_code"})


def _mask_id(match: re.Match[str]) -> str:
    whole = match.group(0)
    total = sum(int(d) * w for d, w in zip(whole[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != whole[17].upper():
        return whole  # not a resident ID (a tax ID or an order number of the same length)
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


def mask_tree(data: Any, key: str | None = None) -> Any:
    """``data`` (the JSON form of a read document) with every string masked, except the document's
    own identifiers (file name, invoice number, tax IDs)."""
    if isinstance(data, str):
        return data if key in _KEEP else mask_personal(data)
    if isinstance(data, dict):
        return {k: mask_tree(v, k if k not in ("value",) else key) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_tree(v, key) for v in data]
    return data

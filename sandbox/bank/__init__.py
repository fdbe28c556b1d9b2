"""Sandbox bank portal: password + one-time code login, accounts, statement downloads.

A stand-in for a Chinese corporate online bank (企业网银). Everything is generated from a seed, so
the same account and date range always give the same lines and balances, whatever range is asked
for. Statements download as XLSX (title rows, 借方/贷方 columns), CSV in GB18030 (padded headers,
借贷标志, thousands separators, full-width spaces), MT940 and camt.053.

The one-time code stands in for an SMS: it is logged and readable at ``GET /_sandbox/otp``.
Misbehaviour comes from :mod:`sandbox.faults`: latency, 429/5xx, session expiry (``session_ttl_s``)
and a changed layout (``layout_variant = 1``: other element ids and names, the button moved and
renamed; the visible labels stay, as they do on real portals).

    data.py     BankData: accounts and lines from a seed
    files.py    write_statement: XLSX, CSV (GB18030), MT940, camt.053
    ledger.py   ledger_for: the company's books for the same money
    portal.py   create_app: the web portal behind the fault middleware

:func:`ledger_for` produces the company's side of the same money (with the noise a real ledger has:
booking-date shifts, fees the bank deducted, split invoices, abbreviated names, entries not yet
through the bank), so a demo or a test can reconcile one against the other.
"""

from __future__ import annotations

from backroom.sandbox.bank.data import BankData, BankLine, BankStatement
from backroom.sandbox.bank.files import FORMATS, write_statement
from backroom.sandbox.bank.ledger import ledger_for
from backroom.sandbox.bank.portal import create_app

__all__ = ["FORMATS", "BankData", "BankLine", "BankStatement", "create_app", "ledger_for", "write_statement"]

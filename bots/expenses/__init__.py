"""Expenses (报销审核): OCR receipts and VAT invoices, audit reimbursement claims, write the workbook.

    bot.py        the Expenses bot (params, config, run)
    config.py     its Config (rules, limits, engine) and Params
    claims.py     the claims sheet (employee, category, claimed amount, files)
    rules.py      the audit rules: pass / review / fail with reasons
    state.py      every document ever read, for duplicates across all history and corrections
    workbook.py   the audit workbook, and reviewer corrections read back from it

OCR lives in the ``ocr`` package; it is imported inside functions so listing bots stays fast.
"""

from __future__ import annotations

from backroom.bots.expenses.bot import Expenses
from backroom.bots.expenses.config import ExpensesConfig, ExpensesParams

__all__ = ["Expenses", "ExpensesConfig", "ExpensesParams"]

"""Payslips (工资单发放): check the month's payroll sheet, then e-mail each employee an encrypted payslip.

    bot.py        the Payslips bot (params, config, run)
    config.py     its Config (column mapping, contribution rates and bases, tolerances) and Params
    checks.py     every check before anything is sent, each failure naming sheet, row, employee, column
    tax.py        个人所得税 by the cumulative withholding method (累计预扣法)
    roster.py     the HR roster (the only source of addresses) and the year-to-date sheet
    render.py     the payslip PDF (CJK font, AES-256 with the employee's password) and the HTML body
    mailer.py     SMTP delivery with three outcomes: sent, failed, uncertain
    state.py      the tax year per employee and month; one keyed row per delivery
    workbook.py   HR's summary workbook

The payroll sheet reader lives in :mod:`backroom.bots.formats.payroll`.
"""

from __future__ import annotations

from backroom.bots.payslips.bot import Payslips
from backroom.bots.payslips.config import PayslipsConfig, PayslipsParams

__all__ = ["Payslips", "PayslipsConfig", "PayslipsParams"]

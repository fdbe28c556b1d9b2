"""The reconcile bot's part of ``backroom demo``: the sandbox bank portal and a month's ledger.

The bot logs into the portal (password + one-time code read from the sandbox), downloads March
2024 for one account, checks it, matches it against a ledger export with realistic noise (shifted
dates, deducted fees, split invoices, abbreviated names, cheques not yet presented) and writes the
workbook with the 余额调节表. Without a Chromium the statement is dropped into the inbox instead.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["BANK_PORTAL_PROFILE", "prepare"]

#: The sandbox bank's portal as a bank-portal profile (``[systems.NAME.profile]``).
BANK_PORTAL_PROFILE: dict[str, str] = {
    "login_path": "/login",
    "login_refused": "reason=bad",
    "user_label": "用户名",
    "password_label": "密码",
    "login_button": "登录",
    "code_label": "短信验证码",
    "code_button": "确认|提交",
    "accounts_path": "/accounts",
    "account_cells": "#accounts td.acct",
    "statement_path": "/statement?account={account}",
    "account_label": "账号",
    "start_label": "起始日期",
    "end_label": "截止日期",
    "format_label": "文件格式",
    "query_button": r"查\s*询",
    "count_cell": "#r-count",
    "closing_cell": "#r-closing",
    "download_button": "#download",
}

ACCOUNT = "6222020200112233445"
START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
PASSWORD = "Bank#2024"


def prepare(workdir: Path) -> DemoPart:
    from openpyxl import Workbook

    from backroom.bots.sdk.browser import chromium_executable
    from backroom.sandbox.bank import BankData, create_app, ledger_for, write_statement
    from backroom.sandbox.server import start

    workdir = Path(workdir)
    data = BankData(seed=42)
    server = start(create_app(data, users={"finance01": PASSWORD}))
    statement = data.statement(ACCOUNT, START, END)
    folder = workdir / "reconcile"
    inbox, reviews = folder / "inbox", folder / "reviewed"
    inbox.mkdir(parents=True, exist_ok=True)
    reviews.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    ws = book.active
    ws.title = "银行存款日记账"
    ws.append(["凭证号", "日期", "金额", "币种", "往来单位", "发票号", "摘要"])
    for row in ledger_for(statement):
        ws.append(
            [
                row["entry_id"],
                row["date"],
                float(row["amount"]),
                row["currency"],
                row["counterparty"],
                row["reference"],
                row["memo"],
            ]
        )
    ledger = folder / "ledger-2024-03.xlsx"
    book.save(ledger)
    browser = chromium_executable() is not None
    if not browser:
        (inbox / "statement-2024-03.xlsx").write_bytes(write_statement(statement, "xlsx"))
    config = {
        "accounts": [ACCOUNT],
        "portal": "bank",
        "inbox": str(inbox),
        "review_inbox": str(reviews),
        "ledger": {"kind": "excel", "path": str(ledger)},
        "book_opening_balance": str(statement.opening),
        "matching": {"date_window_days": 5, "fee_max": "50.00"},
    }
    return DemoPart(
        bot="reconcile",
        systems={
            "bank": {
                "kind": "bank-portal",
                "url": server.url,
                "username": "finance01",
                "password": "env:BACKROOM_DEMO_BANK_PASSWORD",
                "otp_source": "url:/_sandbox/otp?username={username}",
                "format": "xlsx",
                "profile": BANK_PORTAL_PROFILE,
            }
        },
        bot_table={
            "schedule": "cron: 30 7 * * *",
            "calendar": "cn-workdays",
            "timeout": "20m",
            "roots": {"inbox": str(folder)},  # holds the statement inbox and the reviewed workbooks
            "config": config,
        },
        params={"fetch": browser, "start": START.isoformat(), "end": END.isoformat()},
        env={"BACKROOM_DEMO_BANK_PASSWORD": PASSWORD},
        servers=[server],
        description="银企对账: fetch March's statement from the bank portal and reconcile it with the ledger",
    )

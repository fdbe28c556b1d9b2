"""Column layouts of Chinese bank exports, described as data.

Each bank prints its own headers (交易日期 / 记账日期, 借方发生额 / 支出金额, 对方户名 / 对方单位...)
and its own way of signing amounts: two columns, one signed column, or an amount plus a 借/贷
flag. A :class:`Profile` lists the header names it accepts for each field; the reader tries every
profile against the first rows of a file and keeps the best fit. Companies add their bank's
profile in config (``[[bots.reconcile.config.profiles]]``) without code.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BUILTIN_PROFILES", "Profile", "normalise_header"]


def normalise_header(text: str) -> str:
    """Headers compared without spaces (half- or full-width), colons, brackets or case."""
    from backroom.bots.formats.statements.amounts import clean_text

    return re.sub(r"[\s:：()（）\[\]【】*]", "", clean_text(text)).lower()


class Profile(BaseModel):
    """One bank's export layout. Every field lists accepted header names (compared normalised)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    encoding: str | None = Field(default=None, description="None = UTF-8 if valid, else GB18030")
    date: list[str]
    value_date: list[str] = []
    debit: list[str] = []
    credit: list[str] = []
    amount: list[str] = []
    direction: list[str] = []
    credit_flags: list[str] = ["贷", "贷方", "收", "收入", "来账", "c", "cr", "credit", "2"]
    debit_flags: list[str] = ["借", "借方", "支", "支出", "往账", "d", "dr", "debit", "1"]
    balance: list[str] = []
    counterparty_name: list[str] = []
    counterparty_account: list[str] = []
    reference: list[str] = []
    purpose: list[str] = []
    line_id: list[str] = []
    currency: list[str] = []
    footer_markers: list[str] = ["合计", "总计", "本页合计", "小计", "共计"]

    def fields(self) -> dict[str, list[str]]:
        names = [
            "date",
            "value_date",
            "debit",
            "credit",
            "amount",
            "direction",
            "balance",
            "counterparty_name",
            "counterparty_account",
            "reference",
            "purpose",
            "line_id",
            "currency",
        ]
        return {n: [normalise_header(h) for h in getattr(self, n)] for n in names}

    def amount_mode(self, found: set[str]) -> str | None:
        """How this file signs amounts, given the fields found in its header."""
        if "debit" in found and "credit" in found:
            return "debit-credit"
        if "amount" in found and "direction" in found:
            return "flag"
        if "amount" in found:
            return "signed"
        return None


_COMMON = {
    "value_date": ["起息日", "起息日期", "计息日"],
    "balance": ["余额", "账户余额", "当前余额", "联机余额", "交易后余额"],
    "counterparty_name": ["对方户名", "对方单位", "对方名称", "对方账户名称", "收/付方名称", "对方户名称"],
    "counterparty_account": ["对方账号", "对方账户", "收/付方账号", "对方帐号"],
    "reference": ["业务编号", "凭证号", "凭证号码", "交易参考号", "客户参考号"],
    "purpose": ["摘要", "用途", "附言", "备注", "交易附言", "交易用途"],
    "line_id": ["交易流水号", "流水号", "流水号码", "交易序号", "银行流水号"],
    "currency": ["币种", "币别", "货币"],
}

BUILTIN_PROFILES: list[Profile] = [
    Profile(  # ICBC / BOC style: 借方发生额 and 贷方发生额 in two columns
        name="debit-credit",
        date=["交易日期", "记账日期", "交易时间", "日期"],
        debit=["借方发生额", "借方金额", "支出金额", "支出", "付款金额"],
        credit=["贷方发生额", "贷方金额", "收入金额", "收入", "收款金额"],
        **_COMMON,
    ),
    Profile(  # CCB / ABC style: one amount with a 借贷标志 column
        name="flag",
        date=["交易日期", "记账日期", "交易时间", "日期"],
        amount=["发生额", "交易金额", "金额"],
        direction=["借贷标志", "借贷方向", "收支标志", "借贷", "方向"],
        **_COMMON,
    ),
    Profile(  # CMB / SPDB style: one signed amount
        name="signed",
        date=["交易日", "交易日期", "记账日期", "日期"],
        amount=["交易金额", "金额", "发生额", "收支金额"],
        **_COMMON,
    ),
]

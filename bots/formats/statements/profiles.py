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

__all__ = ["BANK_PROFILES", "BUILTIN_PROFILES", "GENERIC", "GENERIC_PROFILES", "Profile", "normalise_header"]


def normalise_header(text: str) -> str:
    """Headers compared without spaces (half- or full-width), colons, brackets or case."""
    from backroom.bots.formats.statements.amounts import clean_text

    text = re.sub(r"[(（]\s*(?:元|人民币|rmb|cny)\s*[)）]$", "", clean_text(text), flags=re.IGNORECASE)
    return re.sub(r"[\s:：()（）\[\]【】*]", "", text).lower()


class Profile(BaseModel):
    """One bank's export layout. Every field lists accepted header names (compared normalised).

    A built-in bank profile (``bank`` set) is only chosen when the file names the bank (one of
    ``marks`` in the rows around the table or in the file name) or shows its ``signature`` columns:
    columns alone would make every bank look like every other. A profile from config has no such
    condition — the user asked for it.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    bank: str = Field(default="", description="the bank's short name (ICBC, CCB...), empty for generic layouts")
    kind: str = Field(default="", description="personal | corporate, as the bank's portal calls the export")
    marks: list[str] = Field(default=[], description="texts that name the bank (中国工商银行, ICBC...)")
    signature: list[str] = Field(default=[], description="headers that together identify this layout")
    encoding: str | None = Field(default=None, description="None = UTF-8 if valid, else GB18030")
    date: list[str]
    value_date: list[str] = []
    debit: list[str] = []
    credit: list[str] = []
    amount: list[str] = []
    direction: list[str] = []
    credit_flags: list[str] = ["贷", "贷方", "收", "收入", "来账", "入账", "存入", "c", "cr", "credit", "2", "+"]
    debit_flags: list[str] = ["借", "借方", "支", "支出", "往账", "出账", "支取", "d", "dr", "debit", "1", "-"]
    balance: list[str] = []
    counterparty_name: list[str] = []
    counterparty_account: list[str] = []
    counterparty_combined: list[str] = Field(
        default=[], description="one column holding name and account together (招行 对手信息)"
    )
    counterparty_bank: list[str] = []
    own_account: list[str] = Field(default=[], description="the account's own number on every row (对公 exports)")
    reference: list[str] = []
    purpose: list[str] = Field(default=[], description="every one present is read; texts joined with ' / '")
    line_id: list[str] = []
    currency: list[str] = []
    footer_markers: list[str] = ["合计", "总计", "本页合计", "小计", "共计", "人民币合计", "美元合计", "借方合计"]
    note_markers: list[str] = [
        "温馨提示",
        "提示",
        "说明",
        "注:",
        "注意",
        "备注:",
        "免责",
        "本明细",
        "本对账单",
        "本回单",
        "以上",
        "打印",
        "仅供参考",
        "如有疑问",
        "客服",
        "银行盖章",
        "第",
    ]

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
            "counterparty_combined",
            "counterparty_bank",
            "own_account",
            "reference",
            "line_id",
            "currency",
        ]
        return {n: [normalise_header(h) for h in getattr(self, n)] for n in names}

    def purpose_headers(self) -> list[str]:
        return [normalise_header(h) for h in self.purpose]

    def amount_mode(self, found: set[str]) -> str | None:
        """How this file signs amounts, given the fields found in its header."""
        if "debit" in found and "credit" in found:
            return "debit-credit"
        if "amount" in found and "direction" in found:
            return "flag"
        if "amount" in found and not self.direction:  # a layout with a flag column is not signed without it
            return "signed"
        return None

    def names_bank(self, text: str) -> bool:
        """True when ``text`` (title rows, footer, file name) names this profile's bank."""
        squeezed = re.sub(r"\s", "", text).lower()
        return any(re.sub(r"\s", "", m).lower() in squeezed for m in self.marks)


# Every header name seen for a field, in order of preference (the first present wins). A bank
# profile lists its own columns; what it does not list is looked up here, so a bank's newer export
# with one renamed column still reads.
GENERIC: dict[str, list[str]] = {
    "date": ["交易日期", "记账日期", "记账日", "交易日", "入账日期", "账务日期", "日期", "交易时间"],
    "value_date": ["起息日", "起息日期", "计息日"],
    "debit": [
        "借方发生额",
        "借方金额",
        "借方发生额(支取)",
        "记账金额(支出)",
        "交易金额(支出)",
        "支出金额",
        "支出",
        "付款金额",
        "支取金额",
        "出账金额",
    ],
    "credit": [
        "贷方发生额",
        "贷方金额",
        "贷方发生额(收入)",
        "记账金额(收入)",
        "交易金额(收入)",
        "收入金额",
        "收入",
        "收款金额",
        "存入金额",
        "入账金额",
    ],
    "amount": ["交易金额", "发生额", "金额", "收支金额", "记账金额"],
    "direction": ["借贷标志", "借贷标识", "借贷方向", "借贷", "借/贷", "收支标志", "交易方向", "方向", "收支"],
    "balance": ["余额", "账户余额", "当前余额", "联机余额", "交易后余额", "本次余额"],
    "counterparty_name": [
        "对方户名",
        "对方账户名",
        "对方账户名称",
        "对方单位名称",
        "对方单位",
        "对方名称",
        "对方户名称",
        "对方姓名",
        "收/付方名称",
    ],
    "counterparty_account": [
        "对方账号",
        "对方卡号/账号",
        "对方账号/卡号",
        "对方卡号",
        "对方账户",
        "对方帐号",
        "收/付方账号",
        "收/付方帐号",
    ],
    "counterparty_combined": ["对手信息", "对方账号与户名", "对方信息"],
    "counterparty_bank": ["对方开户行", "对方开户行名", "对方开户机构", "对方银行", "对方行名", "收/付方开户行名"],
    "own_account": ["本方账号", "本方账户", "账号"],
    "reference": ["凭证号", "凭证号码", "业务参考号", "客户业务编号", "业务编号", "交易参考号", "客户参考号"],
    "purpose": [
        "摘要",
        "用途",
        "交易摘要",
        "客户摘要",
        "交易用途",
        "附言",
        "交易附言",
        "交易地点/附言",
        "备注",
        "交易说明",
    ],
    "line_id": [
        "交易流水号",
        "流水号",
        "银行流水号",
        "柜员流水号",
        "柜员交易号",
        "流水号码",
        "交易序号",
        "账户明细编号-交易流水号",
    ],
    "currency": ["记账币种", "币种", "币别", "货币", "交易货币", "交易币种"],
}


def _bank(name: str, bank: str, kind: str, marks: list[str], signature: list[str], **fields: list[str]) -> Profile:
    return Profile(name=name, bank=bank, kind=kind, marks=marks, signature=signature, **fields)


_ICBC = ["中国工商银行", "工商银行", "ICBC"]
_ABC = ["中国农业银行", "农业银行", "Agricultural Bank of China"]
_BOC = ["中国银行", "Bank of China"]
_CCB = ["中国建设银行", "建设银行", "China Construction Bank"]
_BOCOM = ["交通银行", "BOCOM", "Bank of Communications"]
_CMB = ["招商银行", "China Merchants Bank"]
_SPDB = ["浦发银行", "上海浦东发展银行", "SPDB"]
_CITIC = ["中信银行", "CITIC"]
_CIB = ["兴业银行", "Industrial Bank"]
_CMBC = ["民生银行", "China Minsheng"]
_PSBC = ["中国邮政储蓄银行", "邮储银行", "邮政储蓄", "PSBC"]

# The layouts of the big state and joint-stock banks' downloads (个人 = debit-card history,
# 对公 = company account detail), as their portals name the columns. README lists the versions.
BANK_PROFILES: list[Profile] = [
    _bank(
        "icbc-personal",
        "ICBC",
        "personal",
        _ICBC,
        ["记账金额(收入)", "记账金额(支出)"],
        date=["交易日期"],
        credit=["记账金额(收入)", "交易金额(收入)"],
        debit=["记账金额(支出)", "交易金额(支出)"],
        currency=["记账币种"],
        balance=["余额"],
        counterparty_name=["对方户名"],
        purpose=["摘要", "交易场所"],
    ),
    _bank(
        "icbc-corporate",
        "ICBC",
        "corporate",
        _ICBC,
        ["对方单位名称", "个性化信息"],
        date=["交易时间"],
        debit=["借方发生额"],
        credit=["贷方发生额"],
        balance=["余额"],
        counterparty_name=["对方单位名称"],
        counterparty_account=["对方账号"],
        reference=["凭证号"],
        purpose=["摘要", "用途", "个性化信息"],
    ),
    _bank(
        "abc-personal",
        "ABC",
        "personal",
        _ABC,
        ["本次余额", "交易行"],
        date=["交易日期"],
        amount=["交易金额"],
        balance=["本次余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["交易用途", "交易摘要"],
    ),
    _bank(
        "abc-corporate",
        "ABC",
        "corporate",
        _ABC,
        ["手续费总额", "交易说明"],
        date=["交易时间"],
        credit=["收入金额"],
        debit=["支出金额"],
        balance=["本次余额"],
        line_id=["交易流水号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["交易用途", "交易说明"],
    ),
    _bank(
        "boc-personal",
        "BOC",
        "personal",
        _BOC,
        ["对方卡号/账号", "对方账户名"],
        date=["记账日期"],
        amount=["金额"],
        currency=["币别"],
        balance=["余额"],
        counterparty_name=["对方账户名"],
        counterparty_account=["对方卡号/账号"],
        counterparty_bank=["对方开户行"],
        purpose=["附言", "交易名称"],
    ),
    _bank(
        "boc-corporate",
        "BOC",
        "corporate",
        _BOC,
        ["借贷标识", "交易后余额", "客户业务编号"],
        date=["交易日期"],
        amount=["交易金额"],
        direction=["借贷标识"],
        balance=["交易后余额"],
        line_id=["交易流水号"],
        reference=["客户业务编号", "凭证号码"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["用途", "摘要"],
        currency=["交易货币"],
    ),
    _bank(
        "ccb-personal",
        "CCB",
        "personal",
        _CCB,
        ["对方账号与户名"],
        date=["交易日期"],
        amount=["交易金额"],
        balance=["账户余额"],
        currency=["币别"],
        counterparty_combined=["对方账号与户名"],
        purpose=["摘要", "交易地点/附言"],
    ),
    _bank(
        "ccb-corporate",
        "CCB",
        "corporate",
        _CCB,
        ["借方发生额(支取)", "贷方发生额(收入)"],
        date=["交易时间"],
        debit=["借方发生额(支取)"],
        credit=["贷方发生额(收入)"],
        balance=["余额"],
        currency=["币种"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户机构"],
        line_id=["账户明细编号-交易流水号"],
        reference=["凭证号"],
        purpose=["摘要", "备注"],
    ),
    _bank(
        "bocom-personal",
        "BOCOM",
        "personal",
        _BOCOM,
        ["借贷", "交易地点"],
        date=["交易日期"],
        amount=["交易金额"],
        direction=["借贷"],
        balance=["余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["摘要"],
    ),
    _bank(
        "bocom-corporate",
        "BOCOM",
        "corporate",
        _BOCOM,
        ["借贷标志", "发生额", "凭证种类"],
        date=["交易时间"],
        amount=["发生额"],
        direction=["借贷标志"],
        balance=["余额"],
        line_id=["交易流水号"],
        reference=["凭证号码"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["摘要"],
    ),
    _bank(
        "cmb-personal",
        "CMB",
        "personal",
        _CMB,
        ["对手信息"],
        date=["记账日期"],
        amount=["交易金额"],
        currency=["货币"],
        balance=["联机余额"],
        counterparty_combined=["对手信息"],
        purpose=["交易摘要", "客户摘要"],
    ),
    _bank(
        "cmb-corporate",
        "CMB",
        "corporate",
        _CMB,
        ["收/付方名称", "业务参考号"],
        date=["交易日"],
        value_date=["起息日"],
        debit=["借方金额"],
        credit=["贷方金额"],
        balance=["余额"],
        line_id=["流水号"],
        reference=["业务参考号"],
        counterparty_name=["收/付方名称"],
        counterparty_account=["收/付方帐号"],
        counterparty_bank=["收/付方开户行名"],
        purpose=["摘要", "用途"],
    ),
    _bank(
        "spdb-personal",
        "SPDB",
        "personal",
        _SPDB,
        [],
        date=["交易日期"],
        amount=["交易金额"],
        balance=["余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["摘要"],
    ),
    _bank(
        "spdb-corporate",
        "SPDB",
        "corporate",
        _SPDB,
        ["柜员流水号"],
        date=["交易日期"],
        debit=["借方金额"],
        credit=["贷方金额"],
        balance=["余额"],
        line_id=["柜员流水号"],
        reference=["凭证号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["摘要"],
    ),
    _bank(
        "citic-personal",
        "CITIC",
        "personal",
        _CITIC,
        [],
        date=["交易日期"],
        credit=["收入金额"],
        debit=["支出金额"],
        balance=["账户余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["摘要"],
    ),
    _bank(
        "citic-corporate",
        "CITIC",
        "corporate",
        _CITIC,
        ["柜员交易号"],
        date=["交易日期"],
        debit=["借方发生额"],
        credit=["贷方发生额"],
        balance=["账户余额"],
        line_id=["柜员交易号"],
        counterparty_name=["对方账户名称"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行名"],
        purpose=["摘要", "用途"],
    ),
    _bank(
        "cib-personal",
        "CIB",
        "personal",
        _CIB,
        ["记账日", "对方银行"],
        date=["记账日"],
        debit=["支出"],
        credit=["收入"],
        balance=["账户余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方银行"],
        purpose=["摘要", "用途"],
    ),
    _bank(
        "cib-corporate",
        "CIB",
        "corporate",
        _CIB,
        [],
        date=["交易日期"],
        debit=["借方发生额"],
        credit=["贷方发生额"],
        balance=["余额"],
        line_id=["交易流水号"],
        reference=["凭证号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["摘要", "用途"],
    ),
    _bank(
        "cmbc-personal",
        "CMBC",
        "personal",
        _CMBC,
        [],
        date=["交易日期"],
        amount=["交易金额"],
        balance=["账户余额"],
        line_id=["交易流水号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["摘要"],
    ),
    _bank(
        "cmbc-corporate",
        "CMBC",
        "corporate",
        _CMBC,
        [],
        date=["交易日期"],
        amount=["发生额"],
        direction=["借贷标识"],
        balance=["余额"],
        line_id=["交易流水号"],
        reference=["凭证号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["摘要"],
    ),
    _bank(
        "psbc-personal",
        "PSBC",
        "personal",
        _PSBC,
        [],
        date=["交易日期"],
        credit=["收入金额"],
        debit=["支出金额"],
        balance=["余额"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        purpose=["摘要"],
    ),
    _bank(
        "psbc-corporate",
        "PSBC",
        "corporate",
        _PSBC,
        [],
        date=["交易日期"],
        debit=["借方发生额"],
        credit=["贷方发生额"],
        balance=["余额"],
        line_id=["交易流水号"],
        reference=["凭证号"],
        counterparty_name=["对方户名"],
        counterparty_account=["对方账号"],
        counterparty_bank=["对方开户行"],
        purpose=["摘要", "用途"],
    ),
]

# Layouts named by how they sign amounts, for files that do not say which bank they come from.
GENERIC_PROFILES: list[Profile] = [
    Profile(name="debit-credit", date=GENERIC["date"], debit=GENERIC["debit"], credit=GENERIC["credit"]),
    Profile(name="flag", date=GENERIC["date"], amount=GENERIC["amount"], direction=GENERIC["direction"]),
    Profile(name="signed", date=GENERIC["date"], amount=GENERIC["amount"]),
]

BUILTIN_PROFILES: list[Profile] = BANK_PROFILES + GENERIC_PROFILES

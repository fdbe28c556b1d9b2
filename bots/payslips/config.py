"""The payslips bot's settings (``[bots.payslips.config]``) and run parameters.

The column mapping is declarative: each figure the bot needs is named by its header path in the
payroll sheet (``应发工资/基本工资``; see :mod:`backroom.bots.formats.payroll`). ``backroom check``
validates it (no blank or repeated columns, every rate a fraction, bases in order) before any run;
a run names the file, sheet and missing header when the sheet does not have a mapped column.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.bots.sdk.bot import Params
from backroom.bots.sdk.paths import InboxPath

__all__ = ["Contribution", "PayrollColumns", "PayslipsConfig", "PayslipsParams", "RosterColumns", "YtdColumns"]


def _default_earnings() -> dict[str, str]:
    return {
        "基本工资": "应发工资/基本工资",
        "岗位工资": "应发工资/岗位工资",
        "绩效": "应发工资/绩效",
        "加班费": "应发工资/加班费",
        "津贴": "应发工资/津贴",
    }


class PayrollColumns(BaseModel):
    """Where each figure stands in the payroll sheet, by header path. Optional columns may be None."""

    model_config = ConfigDict(extra="forbid")

    employee_no: str = "工号"
    name: str = "姓名"
    department: str | None = "部门"
    id_number: str | None = "身份证号"
    #: payslip label -> column; they must sum to ``gross``
    earnings: dict[str, str] = Field(default_factory=_default_earnings)
    gross: str = "应发工资/应发合计"
    pension: str = "扣款/养老"
    medical: str = "扣款/医疗"
    unemployment: str = "扣款/失业"
    housing_fund: str = "扣款/住房公积金"
    iit: str = "扣款/个人所得税"
    #: further deductions from pay (label -> column) that are not tax-deductible (e.g. 工会费 is, 罚款 is not)
    other_deductions: dict[str, str] = Field(default_factory=dict)
    net: str = "实发工资"
    #: the contribution base of social insurance and housing fund (缴费基数); default: the gross pay
    insurance_base: str | None = None
    #: this month's 专项附加扣除 (children, elderly, housing loan …), a tax input, not a deduction from pay
    special_additional: str | None = "专项附加扣除"

    @model_validator(mode="after")
    def _distinct(self) -> PayrollColumns:
        named = [
            v
            for v in (
                self.employee_no,
                self.name,
                self.department,
                self.id_number,
                self.gross,
                self.pension,
                self.medical,
                self.unemployment,
                self.housing_fund,
                self.iit,
                self.net,
                self.insurance_base,
                self.special_additional,
                *self.earnings.values(),
                *self.other_deductions.values(),
            )
            if v is not None
        ]
        blank = [v for v in named if not v.strip()]
        if blank:
            raise ValueError("a mapped column name is blank; name the header (e.g. '应发工资/基本工资') or remove it")
        repeated = sorted({v for v in named if named.count(v) > 1})
        if repeated:
            raise ValueError(f"columns mapped to more than one figure: {', '.join(repeated)}")
        if not self.earnings:
            raise ValueError("earnings: map at least one component of the gross pay")
        return self

    def required(self) -> dict[str, str]:
        """Figure -> column for every mapped column (what a sheet must have)."""
        out = {
            "employee_no": self.employee_no,
            "name": self.name,
            "gross": self.gross,
            "pension": self.pension,
            "medical": self.medical,
            "unemployment": self.unemployment,
            "housing_fund": self.housing_fund,
            "iit": self.iit,
            "net": self.net,
        }
        for key in ("department", "id_number", "insurance_base", "special_additional"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out.update({f"earning:{k}": v for k, v in self.earnings.items()})
        out.update({f"deduction:{k}": v for k, v in self.other_deductions.items()})
        return out


class RosterColumns(BaseModel):
    """The HR roster: the one source of whom to send to (never the payroll sheet)."""

    model_config = ConfigDict(extra="forbid")

    employee_no: str = "工号"
    name: str = "姓名"
    id_number: str = "身份证号"
    email: str = "邮箱"
    department: str | None = "部门"
    #: the member's WeCom user id (企业微信账号), for ``channel = "wecom"``
    wecom_user: str | None = None


class YtdColumns(BaseModel):
    """A year-to-date sheet: the year before this month, per employee (when Backroom has no records)."""

    model_config = ConfigDict(extra="forbid")

    employee_no: str = "工号"
    months: str = "累计月数"
    income: str = "累计收入"
    special: str = "累计专项扣除"
    additional: str = "累计专项附加扣除"
    withheld: str = "累计已预扣税额"


class Contribution(BaseModel):
    """The employee's part of one insurance or the housing fund: a rate of a base kept within bounds."""

    model_config = ConfigDict(extra="forbid")

    rate: Decimal = Field(ge=0, le=1)
    base_min: Decimal = Field(default=Decimal(0), ge=0)
    base_max: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Contribution:
        if self.base_max is not None and self.base_max < self.base_min:
            raise ValueError(f"base_max {self.base_max} is below base_min {self.base_min}")
        return self


def _default_contributions() -> dict[str, Contribution]:
    # Shanghai 2025 employee rates; bases as the city publishes them each July
    return {
        "pension": Contribution(rate=Decimal("0.08"), base_min=Decimal("7460"), base_max=Decimal("37302")),
        "medical": Contribution(rate=Decimal("0.02"), base_min=Decimal("7460"), base_max=Decimal("37302")),
        "unemployment": Contribution(rate=Decimal("0.005"), base_min=Decimal("7460"), base_max=Decimal("37302")),
        "housing_fund": Contribution(rate=Decimal("0.07"), base_min=Decimal("2690"), base_max=Decimal("37302")),
    }


class PayslipsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: printed on every payslip
    company: str = "Backroom"
    columns: PayrollColumns = Field(default_factory=PayrollColumns)
    roster_columns: RosterColumns = Field(default_factory=RosterColumns)
    ytd_columns: YtdColumns = Field(default_factory=YtdColumns)
    #: header rows of the payroll sheet (two for merged group headers)
    header_rows: int = Field(default=2, ge=1, le=4)
    sheet: str | None = None
    #: the sheet's encoding when it is a CSV; default: detected (UTF-8, GBK/GB18030)
    encoding: str | None = None
    contributions: dict[Literal["pension", "medical", "unemployment", "housing_fund"], Contribution] = Field(
        default_factory=_default_contributions
    )
    #: the recomputed 个税 may differ from the sheet's by this much before it is flagged
    tax_tolerance: Decimal = Field(default=Decimal("1.00"), ge=0)
    #: sums (components, net, totals, contributions) may differ by this much (rounding)
    amount_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)
    #: the payslip PDF's password: the last six (or eight) characters of the roster's ID number
    password_rule: Literal["id_last6", "id_last8"] = "id_last6"
    #: how payslips go out: "email" (``[systems.NAME]`` of kind ``smtp``) or "wecom" (kind ``wecom-app``)
    channel: Literal["email", "wecom"] = "email"
    #: the ``[systems.NAME]`` the channel uses
    mail_system: str = "mail"
    sender: str = "payroll@example.com"
    #: processes rendering PDFs (0 = one per core, 1 = in the bot's own process)
    workers: int = Field(default=0, ge=0)
    #: "notice": the mail says a payslip is attached; "full": the figures in the HTML body too
    email_body: Literal["notice", "full"] = "notice"

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise ValueError(f"expected an e-mail address, got {value!r}")
        return value


class PayslipsParams(Params):
    """One payroll month. Paths are relative to the bot's inbox root."""

    payroll: InboxPath
    roster: InboxPath
    #: the pay month (any day in it); default: the current month
    month: dt.date | None = None
    #: a year-to-date sheet for the months before this one (else Backroom's records of earlier runs)
    ytd: InboxPath | None = None
    #: employee numbers whose payslips go out although the batch (or their row) has errors
    override: list[str] = Field(default_factory=list)
    #: check and render only; send nothing
    check_only: bool = False

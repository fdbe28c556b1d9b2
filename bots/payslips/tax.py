"""个人所得税 withheld on wages by the cumulative method (累计预扣法).

Each month the employer recomputes the year so far: cumulative taxable income is the cumulative wage
income minus 5,000 for every month employed this year, minus the cumulative special deductions
(the employee's social insurance and housing fund), the special additional deductions (专项附加扣除)
and any other allowed deductions. The annual bracket table (预扣率表一) gives the tax on that; the
month withholds it minus what earlier months already withheld, and never less than zero (an excess
is settled in the annual reconciliation, not refunded by payroll).

Worked example (State Taxation Administration's own): 30,000 a month, 4,500 social insurance and
housing fund, 2,000 special additional deductions → January 555.00, February 625.00, March 1,850.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["BASIC_DEDUCTION", "BRACKETS", "Cumulative", "cumulative_tax", "month_tax"]

CENT = Decimal("0.01")
#: 基本减除费用, per month employed
BASIC_DEDUCTION = Decimal(5000)
#: (upper bound of cumulative taxable income, rate, quick deduction); the last bound is open
BRACKETS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal(36000), Decimal("0.03"), Decimal(0)),
    (Decimal(144000), Decimal("0.10"), Decimal(2520)),
    (Decimal(300000), Decimal("0.20"), Decimal(16920)),
    (Decimal(420000), Decimal("0.25"), Decimal(31920)),
    (Decimal(660000), Decimal("0.30"), Decimal(52920)),
    (Decimal(960000), Decimal("0.35"), Decimal(85920)),
    (None, Decimal("0.45"), Decimal(181920)),
)


@dataclass(frozen=True)
class Cumulative:
    """The year so far, up to and including some month (or before the first: all zero)."""

    months: int = 0
    income: Decimal = Decimal(0)
    special: Decimal = Decimal(0)  # 专项扣除: social insurance + housing fund, employee's part
    additional: Decimal = Decimal(0)  # 专项附加扣除
    other: Decimal = Decimal(0)  # 其他扣除
    withheld: Decimal = Decimal(0)  # 累计已预扣预缴税额

    def plus(
        self,
        income: Decimal,
        special: Decimal,
        additional: Decimal = Decimal(0),
        other: Decimal = Decimal(0),
        withheld: Decimal = Decimal(0),
    ) -> Cumulative:
        return Cumulative(
            self.months + 1,
            self.income + income,
            self.special + special,
            self.additional + additional,
            self.other + other,
            self.withheld + withheld,
        )

    @property
    def taxable(self) -> Decimal:
        """累计预扣预缴应纳税所得额 (not below zero)."""
        value = self.income - BASIC_DEDUCTION * self.months - self.special - self.additional - self.other
        return max(value, Decimal(0))


def cumulative_tax(taxable: Decimal) -> Decimal:
    """Tax on a cumulative taxable income by the annual table, to the cent."""
    for bound, rate, quick in BRACKETS:
        if bound is None or taxable <= bound:
            return (taxable * rate - quick).quantize(CENT, ROUND_HALF_UP)
    raise AssertionError("unreachable: the last bracket is open")  # pragma: no cover


def month_tax(
    prior: Cumulative,
    income: Decimal,
    special: Decimal,
    additional: Decimal = Decimal(0),
    other: Decimal = Decimal(0),
) -> Decimal:
    """What this month withholds, given the year before it (``prior``) and this month's figures."""
    now = prior.plus(income, special, additional, other)
    due = cumulative_tax(now.taxable) - prior.withheld
    return max(due, Decimal(0)).quantize(CENT, ROUND_HALF_UP)

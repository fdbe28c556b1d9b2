"""个人所得税 by the cumulative withholding method (累计预扣法), against worked examples."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backroom.bots.payslips.tax import Cumulative, cumulative_tax, month_tax


def _year(monthly: list[tuple[D, D, D]]) -> list[D]:
    """Tax withheld each month for (income, special, additional) per month."""
    before, out = Cumulative(), []
    for income, special, additional in monthly:
        tax = month_tax(before, income, special, additional)
        out.append(tax)
        before = before.plus(income, special, additional, withheld=tax)
    return out


def test_the_tax_administrations_example_over_three_months() -> None:
    # 30,000 a month, 4,500 social insurance + housing fund, 2,000 special additional deductions
    assert _year([(D(30000), D(4500), D(2000))] * 3) == [D("555.00"), D("625.00"), D("1850.00")]


def test_a_year_crossing_brackets_withholds_the_annual_table_in_total() -> None:
    months = [(D(20000), D(2000), D(1000))] * 12
    taxes = _year(months)
    # cumulative taxable at year end: 12 × (20000 − 5000 − 2000 − 1000) = 144,000 → 10% − 2,520
    assert sum(taxes) == cumulative_tax(D(144000)) == D("11880.00")
    assert taxes[0] == D("360.00")  # 12,000 × 3%
    assert taxes[2] == D("360.00")  # March: 36,000 × 3% − 720, still the 3% bracket
    assert taxes[3] == D("1200.00")  # April: 48,000 × 10% − 2,520 − 1,080 = 1,200
    assert taxes[-1] == D("1200.00")


def test_a_month_below_the_basic_deduction_withholds_nothing_and_never_refunds() -> None:
    taxes = _year([(D(30000), D(0), D(0)), (D(3000), D(0), D(0)), (D(3000), D(0), D(0))])
    assert taxes[0] == D("750.00")
    # February: cumulative 33,000 − 10,000 = 23,000 × 3% = 690 < 750 already withheld → 0, not −60
    assert taxes[1:] == [D("0.00"), D("0.00")]


@pytest.mark.parametrize(
    ("taxable", "tax"),
    [
        (D(0), D("0.00")),
        (D(36000), D("1080.00")),
        (D(36001), D("1080.10")),
        (D(300000), D("43080.00")),
        (D(1000000), D("268080.00")),
    ],
)
def test_bracket_edges(taxable: D, tax: D) -> None:
    assert cumulative_tax(taxable) == tax


def test_a_mid_year_hire_counts_the_basic_deduction_from_their_first_month() -> None:
    # joined in July: their first month counts one 5,000, not seven
    assert month_tax(Cumulative(), D(15000), D(1500)) == D("255.00")  # (15000 − 5000 − 1500) × 3%

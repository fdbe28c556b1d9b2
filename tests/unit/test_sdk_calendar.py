"""The one workday rule: holidays off, make-up weekend days on, Monday-Friday past the known years."""

from __future__ import annotations

import datetime as dt

from backroom.bots.sdk.calendar import cn_holiday_name, is_cn_workday
from backroom.schedules.calendars import is_business_day


def test_make_up_days_and_holidays() -> None:
    assert is_cn_workday(dt.date(2025, 1, 26))  # a Sunday worked for the Spring Festival (调休)
    assert not is_cn_workday(dt.date(2025, 10, 1))  # National Day, a Wednesday
    assert is_cn_workday(dt.date(2026, 11, 24)) and not is_cn_workday(dt.date(2026, 11, 28))


def test_years_the_package_does_not_know_fall_back_to_weekdays() -> None:
    assert is_cn_workday(dt.date(2040, 1, 2))  # a Monday
    assert not is_cn_workday(dt.date(2040, 1, 7))  # a Saturday


def test_the_runner_calendars_use_the_same_rule() -> None:
    for day in (dt.date(2025, 1, 26), dt.date(2025, 10, 1), dt.date(2040, 1, 7)):
        assert is_business_day("cn-workdays", day) is is_cn_workday(day)
        assert is_business_day("cn-holidays", day) is not is_cn_workday(day)


def test_holiday_names() -> None:
    assert cn_holiday_name(dt.date(2026, 10, 1))
    assert cn_holiday_name(dt.date(2030, 10, 1))  # statutory date from the holidays package
    assert cn_holiday_name(dt.date(2026, 11, 24)) is None

"""Business-day calendars for schedules.

``cn-workdays`` follows the State Council's holiday arrangement as published in the maintained
``chinesecalendar`` package: public holidays are skipped *and* the make-up working days (调休, a
Saturday or Sunday that is a working day) are kept. ``weekdays`` is Monday to Friday.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["CALENDARS", "is_business_day", "known_calendars"]


def _cn_workday(day: dt.date) -> bool:
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Outside the years the package knows: fall back to Monday-Friday rather than stopping.
        return day.weekday() < 5


def _cn_holiday(day: dt.date) -> bool:
    return not _cn_workday(day)


CALENDARS = {
    "cn-workdays": _cn_workday,
    "cn-holidays": _cn_holiday,
    "weekdays": lambda day: day.weekday() < 5,
    "every-day": lambda day: True,
}

DESCRIPTIONS = {
    "cn-workdays": "on Chinese working days (skips public holidays, keeps make-up working days)",
    "cn-holidays": "on Chinese weekends and public holidays only",
    "weekdays": "Monday to Friday",
    "every-day": "every day",
}


def known_calendars() -> list[str]:
    return sorted(CALENDARS)


def is_business_day(calendar: str, day: dt.date) -> bool:
    try:
        return CALENDARS[calendar](day)
    except KeyError:
        raise ValueError(f"unknown calendar {calendar!r}; known: {', '.join(known_calendars())}") from None

"""Business-day calendars for schedules.

``cn-workdays`` follows the State Council's holiday arrangement as published in the maintained
``chinesecalendar`` package (through :mod:`backroom.bots.sdk.calendar`, the one workday rule): public
holidays are skipped *and* the make-up working days (调休, a Saturday or Sunday that is a working day)
are kept. ``weekdays`` is Monday to Friday.
"""

from __future__ import annotations

import datetime as dt

from backroom.bots.sdk.calendar import is_cn_workday

__all__ = ["CALENDARS", "is_business_day", "known_calendars"]


def _cn_holiday(day: dt.date) -> bool:
    return not is_cn_workday(day)


CALENDARS = {
    "cn-workdays": is_cn_workday,
    "cn-holidays": _cn_holiday,
    "weekdays": lambda day: day.weekday() < 5,
    "every-day": lambda day: True,
}


def known_calendars() -> list[str]:
    return sorted(CALENDARS)


def is_business_day(calendar: str, day: dt.date) -> bool:
    try:
        return CALENDARS[calendar](day)
    except KeyError:
        raise ValueError(f"unknown calendar {calendar!r}; known: {', '.join(known_calendars())}") from None

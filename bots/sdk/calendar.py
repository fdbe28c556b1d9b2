"""Chinese working days and public holidays: the one rule every bot and the runner's calendars use.

The State Council publishes each year's arrangement late in the year before; the maintained
``chinesecalendar`` package carries it, including the make-up working days (调休: a Saturday or
Sunday that is a working day). For a year the package does not know yet, a working day falls back
to Monday-Friday and a holiday's name to the statutory dates in the ``holidays`` package, so a
schedule or a rule keeps working (approximately) instead of stopping on 1 January.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["cn_holiday_name", "is_cn_workday"]


def is_cn_workday(day: dt.date) -> bool:
    """True on a Chinese working day: holidays are off, make-up Saturdays and Sundays are on."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):
        return day.weekday() < 5


def cn_holiday_name(day: dt.date) -> str | None:
    """The name of the Chinese public holiday on ``day`` (``"Spring Festival"``), or None."""
    import chinese_calendar

    try:
        _is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        import holidays

        return holidays.country_holidays("CN", years=day.year).get(day)
    return str(name) if name else None

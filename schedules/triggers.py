"""Schedules written in config, as APScheduler triggers, and how to say them in words.

``schedule`` forms:

* ``"cron: 0 22 * * *"``        five-field crontab in the configured time zone;
* ``"interval: 15m"``           every 15 minutes (any duration: ``30s``, ``2h``, ``1d``);
* ``"date: 2026-12-01 09:00"``  once, local time;
* ``"manual"``                  never by itself: runs on demand, file arrival or chains only.

A ``calendar`` (``cn-workdays``, ``weekdays`` ...) wraps the trigger so that fire times on days the
calendar excludes are skipped — the next fire is the next allowed one.

File-arrival watching and chains live in :mod:`schedules.events`; they are events, not clocks.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from backroom.schedules.calendars import DESCRIPTIONS, is_business_day
from backroom.schedules.durations import format_duration, parse_duration

__all__ = ["CalendarTrigger", "describe_schedule", "parse_schedule"]

_MAX_SKIPPED_DAYS = 400


class CalendarTrigger(BaseTrigger):
    """Fire times of ``trigger`` that fall on days ``calendar`` allows (in the trigger's zone)."""

    def __init__(self, trigger: BaseTrigger, calendar: str, timezone: ZoneInfo) -> None:
        self.trigger = trigger
        self.calendar = calendar
        self.timezone = timezone

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        candidate = self.trigger.get_next_fire_time(previous_fire_time, now)
        seen = 0
        while candidate is not None and not is_business_day(self.calendar, candidate.astimezone(self.timezone).date()):
            previous = candidate
            candidate = self.trigger.get_next_fire_time(previous, previous + dt.timedelta(microseconds=1))
            seen += 1
            if seen > _MAX_SKIPPED_DAYS * 24 * 4:
                return None
        return candidate

    def __getstate__(self) -> dict:
        return {"version": 1, "trigger": self.trigger, "calendar": self.calendar, "timezone": str(self.timezone)}

    def __setstate__(self, state: dict) -> None:
        self.trigger = state["trigger"]
        self.calendar = state["calendar"]
        self.timezone = ZoneInfo(state["timezone"])

    def __str__(self) -> str:
        return f"calendar[{self.calendar}]({self.trigger})"

    def __repr__(self) -> str:
        return f"<CalendarTrigger {self.calendar} {self.trigger!r}>"


def parse_schedule(text: str, zone: ZoneInfo, calendar: str | None = None) -> BaseTrigger | None:
    """A trigger for ``text``, or None for ``manual``. Raise ValueError saying what was expected."""
    kind, _, spec = text.partition(":")
    kind, spec = kind.strip().lower(), spec.strip()
    if kind == "manual" and not spec:
        return None
    trigger: BaseTrigger
    if kind == "cron":
        fields = spec.split()
        if len(fields) != 5:
            raise ValueError(f"expected a 5-field crontab 'minute hour day month weekday' after 'cron:', got {spec!r}")
        try:
            trigger = CronTrigger.from_crontab(spec, timezone=zone)
        except ValueError as exc:
            raise ValueError(f"bad crontab {spec!r}: {exc}") from None
    elif kind == "interval":
        seconds = parse_duration(spec)
        if seconds <= 0:
            raise ValueError("an interval must be longer than zero")
        trigger = IntervalTrigger(seconds=seconds, timezone=zone)
    elif kind == "date":
        try:
            when = dt.datetime.fromisoformat(spec)
        except ValueError:
            raise ValueError(f"expected a local date and time such as '2026-12-01 09:00', got {spec!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        trigger = DateTrigger(run_date=when, timezone=zone)
    else:
        raise ValueError(
            f"expected 'cron: <5 fields>', 'interval: <duration>', 'date: <local time>' or 'manual', got {text!r}"
        )
    if calendar:
        is_business_day(calendar, dt.date(2026, 1, 5))  # raises for an unknown calendar
        trigger = CalendarTrigger(trigger, calendar, zone)
    return trigger


_DOW = {
    "0": "Sunday",
    "1": "Monday",
    "2": "Tuesday",
    "3": "Wednesday",
    "4": "Thursday",
    "5": "Friday",
    "6": "Saturday",
    "7": "Sunday",
    "1-5": "weekdays",
    "mon-fri": "weekdays",
    "0,6": "weekends",
    "6,0": "weekends",
    "sat,sun": "weekends",
}


def describe_schedule(text: str | None, timezone: str, calendar: str | None = None) -> str:
    """The schedule in words: ``"weekdays at 22:00 Asia/Shanghai, skips public holidays"``."""
    if not text or text.strip().lower() == "manual":
        words = "on demand only"
    else:
        kind, _, spec = text.partition(":")
        kind, spec = kind.strip().lower(), spec.strip()
        words = text
        if kind == "cron":
            parts = spec.split()
            if len(parts) == 5:
                minute, hour, dom, month, dow = parts
                hours = hour.split(",")
                if minute.isdigit() and all(h.isdigit() for h in hours) and dom == "*" and month == "*":
                    times = [f"{int(h):02d}:{int(minute):02d}" for h in hours]
                    at = f"at {' and '.join(times)} {timezone}"
                    days = "every day" if dow == "*" else _DOW.get(dow.lower(), f"on weekday(s) {dow}")
                    words = f"{days} {at}"
                elif minute.isdigit() and hour == "*" and dom == "*" and month == "*" and dow == "*":
                    words = f"every hour at minute {int(minute)}"
                elif minute.startswith("*/") and hour == "*" and dom == month == dow == "*":
                    words = f"every {minute[2:]} minutes"
                else:
                    words = f"cron '{spec}' ({timezone})"
        elif kind == "interval":
            try:
                words = f"every {format_duration(parse_duration(spec))}"
            except ValueError:
                words = text
        elif kind == "date":
            words = f"once at {spec} {timezone}"
    if calendar == "cn-workdays":
        words += ", skips public holidays (Chinese working days, make-up days included)"
    elif calendar:
        words += f", {DESCRIPTIONS.get(calendar, calendar)}"
    return words

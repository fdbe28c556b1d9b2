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
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from backroom.schedules.calendars import is_business_day
from backroom.schedules.durations import format_duration, parse_duration

__all__ = ["LANGUAGES", "CalendarTrigger", "describe_schedule", "parse_schedule"]

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


#: Every phrase of a schedule in words, in each language the console speaks: one table, so a new form
#: or calendar is said in both or visibly in neither. ``None`` means "this language has no words for
#: it yet": the English words are used instead.
_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "manual": "on demand only",
        "days": {
            "*": "every day",
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
        },
        "other_days": "on weekday(s) {dow}",
        "at": "{days} at {times} {tz}",
        "and": " and ",
        "hourly": "every hour at minute {minute}",
        "every_minutes": "every {n} minutes",
        "cron": "cron '{spec}' ({tz})",
        "interval": "every {duration}",
        "once": "once at {spec} {tz}",
        "calendar_sep": ", ",
        "calendars": {
            "cn-workdays": "skips public holidays (Chinese working days, make-up days included)",
            "cn-holidays": "on Chinese weekends and public holidays only",
            "weekdays": "Monday to Friday",
            "every-day": "every day",
        },
    },
    "zh-CN": {
        "manual": "仅按需运行",
        "days": {
            "*": "每天",
            "0": "每周日",
            "1": "每周一",
            "2": "每周二",
            "3": "每周三",
            "4": "每周四",
            "5": "每周五",
            "6": "每周六",
            "7": "每周日",
            "1-5": "工作日（周一至周五）",
            "mon-fri": "工作日（周一至周五）",
            "0,6": "周末",
            "6,0": "周末",
            "sat,sun": "周末",
        },
        "other_days": None,
        "at": "{days} {times}（{tz}）",
        "and": "、",
        "hourly": "每小时第 {minute} 分钟",
        "every_minutes": "每 {n} 分钟",
        "cron": None,
        "interval": "每隔 {spec}",
        "once": "一次：{spec}（{tz}）",
        "calendar_sep": "，",
        "calendars": {
            "cn-workdays": "跳过法定节假日（按中国工作日，含调休上班日）",
            "cn-holidays": "仅在周末和法定节假日",
            "weekdays": "周一至周五",
            "every-day": "",
        },
    },
}
LANGUAGES = tuple(_WORDS)


class _NoWords(Exception):
    """This language has no phrase for this schedule; say it in English."""


def describe_schedule(text: str | None, timezone: str, calendar: str | None = None, lang: str = "en") -> str:
    """The schedule in words: ``"weekdays at 22:00 Asia/Shanghai, skips public holidays ..."``.

    ``lang`` is ``"en"`` or ``"zh-CN"``; a form or calendar the language has no words for is said in
    English rather than wrongly.
    """
    words = _WORDS.get(lang, _WORDS["en"])
    try:
        return _describe(text, timezone, calendar, words)
    except _NoWords:
        return _describe(text, timezone, calendar, _WORDS["en"])


def _describe(text: str | None, timezone: str, calendar: str | None, words: dict[str, Any]) -> str:
    def say(key: str, **values: object) -> str:
        phrase = words[key]
        if phrase is None:
            raise _NoWords(key)
        return phrase.format(**values)

    if not text or text.strip().lower() == "manual":
        out = words["manual"]
    else:
        kind, _, spec = text.partition(":")
        kind, spec = kind.strip().lower(), spec.strip()
        out = text
        if kind == "cron":
            out = _cron_words(spec, timezone, words, say) or text
        elif kind == "interval":
            try:
                out = say("interval", duration=format_duration(parse_duration(spec)), spec=spec)
            except ValueError:
                out = text
        elif kind == "date":
            out = say("once", spec=spec, tz=timezone)
    if calendar:
        phrase = words["calendars"].get(calendar)
        if phrase is None:
            if words is not _WORDS["en"]:
                raise _NoWords(calendar)
            phrase = calendar
        if phrase:
            out += words["calendar_sep"] + phrase
    return out


def _cron_words(spec: str, timezone: str, words: dict[str, Any], say: Any) -> str | None:
    """A five-field crontab in words; None when it is not five fields (the text is shown as written)."""
    parts = spec.split()
    if len(parts) != 5:
        return None
    minute, hour, dom, month, dow = parts
    hours = hour.split(",")
    if minute.isdigit() and all(h.isdigit() for h in hours) and dom == "*" and month == "*":
        times = words["and"].join(f"{int(h):02d}:{int(minute):02d}" for h in hours)
        days = words["days"].get(dow.lower()) or say("other_days", dow=dow)
        return say("at", days=days, times=times, tz=timezone)
    if minute.isdigit() and hour == dom == month == dow == "*":
        return say("hourly", minute=int(minute))
    if minute.startswith("*/") and hour == dom == month == dow == "*":
        return say("every_minutes", n=minute[2:])
    return say("cron", spec=spec, tz=timezone)

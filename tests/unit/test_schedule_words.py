"""Schedules in words from one table with both languages (the console's Chinese came from a twin)."""

from __future__ import annotations

import pytest

from backroom.schedules.calendars import known_calendars
from backroom.schedules.triggers import _WORDS, LANGUAGES, describe_schedule

TZ = "Asia/Shanghai"


def test_schedule_in_chinese() -> None:
    assert describe_schedule("cron: 0 22 * * 1-5", TZ, "cn-workdays", lang="zh-CN") == (
        "工作日（周一至周五） 22:00（Asia/Shanghai），跳过法定节假日（按中国工作日，含调休上班日）"
    )
    assert describe_schedule("manual", TZ, None, lang="zh-CN") == "仅按需运行"
    assert describe_schedule("cron: 0 10,15 * * *", TZ, lang="zh-CN") == "每天 10:00、15:00（Asia/Shanghai）"
    assert describe_schedule("cron: */5 * * * *", TZ, "every-day", lang="zh-CN") == "每 5 分钟"
    assert describe_schedule("interval: 15m", TZ, "weekdays", lang="zh-CN") == "每隔 15m，周一至周五"


def test_unusual_forms_fall_back_to_english_words() -> None:
    assert describe_schedule("cron: 5 4 1 * *", TZ, None, lang="zh-CN") == describe_schedule("cron: 5 4 1 * *", TZ)
    assert describe_schedule("cron: 5 4 1 * *", TZ) == "cron '5 4 1 * *' (Asia/Shanghai)"
    assert describe_schedule("cron: 0 9 * * 2,4", TZ, lang="zh-CN") == "on weekday(s) 2,4 at 09:00 Asia/Shanghai"
    assert describe_schedule("cron: 0 9 * * *", TZ, "my-calendar", lang="zh-CN") == (
        "every day at 09:00 Asia/Shanghai, my-calendar"
    )


def test_english_words_are_unchanged() -> None:
    assert describe_schedule("cron: 0 22 * * 1-5", TZ, "cn-workdays") == (
        "weekdays at 22:00 Asia/Shanghai, skips public holidays (Chinese working days, make-up days included)"
    )
    assert describe_schedule("cron: 7 * * * *", TZ, "cn-holidays") == (
        "every hour at minute 7, on Chinese weekends and public holidays only"
    )
    assert describe_schedule("date: 2026-12-01 09:00", TZ) == "once at 2026-12-01 09:00 Asia/Shanghai"
    assert describe_schedule("cron: 0 9 * *", TZ) == "cron: 0 9 * *"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_knows_every_calendar_and_the_same_phrases(lang: str) -> None:
    assert set(_WORDS[lang]["calendars"]) == set(known_calendars())
    assert set(_WORDS[lang]) == set(_WORDS["en"]) and set(_WORDS[lang]["days"]) == set(_WORDS["en"]["days"])

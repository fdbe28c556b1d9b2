"""Configuration: every problem named by file, table and key; schedules and calendars."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.check import check_settings
from backroom.schedules.discovery import discover
from backroom.schedules.durations import parse_duration
from backroom.schedules.settings import InvalidConfig, load_settings
from backroom.schedules.triggers import describe_schedule, parse_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'timezone = "Asia/Shanghai"\n[bots.echo\nschedule = "x"\n')
    with pytest.raises(InvalidConfig) as info:
        load_settings(path)
    problem = info.value.problems[0]
    assert problem.file == str(path)
    assert problem.line == 2
    assert "not valid TOML" in str(problem)


def test_schema_problems_are_all_reported_with_table_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
timezone = "Mars/Olympus"
[bots.echo]
timeout = "ten minutes"
max_instances = 0
sheduel = "cron: 0 1 * * *"
[systems.helpdesk]
kind = "rt-rest"
token = "plain-text-token"
""",
    )
    with pytest.raises(InvalidConfig) as info:
        load_settings(path)
    text = str(info.value)
    assert "timezone: unknown time zone 'Mars/Olympus'" in text
    assert "[bots.echo] timeout: expected a duration" in text
    assert "[bots.echo] max_instances" in text
    assert "[bots.echo] sheduel: unknown key" in text
    assert "[systems.helpdesk] token: must be a secret reference" in text
    assert len(info.value.problems) == 5


def test_semantic_check_finds_unknown_bot_bad_cron_unknown_system_missing_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
bot_modules = ["tests.support.runner_bots"]
[systems.helpdesk]
kind = "rt-rest"
url = "http://127.0.0.1:1"
token = "env:BACKROOM_TEST_UNSET_TOKEN"
[bots.nosuchbot]
schedule = "cron: 0 1 * * *"
[bots.echo]
schedule = "cron: 0 25 * * *"
calendar = "mars-workdays"
params = { repeat = "many" }
[bots.needs_secret]
config = { system = "crm" }
""",
    )
    settings = load_settings(path)
    problems = check_settings(settings, discover(settings.bot_modules), SecretResolver(environ={}))
    text = "\n".join(str(p) for p in problems)
    assert "[bots] nosuchbot: unknown bot" in text
    assert "[bots.echo] schedule: bad crontab" in text
    assert "[bots.echo] calendar: unknown calendar 'mars-workdays'" in text
    assert "[bots.echo.params] repeat" in text
    assert "unknown system 'crm'" in text
    assert "secret 'env:BACKROOM_TEST_UNSET_TOKEN' is referenced but not set" in text
    assert "BACKROOM_TEST_UNSET_TOKEN" in text and all(str(path) in str(p) for p in problems)


def test_chain_loop_is_a_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
bot_modules = ["tests.support.runner_bots"]
[bots.echo]
after = [{ bot = "noop" }]
[bots.noop]
after = [{ bot = "echo" }]
""",
    )
    settings = load_settings(path)
    problems = check_settings(settings, discover(settings.bot_modules), SecretResolver(environ={}))
    assert any("chains form a loop" in str(p) for p in problems)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h30m", 5400), ("2d", 172800), (45, 45), ("500ms", 0.5)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="expected a duration such as"):
        parse_duration("soon")


def test_cron_fires_in_the_configured_zone() -> None:
    trigger = parse_schedule("cron: 0 22 * * *", SHANGHAI)
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)  # 20:00 in Shanghai
    fire = trigger.get_next_fire_time(None, now)
    assert fire.astimezone(dt.UTC) == dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def test_cn_workdays_skip_holidays_and_keep_makeup_days() -> None:
    trigger = parse_schedule("cron: 0 9 * * *", SHANGHAI, "cn-workdays")
    # 2025-10-01..08 is the National Day holiday; Sunday 2025-09-28 is a make-up working day.
    before_makeup = dt.datetime(2025, 9, 27, 10, 0, tzinfo=SHANGHAI)
    assert trigger.get_next_fire_time(None, before_makeup).date() == dt.date(2025, 9, 28)
    in_holiday = dt.datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert trigger.get_next_fire_time(None, in_holiday).date() == dt.date(2025, 10, 9)


def test_bad_schedule_form_is_explained() -> None:
    with pytest.raises(ValueError, match="expected 'cron: <5 fields>'"):
        parse_schedule("every night", SHANGHAI)
    with pytest.raises(ValueError, match="5-field crontab"):
        parse_schedule("cron: 0 0 22 * * *", SHANGHAI)


def test_schedule_in_words() -> None:
    words = describe_schedule("cron: 0 22 * * 1-5", "Asia/Shanghai", "cn-workdays")
    assert words.startswith("weekdays at 22:00 Asia/Shanghai, skips public holidays")
    assert describe_schedule(None, "Asia/Shanghai") == "on demand only"
    assert describe_schedule("cron: 0 10,15 * * *", "Asia/Shanghai") == "every day at 10:00 and 15:00 Asia/Shanghai"
    assert describe_schedule("interval: 15m", "Asia/Shanghai") == "every 15 min"

"""Selection rules and calling hours of the autoclose job, decided without any server."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backroom.bots.systems.helpdesk.base import TicketRecord
from backroom.bots.tickets.autoclose import Autoclose, calling_allowed
from backroom.bots.tickets.config import AutocloseConfig, TicketsConfig

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH).astimezone(dt.UTC)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("when", "allowed", "why"),
    [
        (at(2026, 11, 24, 10, 0), True, ""),
        (at(2026, 11, 24, 8, 59), False, "quiet hours"),
        (at(2026, 11, 24, 20, 0), False, "quiet hours"),
        (at(2026, 10, 1, 10, 0), False, "public holiday"),
        (at(2026, 11, 28, 10, 0), True, ""),  # a plain Saturday: allowed unless call_on_weekends is off
    ],
)
def test_calling_hours_and_holidays(when: dt.datetime, allowed: bool, why: str) -> None:
    ok, reason = calling_allowed(when, AutocloseConfig(), SH)
    assert ok is allowed
    assert why in reason


def test_weekend_switch_respects_adjusted_workdays() -> None:
    cfg = AutocloseConfig(call_on_weekends=False)
    assert calling_allowed(at(2026, 11, 28, 10, 0), cfg, SH) == (False, "weekend: no calls")


def _ticket(**fields: str) -> TicketRecord:
    base = {"Category": "network", "Mobile": "13812345678", "Amount": "100"}
    base.update(fields)
    return TicketRecord(
        id=7,
        subject="s",
        status="resolved",
        queue="Complaints",
        resolved=NOW - dt.timedelta(days=2),
        last_updated=NOW - dt.timedelta(days=2),
        fields={k: v for k, v in base.items() if v},
    )


@pytest.mark.parametrize(
    ("fields", "taken", "reason"),
    [
        ({}, True, "all rules passed"),
        ({"Category": "billing"}, False, "not in the simple list"),
        ({"Regulator": "yes"}, False, "Regulator flag"),
        ({"Escalated": "1"}, False, "Escalated flag"),
        ({"Amount": "600"}, False, "not under 500"),
        ({"Amount": "abc"}, False, "not a number"),
        ({"Mobile": "1381234"}, False, "malformed"),
        ({"Mobile": ""}, False, "missing or malformed"),
        ({"VIP": "yes"}, False, "VIP"),
        ({"Mobile": "13900000000"}, False, "do-not-call"),
        ({"Mobile": "+86 139-0000-0001"}, False, "VIP"),
    ],
)
def test_selection_rules_explain_each_decision(fields: dict[str, str], taken: bool, reason: str) -> None:
    cfg = TicketsConfig().autoclose.model_copy(update={"vip_numbers": ["13900000001"]})
    job = Autoclose.__new__(Autoclose)
    job.cfg = cfg
    ok, why, _ = job.decide(_ticket(**fields), {"13900000000"}, NOW)
    assert ok is taken
    assert reason in why


def test_too_young_and_wrong_status() -> None:
    job = Autoclose.__new__(Autoclose)
    job.cfg = AutocloseConfig(min_age_hours=72)
    assert "less than 72 h" in job.decide(_ticket(), set(), NOW)[1]
    ticket = _ticket()
    ticket.status = "open"
    assert "status is open" in job.decide(ticket, set(), NOW)[1]


def test_bad_pattern_in_config_is_a_clear_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="pattern 'order_no' is not a valid regular expression"):
        TicketsConfig.model_validate({"fill": {"patterns": {"order_no": "(DD"}}})


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    cfg = AutocloseConfig(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), skip_public_holidays=False)
    assert calling_allowed(at(2026, 11, 24, 23, 59), cfg, SH)[0]
    assert calling_allowed(at(2026, 10, 1, 3, 0), cfg, SH)[0]
    assert not calling_allowed(at(2026, 10, 1, 10, 0), AutocloseConfig(), SH)[0]


def test_holiday_fallback_for_years_the_official_calendar_lacks() -> None:
    from backroom.bots.tickets.autoclose import public_holiday

    assert public_holiday(dt.date(2026, 10, 1))  # from chinese_calendar
    assert public_holiday(dt.date(2030, 10, 1))  # statutory date from the holidays package
    assert public_holiday(dt.date(2026, 11, 24)) is None


def test_production_example_config_validates() -> None:
    import tomllib
    from pathlib import Path

    from backroom.bots.sdk.system import SystemSettings

    path = Path(__file__).resolve().parents[2] / "config" / "examples" / "tickets.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    config = TicketsConfig.model_validate(data["bots"]["tickets"]["config"])
    assert config.autoclose.quiet_start == dt.time(9) and config.autoclose.max_amount == 500
    for table in data["systems"].values():
        settings = SystemSettings.model_validate(table)
        assert settings.token is None or settings.token.startswith("env:")


def test_rt_values_the_helpdesk_kept_are_named() -> None:
    """RT answers 200 to a PUT it did not apply; the read-back comparison names what it kept."""
    from backroom.bots.systems.helpdesk.rt import not_applied

    current = TicketRecord(id=1, subject="s", status="open", queue="General", owner="Nobody", fields={"Mobile": "1"})
    assert not_applied({"Status": "open", "Queue": "General", "CustomFields": {"Mobile": ["1"]}}, current) == []
    kept = not_applied({"Status": "closed", "Queue": "Complaints", "CustomFields": {"Nope": "x"}}, current)
    assert kept == [("Status", "closed", "open"), ("Queue", "Complaints", "General"), ("Nope", "x", "")]
    assert not_applied({"Queue": 3, "Priority": 9}, current) == []  # ids and priority words are not compared


def test_archive_actions_and_their_marks() -> None:
    from pydantic import ValidationError

    from backroom.bots.tickets.config import ArchiveConfig, AutocloseConfig

    stock = AutocloseConfig()
    assert stock.closed_status == "resolved" and stock.archive.changes("ab") == {"Queue": "Complaints-Archive"}
    ticket = TicketRecord(id=1, subject="s", status="resolved", queue="Complaints-Archive", fields={"Archived": "ab"})
    assert stock.archive.done(ticket)
    status = ArchiveConfig(action="status", status="archived", field="Archived")
    assert status.changes("ab") == {"Status": "archived", "CustomFields": {"Archived": "ab"}}
    assert not status.done(ticket)
    assert ArchiveConfig(action="field", field="Archived").done(ticket)
    assert ArchiveConfig(action="none").changes("ab") == {}
    with pytest.raises(ValidationError, match="archive action 'field' needs field"):
        ArchiveConfig(action="field")


def test_recheck_takes_ids_as_a_list_or_comma_text() -> None:
    from backroom.bots.tickets.config import TicketsParams

    assert TicketsParams(action="autoclose", recheck="12, 15").recheck == [12, 15]
    assert TicketsParams(action="autoclose", recheck=[3]).recheck == [3]
    assert TicketsParams().recheck == []


def test_online_needs_follow_the_configuration() -> None:
    from backroom.bots.tickets import TicketsConfig
    from backroom.bots.tickets.online import helpdesk_needs

    needs = helpdesk_needs(TicketsConfig())
    assert needs["queues"] == ["Complaints", "Complaints-L2", "Complaints-Archive"]
    assert needs["custom_fields"]["Category"] == ["billing", "delivery", "network", "refund", "service"]
    assert needs["custom_fields"]["Regulator"] == ["yes"] and needs["custom_fields"]["Mobile"] is None
    assert needs["statuses"] == ["new", "open", "resolved"] and "VIP" in needs["read_fields"]
    lifecycle = {"closed_status": "closed", "archive": {"action": "status", "status": "archived"}}
    custom = helpdesk_needs(TicketsConfig.model_validate({"autoclose": lifecycle}))
    assert custom["set_statuses"] == ["open", "closed", "archived"] and "Complaints-Archive" not in custom["queues"]

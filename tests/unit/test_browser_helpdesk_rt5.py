"""The shipped RT 5 browser profile and the profile settings it relies on, without a browser:
choosing it by name, changing one setting on top, what each layout requires, reading RT's times
and history descriptions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.helpdesk.browser import BrowserHelpdesk, BrowserProfile
from backroom.bots.systems.helpdesk.rt5_profile import RT5_PROFILE
from backroom.sandbox.demo_tickets import HELPDESK_PROFILE


def _desk(profile: Any, **selectors: str) -> BrowserHelpdesk:
    settings = SystemSettings(
        kind="browser",
        url="http://127.0.0.1:9",
        username="bot",
        password="env:PW",
        options={"profile": profile, "selectors": selectors},
    )
    return BrowserHelpdesk(settings, lambda ref: "pw", timezone="Asia/Shanghai")


def test_the_rt5_profile_by_name_and_as_a_base() -> None:
    desk = _desk("rt5")
    assert desk.profile.status_control == "select" and desk._path("update_path", 7) == "/Ticket/Modify.html?id=7"
    assert desk._path("comment_path", 7) == "/Ticket/Update.html?id=7&Action=Comment"
    changed = _desk({"base": "rt5", "timezone": "UTC", "selectors": {"title": "h1"}}, login_user="#u")
    assert changed.profile.timezone == "UTC" and changed.sel("title") == "h1" and changed.sel("login_user") == "#u"
    assert changed.sel("status_select") == RT5_PROFILE["selectors"]["status_select"]  # the rest kept
    with pytest.raises(ConfigError, match="'rt4' is not a shipped profile"):
        _desk("rt4")


def test_each_layout_requires_its_own_selectors() -> None:
    sandbox = BrowserProfile.model_validate(HELPDESK_PROFILE)
    assert "status_button" in sandbox.required_selectors() and "status_select" not in sandbox.required_selectors()
    rt5 = BrowserProfile.model_validate(RT5_PROFILE)
    needed = rt5.required_selectors()
    assert {"status_select", "field_row_label", "field_row_value"} <= set(needed)
    assert not {"status_button", "field_inputs", "search_box"} & set(needed)
    lacking = {**RT5_PROFILE, "selectors": {k: v for k, v in RT5_PROFILE["selectors"].items() if k != "status_select"}}
    with pytest.raises(ConfigError, match="selectors lack status_select"):
        _desk(lacking)


def test_times_as_rt_shows_them() -> None:
    desk = _desk({"base": "rt5", "timezone": "UTC"})
    assert desk._time("2026-11-30\xa001:12:24") == dt.datetime(2026, 11, 30, 1, 12, 24, tzinfo=dt.UTC)
    assert desk._time("2026-11-30 01:12:24 by root") == dt.datetime(2026, 11, 30, 1, 12, 24, tzinfo=dt.UTC)
    assert desk._time("Not set") is None and desk._time("") is None
    shanghai = _desk("rt5")._time("2026-11-30 09:12:24")  # no zone set: the run's zone
    assert shanghai is not None and shanghai.astimezone(dt.UTC).hour == 1
    assert desk._time("2026-11-24T10:00:00Z") == dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)  # the sandbox's


@pytest.mark.parametrize(
    ("description", "kind", "parts"),
    [
        ("root (Enoch Root) - Ticket created", "Create", {}),
        ("backroom-bot - Comments added", "Comment", {}),
        ("backroom-bot - Status changed from 'new' to 'resolved'", "Status", {"old": "new", "new": "resolved"}),
        ("backroom-bot - CustomerName 张三 added", "CustomField", {"field": "CustomerName", "new": "张三"}),
        ("backroom-bot - Category billing changed to refund", "CustomField", {"field": "Category", "new": "refund"}),
    ],
)
def test_rt_history_descriptions_map_to_transactions(description: str, kind: str, parts: dict[str, str]) -> None:
    for pattern, found in BrowserProfile.model_validate(RT5_PROFILE).history.types:
        if m := re.search(pattern, description):
            assert found == kind
            assert {k: v for k, v in m.groupdict().items() if k in parts} == parts
            return
    raise AssertionError(f"no type for {description!r}")

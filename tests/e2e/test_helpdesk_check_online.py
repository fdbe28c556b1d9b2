"""``check --online`` for the browser helpdesk: log in, search, open a ticket, try every selector the
tickets bot will use; a selector that finds nothing is named, with a screenshot and the HTML kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tickets import TicketsWorld

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check(world: TicketsWorld, evidence: Path, **selectors: str) -> list[str] | None:
    from backroom.bots.sdk.system import SystemSettings
    from backroom.bots.systems.helpdesk.browser import BrowserHelpdesk
    from backroom.bots.tickets.online import helpdesk_needs
    from backroom.sandbox.demo_tickets import HELPDESK_PROFILE

    settings = SystemSettings.model_validate(
        {
            "kind": "browser",
            "url": world.helpdesk.url,
            "username": "bot",
            "password": "env:HD_PASSWORD",
            "timeout": 5,
            "options": {"profile": HELPDESK_PROFILE, "selectors": selectors},
        }
    )
    desk = BrowserHelpdesk.from_settings(settings, lambda ref: "bot-pass", evidence=evidence)
    return desk.check_online(helpdesk_needs(world.config()))


def test_the_sandbox_profile_resolves_every_selector(make_tickets_world: Any, chromium_available: None) -> None:
    world: TicketsWorld = make_tickets_world(tickets=5)
    assert _check(world, world.tmp / "evidence") == []


def test_a_selector_that_finds_nothing_is_named_with_evidence(
    make_tickets_world: Any, chromium_available: None
) -> None:
    world: TicketsWorld = make_tickets_world(tickets=5)
    evidence = world.tmp / "evidence"
    problems = _check(world, evidence, comment_box="#no-such-box", status_button="#press-{status}")
    assert problems is not None
    assert any(p.startswith("selector comment_box = '#no-such-box' finds nothing on ticket page") for p in problems)
    assert any("selector status_button (status=closed) = '#press-closed'" in p for p in problems), problems
    assert sorted(p.suffix for p in evidence.iterdir()) == [".html", ".png"]

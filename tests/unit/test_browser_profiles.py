"""Browser adapters take every page path, selector and label from a profile the config fills in:
product code carries no site's layout, and a profile that lacks a control is refused up front."""

from __future__ import annotations

from typing import Any

import pytest

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.form.browser import LabelledForm
from backroom.bots.systems.helpdesk.browser import SELECTOR_KEYS, BrowserHelpdesk
from backroom.sandbox.demo_migrate import CRM_FORM_PROFILE
from backroom.sandbox.demo_tickets import HELPDESK_PROFILE


def _settings(**options: Any) -> SystemSettings:
    return SystemSettings(kind="browser", url="http://127.0.0.1:9", username="bot", password="env:PW", options=options)


def _secret(ref: str) -> str:
    return "pw"


def test_browser_helpdesk_has_no_default_profile() -> None:
    with pytest.raises(ConfigError, match=r"needs options\.profile"):
        BrowserHelpdesk(_settings(), _secret)


def test_browser_helpdesk_profile_must_name_every_control() -> None:
    partial = {**HELPDESK_PROFILE, "selectors": {k: "#x" for k in SELECTOR_KEYS if k != "history_item"}}
    with pytest.raises(ConfigError, match="selectors lack history_item"):
        BrowserHelpdesk(_settings(profile=partial), _secret)


def test_browser_helpdesk_single_selectors_override_the_profile() -> None:
    desk = BrowserHelpdesk(_settings(profile=HELPDESK_PROFILE, selectors={"login_user": "#who"}), _secret)
    assert desk.sel("login_user") == "#who"
    assert desk.sel("status_button", status="resolved") == "#set-resolved"
    assert desk._ticket_path(7) == "/ticket/7"


def test_form_takes_fields_key_and_read_path_from_its_profile() -> None:
    form = LabelledForm(_settings(profile=CRM_FORM_PROFILE), _secret)
    assert form.key_field == "customer_no"
    assert "last_bill_status" in form.fields and "customer_no" not in form.fields
    assert form.record_path("C100001") == "/api/customers/C100001"
    with pytest.raises(ConfigError, match=r"needs options\.profile"):
        LabelledForm(_settings(), _secret)
    with pytest.raises(ConfigError, match="saved_text"):
        LabelledForm(_settings(profile={k: v for k, v in CRM_FORM_PROFILE.items() if k != "saved_text"}), _secret)


def test_the_example_configs_profiles_fit_their_adapters() -> None:
    """config/examples shows complete profiles: each one builds its adapter as written."""
    import tomllib
    from pathlib import Path

    from backroom.bots.systems.bank_portal.browser import BrowserBankPortal

    examples = Path(__file__).resolve().parents[2] / "config" / "examples"
    crm = tomllib.loads((examples / "migrate.toml").read_text(encoding="utf-8"))["systems"]["crm"]
    form = LabelledForm(SystemSettings.model_validate(crm), _secret)
    assert form.key_field == "customer_no" and "last_bill_month" in form.fields
    bank = tomllib.loads((examples / "reconcile.toml").read_text(encoding="utf-8"))["systems"]["bank"]
    portal = BrowserBankPortal(SystemSettings.model_validate(bank), _secret)
    assert portal.profile.statement_path.format(account="1") == "/statement?account=1"

"""The Redmine example loads as it is shipped; the new transforms and REST helpers do what they say."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.migrate import Config
from backroom.bots.migrate.config import FieldSpec
from backroom.bots.migrate.rest_items import dig, field_named, fill_template, placeholders
from backroom.bots.migrate.transforms import FieldError, compile_field
from backroom.bots.sdk.system import SystemSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "migrate-redmine.toml"


def test_the_redmine_example_is_valid_and_keeps_secrets_as_references() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    config = Config.model_validate(data["bots"]["migrate"]["config"])
    target = config.migrations["tickets_to_redmine"].target
    assert target.kind == "rest" and target.item_path == "/issues/{id}.json" and target.envelope == "issue"
    sent = {"project_id", "tracker_id", "subject", "description", "done_ratio", "ticket_no"}
    assert placeholders(target.template) == sent
    # the key travels in a custom field and is looked up before every create (a killed run adopts)
    assert target.find_items == "issues" and "{key}" in (target.find_path or "")
    held = {"custom_fields": [{"id": 4, "value": "x"}, {"id": 5, "value": "T0001"}]}
    assert dig(held, target.read_back["ticket_no"]) == "T0001"
    source = config.migrations["issues_to_reports"].source
    assert source.kind == "rest" and source.paging == "offset" and source.since_format == ">={}"
    systems = {name: SystemSettings.model_validate(table) for name, table in data["systems"].items()}
    assert systems["redmine"].headers == {"X-Redmine-API-Key": "env:REDMINE_KEY"}


def _field(**spec: object) -> object:
    return compile_field("f", FieldSpec.model_validate(spec))


def test_round_half_up_to_tz_wall_time_and_case() -> None:
    assert _field(**{"from": "v", "type": "decimal", "round": 2})({"v": "12.345"}) == Decimal("12.35")
    assert _field(**{"from": "v", "round": 0})({"v": "2.5"}) == Decimal("3")  # half up, not to even
    with pytest.raises(FieldError, match="round"):
        _field(**{"from": "v", "round": 2})({"v": "abc"})
    moment = dt.datetime(2024, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert _field(**{"from": "v", "to_tz": "Asia/Shanghai"})({"v": moment}) == dt.datetime(2025, 1, 1, 7, 30)
    naive = _field(**{"from": "v", "to_tz": "UTC", "tz": "Asia/Shanghai"})({"v": "2024-03-01 08:00:00"})
    assert naive == dt.datetime(2024, 3, 1, 0, 0)
    assert _field(**{"from": "v", "case": "lower"})({"v": "  ABC "}) == "abc"  # trimmed, then lowered
    assert _field(**{"from": "v", "case": "title"})({"v": "zhang san"}) == "Zhang San"


def test_templates_fill_typed_values_and_messages_name_their_field() -> None:
    row = {"subject": "卡纸", "done_ratio": 30, "amount": Decimal("1.50")}
    body = fill_template(
        {"issue": {"subject": "{subject}", "done_ratio": "{done_ratio}", "note": "金额 {amount}"}}, row
    )
    assert body == {"issue": {"subject": "卡纸", "done_ratio": 30, "note": "金额 1.5"}}
    assert dig({"project": {"id": 3}}, "project.id") == 3 and dig({"project": None}, "project.id") is None
    fields = ["ticket_no", "project_id", "subject", "done_ratio"]
    assert field_named("Subject cannot be blank", fields, ["ticket_no"]) == "subject"
    assert field_named("Project cannot be blank", fields, ["ticket_no"]) == "project_id"
    assert field_named("% Done is not included in the list", fields, ["ticket_no"]) == "ticket_no"

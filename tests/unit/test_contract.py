"""The bot contract: secrets by reference, redaction, artifacts, checkpoint durability."""

from __future__ import annotations

import logging

import pytest

from backroom.bots.sdk.checkpoint import Checkpoint
from backroom.bots.sdk.errors import MissingSecretError
from backroom.bots.sdk.secrets import RedactingFilter, Redactor, SecretResolver
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.sdk.testing import make_context


def test_env_secret_resolves_and_is_redacted() -> None:
    resolver = SecretResolver(environ={"HELPDESK_TOKEN": "s3cr3t-value"})
    assert resolver.resolve("env:HELPDESK_TOKEN") == "s3cr3t-value"
    assert resolver.redactor.redact("token=s3cr3t-value!") == "token=***!"


def test_missing_secret_names_reference_not_value() -> None:
    resolver = SecretResolver(environ={})
    with pytest.raises(MissingSecretError) as info:
        resolver.resolve("env:NOPE")
    assert "env:NOPE" in str(info.value)


def test_plain_value_rejected_where_reference_expected() -> None:
    with pytest.raises(ValueError, match="secret reference"):
        SystemSettings(kind="http", url="http://x", token="plaintext")


def test_unknown_system_keys_become_options() -> None:
    settings = SystemSettings.model_validate({"kind": "rt-rest", "url": "http://x", "queue": "Complaints"})
    assert settings.options == {"queue": "Complaints"}


def test_redacting_filter_scrubs_log_records(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor()
    redactor.add("hunter2hunter2")
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter(redactor))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("password is %s", "hunter2hunter2")
    assert "hunter2hunter2" not in caplog.text
    assert "***" in caplog.text


def test_artifact_cannot_escape_run_folder(tmp_path) -> None:
    ctx = make_context(tmp_path)
    assert ctx.artifact("report.xlsx").parent == ctx.artifacts_dir.resolve()
    with pytest.raises(ValueError, match="escapes"):
        ctx.artifact("../../etc/passwd")


def test_checkpoint_survives_a_new_connection(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    Checkpoint(url, "tickets").set_many({"ticket:1:closed": True, "ticket:2:closed": {"at": "x"}})
    again = Checkpoint(url, "tickets")
    assert again.get("ticket:1:closed") is True
    assert dict(again.items("ticket:")) == {"ticket:1:closed": True, "ticket:2:closed": {"at": "x"}}
    assert Checkpoint(url, "other").get("ticket:1:closed") is None


def test_one_secret_reference_rule_for_systems_and_the_console() -> None:
    """The adapters' system tables and the console's settings share one validator and one message."""
    from pydantic import ValidationError

    from backroom.schedules.settings import ConsoleSettings, ConsoleUser

    messages = []
    for build in (
        lambda: SystemSettings(kind="http", password="hunter2"),
        lambda: ConsoleUser(name="ops", token="hunter2"),
        lambda: ConsoleSettings(secret_key="hunter2"),
    ):
        with pytest.raises(ValidationError) as info:
            build()
        messages.append(info.value.errors()[0]["msg"])
    assert len(set(messages)) == 1 and "env:NAME" in messages[0]
    assert ConsoleUser(name="ops", token="keyring:backroom/ops").token == "keyring:backroom/ops"


def test_resolve_if_ref_leaves_plain_values_alone() -> None:
    from backroom.bots.sdk.secrets import resolve_if_ref

    resolver = SecretResolver(environ={"HOOK": "https://hooks.example/abc"})
    assert resolve_if_ref("env:HOOK", resolver.resolve) == "https://hooks.example/abc"
    assert resolve_if_ref("https://plain.example/x", resolver.resolve) == "https://plain.example/x"


def test_context_carries_the_bots_typed_config(tmp_path) -> None:
    """Without a config, a test context holds the bot's config defaults, as the runner would."""
    from backroom.bots.tickets.config import TicketsConfig

    ctx = make_context(tmp_path, "tickets")
    assert type(ctx.config) is TicketsConfig
    assert ctx.config.helpdesk == "helpdesk"
    assert make_context(tmp_path, "no-such-bot").config is None

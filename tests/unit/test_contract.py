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

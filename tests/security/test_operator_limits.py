"""What an operator cannot do any more: prune history or the audit log through a bot's parameters, and
what a careless admin cannot do: put a plaintext password where its hash belongs."""

from __future__ import annotations

import pytest

from backroom.schedules.errors import InvalidConfig
from backroom.schedules.settings import parse_settings
from tests.fixtures.console import ConsoleHarness


def test_no_bot_prunes_history_or_the_audit_log(console_harness: ConsoleHarness) -> None:
    """Before: `housekeeping` with retention_days=1 deleted audit entries, runs_dir=/ removed every empty
    folder below it. Pruning is now the runner's own, by configured retention only."""
    operator = console_harness.client("otto")
    before = len(console_harness.runner.history.audit_log(limit=1000))
    refused = operator.post("/api/v1/bots/housekeeping/runs", json={"retention_days": 1, "runs_dir": "/"})
    assert refused.status_code == 404
    assert "housekeeping" not in {b["name"] for b in operator.get("/api/v1/bots").json()}
    after = console_harness.runner.history.audit_log(limit=1000)
    assert len(after) >= before, "nothing an operator sent removed an audit entry"


def test_retention_is_config_and_the_audit_log_keeps_its_own() -> None:
    settings = parse_settings({"retention_days": 1})
    assert settings.retention_days == 1
    assert settings.audit_retention_days >= 365, "the audit log is not pruned with the runs"


@pytest.mark.parametrize("given", ["hunter2", "$2b$12$abcdefghijklmnopqrstuv", "sha256:abc"])
def test_a_plaintext_password_hash_is_refused(given: str) -> None:
    with pytest.raises(InvalidConfig, match="argon2"):
        parse_settings({"console": {"users": [{"name": "ops", "role": "operator", "password_hash": given}]}})

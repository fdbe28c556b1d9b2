"""``backroom demo --once`` end to end: every bot once on the sandbox systems, exit 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_demo_once_runs_every_bot_successfully(tmp_path: Path, chromium_available: None) -> None:
    root = Path(__file__).resolve().parents[2]
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "backroom.schedules.cli", "demo", "--once", "--workdir", str(workdir)],
        cwd=root,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    config = tomllib.loads((workdir / "backroom.toml").read_text(encoding="utf-8"))
    bots = set(config["bots"])
    assert {"metrics", "migrate", "expenses", "reconcile", "tickets", "payslips", "onboarding", "profiles"} <= bots
    for bot in bots:
        assert bot in result.stdout
    table = result.stdout.split("Backroom demo")[-1].split("schedule it would follow")[0]
    statuses = dict(re.findall(r"^│ (\w+) +│ (\w+) +│", table, re.MULTILINE))  # the status column, not summaries
    assert set(statuses) >= bots and set(statuses.values()) <= {"succeeded", "with_warnings"}, statuses
    assert statuses["expenses"] == "with_warnings"  # the demo's failed audits are not silently green
    from backroom.schedules.history import History

    history = History(f"sqlite:///{workdir / 'backroom.db'}")
    runs = history.list_runs(limit=100).runs
    assert {r.bot for r in runs if r.status in ("succeeded", "with_warnings")} >= bots  # warnings: left for people
    reports = [a for r in runs for a in history.artifacts(r.id) if a.name.endswith(".xlsx")]
    assert len(reports) >= 4  # each bot that reports leaves a workbook behind

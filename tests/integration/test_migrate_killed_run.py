"""A ``backroom run`` killed outside serve is marked interrupted when history next looks (pid gone)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_migrate_cli import CONFIG, ROOT

pytestmark = pytest.mark.slow


def test_a_killed_cli_run_is_interrupted_not_running(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "data.db") as conn:
        conn.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, name TEXT, amount TEXT, updated_at TIMESTAMP)")
        conn.executemany(
            "INSERT INTO src VALUES (?, ?, ?, ?)",
            [(i, f"客户{i}", f"{i}.5", f"2024-01-01 08:{i // 3600 % 60:02d}:{i % 60:02d}") for i in range(1, 200_001)],
        )
        conn.execute("CREATE TABLE dst (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC, updated_at TIMESTAMP)")
    config = tmp_path / "backroom.toml"
    config.write_text(CONFIG.format(home=tmp_path), encoding="utf-8")
    cli = [sys.executable, "-m", "backroom.schedules.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [*cli, "run", "migrate", "--param", "name=copy", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # polling for a state, not timing anything
            with sqlite3.connect(tmp_path / "data.db") as conn:
                if conn.execute("SELECT count(*) FROM dst").fetchone()[0] > 0:
                    break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and whatever it started
    finally:
        proc.wait(timeout=30)
    shown = subprocess.run(
        [*cli, "history", "-c", str(config)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if "migrate" in line)
    assert "interrupted" in line and "running" not in line, shown.stdout

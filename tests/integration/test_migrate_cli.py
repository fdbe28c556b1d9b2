"""``backroom run migrate --param name=... [--dry-run]`` through the real CLI and runner."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
timezone = "Asia/Shanghai"
home = "{home}"
database = "sqlite:///{home}/backroom.db"

[systems.db]
kind = "sql"
url = "sqlite:///{home}/data.db"

[bots.migrate.config.migrations.copy]
key = "id"
batch_size = 15
source = {{ kind = "sql", system = "db", table = "src", cursor = "updated_at" }}
target = {{ kind = "sql", system = "db", table = "dst" }}

[bots.migrate.config.migrations.copy.fields]
id = "id"
name = {{ from = "name", required = true }}
amount = {{ from = "amount", type = "decimal" }}
updated_at = {{ from = "updated_at", type = "datetime", tz = "Asia/Shanghai" }}
"""


@pytest.mark.slow
def test_cli_dry_run_then_run(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "data.db") as conn:
        conn.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, name TEXT, amount TEXT, updated_at TIMESTAMP)")
        conn.executemany(
            "INSERT INTO src VALUES (?, ?, ?, ?)",
            [(i, f"客户{i}", f"{i}.5", f"2024-01-01 08:00:{i:02d}") for i in range(1, 41)],
        )
        conn.execute("CREATE TABLE dst (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC, updated_at TIMESTAMP)")
    config = tmp_path / "backroom.toml"
    config.write_text(CONFIG.format(home=tmp_path), encoding="utf-8")
    cli = (
        [sys.executable, "-m", "backroom.schedules.cli"]
        if not (Path(sys.executable).parent / "backroom").exists()
        else [str(Path(sys.executable).parent / "backroom")]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}

    def backroom(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args, "-c", str(config)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    dry = backroom("run", "migrate", "--param", "name=copy", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would move 40 new" in dry.stdout
    with sqlite3.connect(tmp_path / "data.db") as conn:
        assert conn.execute("SELECT count(*) FROM dst").fetchone() == (0,)
    real = backroom("run", "migrate", "--param", "name=copy")
    assert real.returncode == 0, real.stdout + real.stderr
    with sqlite3.connect(tmp_path / "data.db") as conn:
        assert conn.execute("SELECT count(*), min(updated_at) FROM dst").fetchone() == (
            40,
            "2024-01-01 00:00:01.000000",
        )

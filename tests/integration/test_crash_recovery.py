"""kill -9 of the runner mid-run: the run is interrupted, schedules are intact, nothing runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backroom.schedules.history import History

pytestmark = pytest.mark.slow

CONFIG = """
database = "sqlite:///{home}/backroom.db"
home = "{home}"
bot_modules = ["tests.support.runner_bots"]

[bots.sleeper]
schedule = "interval: 2s"
misfire_grace = "1m"
params = {{ seconds = 30 }}

[bots.echo]
schedule = "interval: 1s"
misfire_grace = "1m"
"""


def start_serve(config: Path) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen(
        [sys.executable, "-m", "backroom.schedules.cli", "serve", "--no-console", "--config", str(config)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_kill_9_then_restart(tmp_path: Path) -> None:
    config = tmp_path / "backroom.toml"
    config.write_text(CONFIG.format(home=tmp_path), encoding="utf-8")
    history = History(f"sqlite:///{tmp_path}/backroom.db")
    serve = start_serve(config)
    try:
        running = wait_for(lambda: history.list_runs(bot="sleeper", status="running").runs)
        victim = running[0]
        pid_file = Path(victim.run_dir) / "artifacts" / "pid"
        child_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text()))
        wait_for(lambda: history.list_runs(bot="echo", status="succeeded").runs)
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)

        # the bot's process goes down with its runner rather than running on unsupervised
        def child_gone() -> bool:
            try:
                os.kill(child_pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(child_gone, timeout=10)
        time.sleep(2.5)  # fires are missed while the runner is down
        serve = start_serve(config)
        wait_for(lambda: history.get_run(victim.id).status == "interrupted")
        assert "stopped before it finished" in history.get_run(victim.id).error
        # schedules are intact: echo keeps running after the restart
        before = len(history.list_runs(bot="echo", status="succeeded", limit=1000).runs)
        wait_for(lambda: len(history.list_runs(bot="echo", status="succeeded", limit=1000).runs) >= before + 2)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=15)
        except subprocess.TimeoutExpired:
            serve.kill()
    runs = history.list_runs(bot="echo", limit=10_000).runs
    fires = [(r.job_id, r.scheduled_for) for r in runs if r.scheduled_for is not None]
    assert len(fires) == len(set(fires)), "a fire time ran (or was recorded) twice"
    coalesced = [r for r in runs if r.status == "skipped" and (r.error or "").startswith("coalesced")]
    assert coalesced, "fires missed while down were neither run nor recorded"

"""Scale-out on the real PostgreSQL: serve instances with a leader, workers as real processes.

Three serve (a leader, two standbys) and workers on one machine, each its own process: runs
spread over the workers, a worker without the "browser" queue never takes the browser bot, kill -9 of a worker
mid-run leaves that run interrupted, a cancel from this process reaches a run on a worker, kill -9 of
the leader (twice) lets a standby take over, and every fire time appears once in history.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backroom.schedules.history import History

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
database = "{url}"
home = "{home}"
bot_modules = ["tests.support.runner_bots"]
owner_lease = "3s"

[execution]
backend = "procrastinate"
leader_heartbeat = "0.2s"
queues = {{ sleeper = "browser" }}

[bots.echo]
schedule = "interval: 1s"
misfire_grace = "1m"

[bots.sleeper]
schedule = "interval: 1s"
misfire_grace = "1m"
params = {{ seconds = 60 }}
timeout = "5m"
"""


def start(config: Path, *args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "backroom.schedules.cli", *args, "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met in {timeout:.0f} s")


def owner_of(proc: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{proc.pid}"


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_leader_workers_failover_cancel(pg_database: str, tmp_path: Path) -> None:
    pg_url = pg_database
    config = tmp_path / "backroom.toml"
    config.write_text(CONFIG.format(url=pg_url, home=tmp_path), encoding="utf-8")
    log = tmp_path / "processes.log"
    history = History(pg_url)
    procs: list[subprocess.Popen] = []
    try:
        leader = start(config, "serve", "--no-console", log=log)
        procs.append(leader)
        wait_for(lambda: history.previous_owner()[0], what="a leader")
        standby = start(config, "serve", "--no-console", log=log)
        third = start(config, "serve", "--no-console", log=log)
        procs.append(third)
        plain = start(config, "worker", "--queues", "default", log=log)  # no browser
        browser = start(config, "worker", "--queues", "default,browser", log=log)
        procs += [standby, plain, browser]

        def echo_owners() -> set[str]:
            return {r.owner for r in history.list_runs(bot="echo", status="succeeded", limit=1000).runs}

        # runs spread over both workers
        wait_for(lambda: {owner_of(plain), owner_of(browser)} <= echo_owners(), what="echo runs on both workers")

        # the browser bot runs only where a browser is; kill -9 of that worker mid-run → interrupted
        victim = wait_for(lambda: history.list_runs(bot="sleeper", status="running").runs, what="sleeper running")[0]
        assert victim.owner == owner_of(browser)
        browser.send_signal(signal.SIGKILL)
        browser.wait(timeout=10)
        wait_for(lambda: history.get_run(victim.id).status == "interrupted", what="the run interrupted")
        assert "stopped before it finished" in history.get_run(victim.id).error

        # a new browser worker takes the next sleeper run (the dead worker's lock was freed); cancel reaches it
        browser2 = start(config, "worker", "--queues", "browser", log=log)
        procs.append(browser2)
        running = wait_for(
            lambda: [r for r in history.list_runs(bot="sleeper", status="running").runs if r.id != victim.id],
            what="sleeper on the new worker",
        )[0]
        assert running.owner == owner_of(browser2)
        history.request_cancel(running.id)
        wait_for(lambda: history.get_run(running.id).status == "cancelled", what="the cancel to reach the worker")

        # kill -9 of the leader, twice: a standby takes over each time and scheduling goes on
        serves = [leader, standby, third]
        for _ in range(2):
            holder = history.previous_owner()[0] or ""
            current = next(p for p in serves if holder.startswith(owner_of(p) + "#"))
            current.send_signal(signal.SIGKILL)
            current.wait(timeout=10)
            serves.remove(current)
            new_holder = wait_for(
                lambda serves=serves: next(
                    (p for p in serves if (history.previous_owner()[0] or "").startswith(owner_of(p) + "#")), None
                ),
                what="a standby to lead",
            )
            assert new_holder.poll() is None
            before = len(history.list_runs(bot="echo", status="succeeded", limit=10_000).runs)
            wait_for(
                lambda before=before: (
                    len(history.list_runs(bot="echo", status="succeeded", limit=10_000).runs) >= before + 3
                ),
                what="echo runs after the failover",
            )
    except AssertionError:
        sys.stderr.write(log.read_text(errors="replace")[-6000:])
        raise
    finally:
        stop_all(procs)

    runs = history.list_runs(limit=10_000).runs
    sleepers = [r for r in runs if r.bot == "sleeper" and r.owner and r.status != "skipped"]
    assert all(r.owner != owner_of(plain) for r in sleepers), "a worker without a browser took the browser bot"
    fires = [(r.job_id, r.scheduled_for) for r in runs if r.scheduled_for is not None]
    assert len(fires) == len(set(fires)), "a fire time ran (or was recorded) twice"
    history.engine.dispose()

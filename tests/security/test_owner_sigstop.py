"""The SIGSTOP'd owner (issue 13, item 4), with real ``backroom serve`` processes.

Serve A owns the job store; it is frozen (SIGSTOP) past its lease; serve B takes over; A is thawed
(SIGCONT). Before the fix A came back and scheduled beside B. Now A must not enqueue a single
scheduled fire after the takeover, no fire time may run twice, A must stop scheduling, and the
run A was supervising is interrupted by its lease expiry although A's pid is alive on this host.
The waits poll for states in the database and in A's log; the only fixed times are the lease.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from backroom.schedules.history import History, utcnow

pytestmark = pytest.mark.slow

T = TypeVar("T")

CONFIG = """
database = "sqlite:///{home}/backroom.db"
home = "{home}"
bot_modules = ["tests.support.runner_bots"]
owner_lease = "2s"

[bots.echo]
schedule = "interval: 1s"
misfire_grace = "1m"
max_instances = 1

[bots.sleeper]
schedule = "date: {sleeper_at}"
misfire_grace = "1m"
params = {{ seconds = 120 }}
"""


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not met in {timeout} s")


def freeze_outside_a_transaction(process: subprocess.Popen, database: Path) -> None:
    """SIGSTOP ``process`` at a moment it holds no SQLite write lock (a frozen writer would block B).

    That is SQLite's nature, not the attack: a serve frozen inside a write transaction blocks every
    writer until it is thawed, and then commits before it learns it lost. The test wants the case
    where B can take over, so it freezes A again if it caught A mid-write.
    """
    for _ in range(50):
        process.send_signal(signal.SIGSTOP)
        wait_for(lambda: Path(f"/proc/{process.pid}/stat").read_text().split(") ")[1][0] == "T", what="stopped")
        probe = sqlite3.connect(database, timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:
            process.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("could not freeze the serve outside a write transaction")


@pytest.fixture
def serves(tmp_path: Path) -> Iterator[Callable[[str], tuple[subprocess.Popen, Path]]]:
    """Start ``backroom serve`` processes (stderr to a file); all are killed at the end."""
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "backroom.toml"
    sleeper_at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)).isoformat()
    config.write_text(CONFIG.format(home=tmp_path, sleeper_at=sleeper_at), encoding="utf-8")
    started: list[subprocess.Popen] = []

    def start(name: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "backroom.schedules.cli", "serve", "--no-console", "--config", str(config)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(timeout=10)


def test_a_sigstopped_owner_comes_back_and_schedules_nothing(
    tmp_path: Path, serves: Callable[[str], tuple[subprocess.Popen, Path]]
) -> None:
    history = History(f"sqlite:///{tmp_path}/backroom.db")
    a, a_log = serves("a")
    a_owner = f"{socket.gethostname()}:{a.pid}"

    def owner_token() -> tuple[str, Any]:
        from backroom.schedules.history.models import scheduler_owner

        with history.engine.connect() as conn:
            row = conn.execute(scheduler_owner.select()).first()
        return (row.owner or "", row.token) if row is not None else ("", None)

    wait_for(lambda: history.list_runs(bot="echo", status="succeeded").runs, what="A runs echo")
    sleeping = wait_for(lambda: history.list_runs(bot="sleeper", status="running").runs, what="A runs sleeper")
    a_token = owner_token()[1]

    freeze_outside_a_transaction(a, tmp_path / "backroom.db")
    wait_for(lambda: history.previous_owner()[1] < utcnow(), timeout=10, what="A's lease ends")
    b, _ = serves("b")
    b_owner = f"{socket.gethostname()}:{b.pid}#"
    taken = wait_for(lambda: owner_token()[0].startswith(b_owner) and owner_token(), what="B takes over")
    assert taken[1] == a_token + 1
    taken_at = utcnow()
    # A's pid is alive (stopped) on this very host: its run is interrupted by the lease, not the pid
    wait_for(lambda: history.get_run(sleeping[0].id).status == "interrupted", what="A's run interrupted")

    a.send_signal(signal.SIGCONT)
    wait_for(lambda: b"lost the job store's owner lock" in a_log.read_bytes(), what="A learns it lost")
    assert a.poll() is None, "A keeps serving (its console, its runs) without scheduling"
    seen = len(history.list_runs(bot="echo", limit=10_000).runs)
    wait_for(lambda: len(history.list_runs(bot="echo", limit=10_000).runs) >= seen + 3, what="B keeps scheduling")
    assert owner_token()[0] == taken[0], "A never took the lock back while B's lease ran"

    runs = history.list_runs(limit=10_000).runs
    by_a = [r for r in runs if r.trigger == "schedule" and r.owner == a_owner and r.queued_at >= taken_at]
    assert by_a == [], "A queued (or recorded) a scheduled fire after B took over"
    started_by_a = [r for r in runs if r.owner == a_owner and r.started_at and r.started_at >= taken_at]
    assert started_by_a == [], "A started a run after B took over"
    fires = [(r.job_id, r.scheduled_for) for r in runs if r.scheduled_for is not None]
    assert len(fires) == len(set(fires)), "a fire time ran (or was recorded) twice"
    assert b"scheduling paused" in a_log.read_bytes()

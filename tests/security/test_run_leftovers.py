"""Finding 5: a grandchild process outlived a *successful* run, and a ``setsid`` grandchild survived a
timeout. Now every process a run started is killed when the run ends, however it ends: its process
group, and every process whose environment carries the run's ``BACKROOM_RUN_ID``."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from backroom.schedules.leftovers import kill_leftovers, marked_processes


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether ``pid`` is dead (or a zombie waiting to be reaped) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_background_grandchild_of_a_successful_run_is_killed(run_harness) -> None:
    harness = run_harness()
    run = harness.run("leaver")
    assert run.status == "succeeded", run.error
    pid = int(harness.artifact(run, "pid").read_text())
    assert gone(pid), f"sleep 300 (pid {pid}) outlived its successful run"
    assert marked_processes(run.id) == []


def test_setsid_grandchild_of_a_timed_out_run_is_killed(run_harness) -> None:
    harness = run_harness(bots={"leaver": {"timeout": "2s"}})
    run = harness.run("leaver", {"setsid": True, "hang": True})
    assert run.status == "timed_out"
    pid = int(harness.artifact(run, "pid").read_text())
    assert gone(pid), f"setsid sleep 300 (pid {pid}) outlived its run's timeout"
    assert marked_processes(run.id) == []


def test_setsid_grandchild_of_a_successful_run_is_killed(run_harness) -> None:
    harness = run_harness()
    run = harness.run("leaver", {"setsid": True})
    assert run.status == "succeeded", run.error
    assert gone(int(harness.artifact(run, "pid").read_text()))


def test_kill_leftovers_kills_only_the_marked_run() -> None:
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs /proc")
    env = dict(os.environ)
    mine = subprocess.Popen(["setsid", "sleep", "300"], env={**env, "BACKROOM_RUN_ID": "run-a"})
    other = subprocess.Popen(["setsid", "sleep", "300"], env={**env, "BACKROOM_RUN_ID": "run-a-longer"})
    try:
        deadline = time.monotonic() + 5
        while mine.pid not in marked_processes("run-a") and time.monotonic() < deadline:
            time.sleep(0.02)  # until the exec has put the marker in place
        assert marked_processes("run-a") == [mine.pid]
        assert kill_leftovers("run-a", None) == 1
        assert mine.wait(timeout=5) == -9
        assert other.poll() is None, "a process of another run was killed"
    finally:
        other.kill()
        other.wait()


def test_the_scan_is_skipped_only_for_a_run_that_left_no_process(run_harness, monkeypatch) -> None:
    """A run's process is a child subreaper: when it has no child left it has no descendant anywhere, and
    serve skips the /proc scan (milliseconds a run); a run that left a process is scanned and cleaned."""
    import backroom.schedules.execution as execution

    scans: list[bool] = []
    real = execution.kill_leftovers

    def counting(run_id: str, pgid: int | None, *args: object, scan: bool = True) -> int:
        scans.append(scan)
        return real(run_id, pgid, *args, scan=scan)

    monkeypatch.setattr(execution, "kill_leftovers", counting)
    harness = run_harness()
    assert harness.run("echo").status == "succeeded"
    assert scans == [False]
    run = harness.run("leaver", {"setsid": True})
    assert run.status == "succeeded", run.error
    assert scans == [False, True]
    assert gone(int(harness.artifact(run, "pid").read_text()))

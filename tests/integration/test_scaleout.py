"""Scale-out on the real PostgreSQL: serve instances with a leader, workers as real processes.

Three serve (a leader, two standbys) and workers on one machine, each its own process: runs spread
over the workers, which advertise their queues with their heartbeat; a worker without the
"browser" queue never takes the browser bot; kill -9 of the browser worker mid-run, three times
(the first two together with the leader): each time that run becomes interrupted, every process
the worker started (the run's own, the forkserver) ends with it, a standby takes the lead and a
new worker the next run; a cancel from this process reaches a run on a worker. Then: no run left
queued or running (none lost), no run interrupted on a live worker, every fire time of every job
once in history, from the first to the last without a gap (none lost, none twice).
"""

from __future__ import annotations

import itertools
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


def process_tree(root: int) -> set[int]:
    """Every live descendant of ``root`` (from /proc), the run's process and the forkserver included."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def current_leader(history: History, serves: list[subprocess.Popen]) -> subprocess.Popen | None:
    holder = history.previous_owner()[0] or ""
    return next((p for p in serves if p.poll() is None and holder.startswith(owner_of(p) + "#")), None)


def test_leader_workers_failover_cancel(pg_database: str, tmp_path: Path) -> None:
    pg_url = pg_database
    config = tmp_path / "backroom.toml"
    config.write_text(CONFIG.format(url=pg_url, home=tmp_path), encoding="utf-8")
    log = tmp_path / "processes.log"
    history = History(pg_url)
    procs: list[subprocess.Popen] = []
    killed_workers: set[str] = set()
    victims: list[str] = []
    try:
        leader = start(config, "serve", "--no-console", log=log)
        procs.append(leader)
        wait_for(lambda: history.previous_owner()[0], what="a leader")
        serves = [
            leader,
            start(config, "serve", "--no-console", log=log),
            start(config, "serve", "--no-console", log=log),
        ]
        plain = start(config, "worker", "--queues", "default", log=log)  # no browser
        browser = start(config, "worker", "--queues", "default,browser", log=log)
        procs += [*serves[1:], plain, browser]

        def echo_owners() -> set[str]:
            return {r.owner for r in history.list_runs(bot="echo", status="succeeded", limit=1000).runs}

        # runs spread over both workers
        wait_for(lambda: {owner_of(plain), owner_of(browser)} <= echo_owners(), what="echo runs on both workers")
        advertised = history.process_capabilities()  # stored with each worker's heartbeat
        assert advertised[owner_of(plain)] == "default" and advertised[owner_of(browser)] == "default,browser"

        # three times: kill -9 of the browser worker mid-run (the first two times with the leader) → the
        # run interrupted, nothing the worker started survives it, a new worker takes the next run
        for round_ in range(3):

            def sleeping(worker: subprocess.Popen = browser):
                runs = [
                    r
                    for r in history.list_runs(bot="sleeper", status="running").runs
                    if r.run_dir and (Path(r.run_dir) / "artifacts" / "pid").is_file()
                ]
                return runs if runs and runs[0].owner == owner_of(worker) else None

            victim = wait_for(sleeping, what=f"sleeper running on the browser worker (round {round_ + 1})")[0]
            run_pid = int((Path(victim.run_dir) / "artifacts" / "pid").read_text())
            tree = process_tree(browser.pid)
            assert run_pid in tree, "the run's process is not the worker's descendant"
            browser.send_signal(signal.SIGKILL)
            browser.wait(timeout=10)
            killed_workers.add(owner_of(browser))
            victims.append(victim.id)
            if round_ < 2:
                old = current_leader(history, serves)
                assert old is not None
                old.send_signal(signal.SIGKILL)
                old.wait(timeout=10)
                serves.remove(old)
                new = wait_for(lambda: current_leader(history, serves), what="a standby to lead")
                assert new.poll() is None
            wait_for(lambda v=victim: history.get_run(v.id).status == "interrupted", what="the run interrupted")
            assert "stopped before it finished" in history.get_run(victim.id).error
            wait_for(
                lambda t=tree: not [p for p in t if alive(p)], timeout=20, what="the killed worker's processes to end"
            )
            browser = start(config, "worker", "--queues", "browser", log=log)
            procs.append(browser)

        # cancel from this process reaches a run on the newest worker
        running = wait_for(
            lambda: [r for r in history.list_runs(bot="sleeper", status="running").runs if r.id not in victims],
            what="sleeper on the new worker",
        )[0]
        assert running.owner == owner_of(browser)
        history.request_cancel(running.id)
        wait_for(lambda: history.get_run(running.id).status == "cancelled", what="the cancel to reach the worker")

        # scheduling goes on under the last leader
        before = len(history.list_runs(bot="echo", status="succeeded", limit=10_000).runs)
        wait_for(
            lambda: len(history.list_runs(bot="echo", status="succeeded", limit=10_000).runs) >= before + 3,
            what="echo runs after the failovers",
        )

        # wind down: no more fires; the workers finish what was queued; a sleeping run is cancelled
        stop_all(serves)

        def settled() -> bool:
            active = (
                history.list_runs(status="running", limit=100).runs + history.list_runs(status="queued", limit=100).runs
            )
            for run in active:
                if run.bot == "sleeper":
                    history.request_cancel(run.id)
            return not active

        wait_for(settled, timeout=30, what="every queued run to end")
    except AssertionError:
        sys.stderr.write(log.read_text(errors="replace")[-6000:])
        with history.engine.connect() as conn:  # what was left waiting, and why
            for row in conn.exec_driver_sql(
                "select id, queue_name, lock, status, worker_id, args from procrastinate_jobs "
                "where status in ('todo', 'doing')"
            ):
                sys.stderr.write(f"job {row}\n")
        for run in history.list_runs(status="queued", limit=20).runs + history.list_runs(status="running").runs:
            sys.stderr.write(f"run {run.id} {run.bot} {run.status} {run.owner}\n")
        raise
    finally:
        stop_all(procs)

    runs = history.list_runs(limit=10_000).runs
    assert not [r for r in runs if r.status in ("queued", "running")], "a run was lost (never ended)"
    interrupted = [r for r in runs if r.status == "interrupted"]
    assert set(victims) <= {r.id for r in interrupted}
    assert all(r.owner in killed_workers for r in interrupted), "a run was interrupted on a live worker"
    sleepers = [r for r in runs if r.bot == "sleeper" and r.owner and r.status != "skipped"]
    assert all(r.owner != owner_of(plain) for r in sleepers), "a worker without a browser took the browser bot"
    fires = [(r.job_id, r.scheduled_for) for r in runs if r.scheduled_for is not None]
    assert len(fires) == len(set(fires)), "a fire time ran (or was recorded) twice"
    for job in {job for job, _ in fires}:  # every fire time, from the first to the last, is in history once
        times = sorted(t for j, t in fires if j == job)
        gaps = [(a, b) for a, b in itertools.pairwise(times) if (b - a).total_seconds() != 1.0]
        assert not gaps, f"fires of {job} lost between {gaps[:3]}"
    history.engine.dispose()

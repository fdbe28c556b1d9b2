"""The procrastinate backend's parts on the real PostgreSQL: election, fencing, one job per run, recovery."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from pathlib import Path

import psycopg
import pytest

from backroom.schedules.check import check_settings
from backroom.schedules.discovery import discover
from backroom.schedules.errors import RunnerBusy
from backroom.schedules.history import History, OwnerLost
from backroom.schedules.settings import Settings, load_settings
from backroom.schedules.status import Trigger

CONFIG = """
database = "{url}"
home = "{home}"
bot_modules = ["tests.support.runner_bots"]

[execution]
backend = "procrastinate"
queues = {{ sleeper = "browser" }}

[bots.echo]
on_interrupted = "requeue"

[bots.sleeper]
max_instances = 1

[bots.flaky]
retries = 2
retry_backoff = "10m"
max_instances = 3
"""


def settings_for(url: str, home: Path) -> Settings:
    path = home / "backroom.toml"
    path.write_text(CONFIG.format(url=url, home=home), encoding="utf-8")
    return load_settings(path)


def jobs(url: str) -> list[tuple]:
    from backroom.schedules.distributed.queue import conninfo

    info = conninfo(Settings(database=url))
    with psycopg.connect(info) as conn:
        return conn.execute(
            "select args->>'run_id', queue_name, lock, queueing_lock, status::text, scheduled_at "
            "from procrastinate_jobs order by id"
        ).fetchall()


def test_procrastinate_needs_postgresql(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path}/h.db", tmp_path)
    problems = check_settings(settings, discover(settings.bot_modules))
    assert [p.location for p in problems if "PostgreSQL" in p.message] == ["execution.backend"]


@pytest.mark.postgres
def test_one_leader_at_a_time_and_a_deposed_leader_is_told(pg_database: str) -> None:
    from backroom.schedules.distributed.leader import Leadership
    from backroom.schedules.distributed.queue import conninfo

    info = conninfo(Settings(database=pg_database))
    lost = threading.Event()
    first = Leadership(info, 0.1, lambda _reason: None)
    second = Leadership(info, 0.1, lambda _reason: lost.set())
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        first.release()  # the leader's session ends (as with kill -9): the standby, polling, is elected
        stop = threading.Event()
        timer = threading.Timer(10, stop.set)  # the server ends the session a moment after the close
        timer.start()
        assert second.wait(stop) and not stop.is_set()
        timer.cancel()
        with psycopg.connect(info, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'backroom-serve-leader' and datname = current_database()"
            )
        assert lost.wait(10), "the leader whose session was cut was not deposed"
        assert not second.held
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_an_elected_leader_fences_out_the_previous_one(pg_database: str) -> None:
    history = History(pg_database)
    now = dt.datetime.now(dt.UTC)
    old = history.acquire_owner_lock("host:1#old", 30, now)
    with pytest.raises(RunnerBusy):
        history.acquire_owner_lock("host:2#new", 30, now)  # not elected: refused while the lease runs
    new = history.acquire_owner_lock("host:2#new", 30, now, force=True)
    assert new == old + 1
    with pytest.raises(OwnerLost):
        history.create_scheduled_runs([("echo", "echo", {}, now)], ("host:1#old", old))
    assert [r.job_id for r in history.create_scheduled_runs([("echo", "echo", {}, now)], ("host:2#new", new))] == [
        "echo"
    ]
    history.engine.dispose()


@pytest.mark.postgres
def test_one_job_per_run_queue_by_capability_and_retry_kept_in_the_database(pg_database: str, tmp_path: Path) -> None:
    from backroom.schedules.distributed.queue import ensure_schema
    from backroom.schedules.distributed.runner import DistributedRunner
    from backroom.schedules.outcome import RunOutcome
    from backroom.schedules.status import RunStatus

    settings = settings_for(pg_database, tmp_path)
    runner = DistributedRunner(settings)
    try:
        assert ensure_schema(settings, runner.app) is True
        assert ensure_schema(settings, runner.app) is False
        sleeper = runner.history.create_run("sleeper", trigger=Trigger.API)
        runner.dispatcher.enqueue(sleeper)
        runner.dispatcher.enqueue(sleeper)  # again (a failover replaying): refused by the queueing lock
        assert runner.dispatcher.replay_queued() == 0
        assert [row[:5] for row in jobs(pg_database)] == [(sleeper.id, "browser", "bot:sleeper", sleeper.id, "todo")]
        assert runner.dispatcher.active_counts() == {"sleeper": 1}

        flaky = runner.history.create_run("flaky", trigger=Trigger.API)
        runner.history.mark_running(flaky.id, str(tmp_path), "elsewhere:1")
        outcome = RunOutcome(RunStatus.FAILED, error="helpdesk answered 503", transient=True)
        runner.history.finish_run(flaky.id, outcome)
        runner.dispatcher.after_run(runner.history.get_run(flaky.id), outcome)
        retry = [row for row in jobs(pg_database) if row[0] not in (sleeper.id, flaky.id)]
        assert len(retry) == 1 and retry[0][1] == "default" and retry[0][2] is None
        wait = retry[0][5] - dt.datetime.now(dt.UTC)
        assert dt.timedelta(minutes=9) < wait <= dt.timedelta(minutes=10), "the backoff is not the job's schedule"
        assert runner.history.get_run(retry[0][0]).attempt == 2
    finally:
        runner.app.close()
        runner.history.engine.dispose()


@pytest.mark.postgres
def test_a_dead_workers_run_is_interrupted_its_job_closed_and_an_idempotent_bot_requeued(
    pg_database: str, tmp_path: Path
) -> None:
    from backroom.schedules.distributed.queue import ensure_schema
    from backroom.schedules.distributed.runner import DistributedRunner

    settings = settings_for(pg_database, tmp_path)
    runner = DistributedRunner(settings)
    try:
        ensure_schema(settings, runner.app)
        run = runner.history.create_run("echo", trigger=Trigger.API)
        runner.dispatcher.enqueue(run)
        waiting = runner.history.create_run(
            "sleeper", trigger=Trigger.API
        )  # queued in PostgreSQL: belongs to no process
        runner.dispatcher.enqueue(waiting)
        with psycopg.connect(runner.app.connector.pool.conninfo) as conn:
            conn.execute("update procrastinate_jobs set status = 'doing' where args->>'run_id' = %s", (run.id,))
        dead = f"{socket.gethostname()}:{2**22 + 7}"  # above pid_max's default: no such process
        assert runner.history.mark_running(run.id, str(tmp_path), dead)
        runner._recover(startup=False)
        assert runner.history.get_run(run.id).status == "interrupted"
        assert runner.history.get_run(waiting.id).status == "queued"
        by_run = {row[0]: row[4] for row in jobs(pg_database)}
        assert by_run[run.id] == "failed"
        again = [r for r in runner.history.active_runs() if r.parent_run_id == run.id]
        assert len(again) == 1 and again[0].trigger == "requeue"
        assert by_run[again[0].id] == "todo"
    finally:
        runner.app.close()
        runner.history.engine.dispose()


@pytest.mark.postgres
def test_a_standby_serves_at_once_and_leads_when_the_leader_steps_down(pg_database: str, tmp_path: Path) -> None:
    import time

    from backroom.schedules.distributed.runner import DistributedRunner

    def wait_for(predicate, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    settings = settings_for(pg_database, tmp_path)
    leader, standby = DistributedRunner(settings), DistributedRunner(settings)
    leader.exit_when_deposed = standby.exit_when_deposed = False
    try:
        leader.start(watch=False)
        assert wait_for(lambda: leader.is_leader)
        standby.start(watch=False)  # returns at once: its console works while it stands by
        assert not standby.is_leader
        run = standby.trigger("echo", actor="ada")  # a standby's console queues runs through PostgreSQL
        assert [row[0] for row in jobs(pg_database)] == [run.id]
        token = leader.lease.token
        leader.shutdown(wait=False)
        assert wait_for(lambda: standby.is_leader), "the standby did not take over"
        assert standby.lease.token == token + 1
    finally:
        leader.shutdown(wait=False)
        standby.shutdown(wait=False)
        leader.history.engine.dispose()
        standby.history.engine.dispose()


@pytest.mark.postgres
def test_backroom_workers_lists_processes_leases_and_current_runs(pg_database: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from backroom.schedules.cli import app

    settings_for(pg_database, tmp_path)
    history = History(pg_database)
    here = socket.gethostname()
    alive, dead = f"{here}:{os.getpid()}", f"{here}:{2**22 + 9}"
    history.renew_process_lease(alive, 30, capabilities="default,browser")
    history.renew_process_lease(dead, 30, capabilities="ocr")  # its lease runs, but the pid is gone (kill -9)
    run = history.create_run("sleeper", trigger=Trigger.API)
    history.mark_running(run.id, str(tmp_path), alive)
    result = CliRunner().invoke(app, ["workers", "--config", str(tmp_path / "backroom.toml")], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if here in line}
    assert set(lines) == {alive, dead}
    assert f"sleeper {run.id[:8]} (browser)" in lines[alive] and "yes" in lines[alive]
    assert "no" in lines[dead] and "sleeper" not in lines[dead]
    assert "default,browser" in lines[alive] and "ocr" in lines[dead]  # the queues each advertised
    history.renew_process_lease(alive, 30)  # a renewal without capabilities (serve) clears them
    assert history.process_capabilities()[alive] is None
    history.engine.dispose()


@pytest.mark.postgres
def test_the_parallel_limit_and_max_instances_hold_across_workers(pg_database: str, tmp_path: Path) -> None:
    history = History(pg_database)
    runs = [history.create_run("flaky", trigger=Trigger.API) for _ in range(3)] + [
        history.create_run("echo", trigger=Trigger.API)
    ]

    def claim(run, owner: str, max_total: int = 3, max_bot: int = 2):
        return history.mark_running_within(run.id, str(tmp_path), owner, run.bot, max_total, max_bot)

    assert claim(runs[0], "a:1") is True
    assert claim(runs[1], "b:2") is True  # another worker
    assert claim(runs[2], "c:3") is None  # flaky at max_instances = 2 in the whole cluster
    assert claim(runs[3], "c:3") is True
    history.request_cancel(runs[2].id)
    assert claim(runs[2], "c:3", max_total=10, max_bot=10) is False  # no longer queued
    late = history.create_run("echo", trigger=Trigger.API)
    assert claim(late, "c:3", max_bot=5) is None  # 3 running: the cluster's max_parallel_runs
    assert [r.status for r in map(history.get_run, [x.id for x in runs])] == [
        "running",
        "running",
        "cancelled",
        "running",
    ]
    history.engine.dispose()


def test_the_queue_refuses_a_database_other_than_postgresql(tmp_path: Path) -> None:
    from backroom.schedules.distributed.queue import conninfo
    from backroom.schedules.errors import InvalidConfig

    with pytest.raises(InvalidConfig) as caught:
        conninfo(settings_for(f"sqlite:///{tmp_path}/h.db", tmp_path))
    assert [p.location for p in caught.value.problems] == ["execution.backend"]
    assert "sqlite" in str(caught.value)


@pytest.mark.postgres
def test_a_queued_run_no_job_will_start_is_deferred_again_by_the_sweep(pg_database: str, tmp_path: Path) -> None:
    from backroom.schedules.distributed.queue import ensure_schema
    from backroom.schedules.distributed.runner import DistributedRunner

    settings = settings_for(pg_database, tmp_path)
    runner = DistributedRunner(settings)
    try:
        ensure_schema(settings, runner.app)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        lost = runner.history.create_run("echo", trigger=Trigger.API)  # its serve died before deferring it
        taken = runner.history.create_run("echo", trigger=Trigger.API)  # its worker died before starting it
        waiting = runner.history.create_run("echo", trigger=Trigger.API)  # a job waits for it
        fresh = runner.history.create_run("echo", trigger=Trigger.API)  # being deferred right now
        for run in (lost, taken, waiting):
            runner.history.update_run(run.id, queued_at=long_ago)
        runner.dispatcher.enqueue(taken)
        runner.dispatcher.enqueue(waiting)
        with psycopg.connect(runner.app.connector.pool.conninfo) as conn:
            conn.execute("update procrastinate_jobs set status = 'doing' where args->>'run_id' = %s", (taken.id,))
        runner._recover(startup=False)
        todo = [row[0] for row in jobs(pg_database) if row[4] == "todo"]
        assert sorted(todo) == sorted([lost.id, taken.id, waiting.id])
        assert fresh.id not in todo
        # the dead worker's job is closed: it would hold its bot's lock for ever
        assert [row[4] for row in jobs(pg_database) if row[0] == taken.id] == ["failed", "todo"]
        runner._recover(startup=False)  # again: nothing more (each has its job now)
        assert len(jobs(pg_database)) == 4
    finally:
        runner.app.close()
        runner.history.engine.dispose()


@pytest.mark.postgres
def test_the_console_workers_page_on_a_standby(pg_database: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.distributed.runner import DistributedRunner
    from tests.fixtures.console import console_bots, console_environ, console_settings

    settings = console_settings(tmp_path, users=False, database=pg_database, execution={"backend": "procrastinate"})
    runner = DistributedRunner(settings, bots=console_bots())  # not elected: a standby
    worker = f"{socket.gethostname()}:{os.getpid()}"
    runner.history.renew_process_lease(worker, 30, capabilities="default,ocr")
    run = runner.history.create_run("echo", trigger=Trigger.API)
    runner.history.mark_running(run.id, str(tmp_path), worker)
    client = TestClient(create_app(runner, environ=console_environ()), base_url="http://127.0.0.1:8600")
    try:
        zh = client.get("/workers", headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 200
        assert "执行节点" in zh.text and "备用" in zh.text and "procrastinate" in zh.text
        assert worker in zh.text and f"echo {run.id[:8]} (default)" in zh.text
        assert "可接队列" in zh.text and "default,ocr" in zh.text
        en = client.get("/workers", headers={"Accept-Language": "en"}).text
        assert "Heartbeat lease ends" in en and "standby" in en
    finally:
        client.close()
        runner.app.close()
        runner.history.engine.dispose()

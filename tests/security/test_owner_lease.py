"""Ownership that cannot split (issue 13, item 4), on a moved clock, two runners in one process.

Findings: "a serve frozen for 35 s comes back and schedules beside the new owner (``max_instances``
broken; the heartbeat ignores that its update matched no row)"; "runs of a crashed serve on a
recreated host (new hostname) stay ``running`` forever". The control loops are driven by the tests
(``Runner.upkeep``) so that only the clock decides when a lease ends; the same attack with real
processes and SIGSTOP is ``test_owner_sigstop.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from backroom.schedules.errors import RunnerBusy
from backroom.schedules.history import History, process_owner
from backroom.schedules.runner import Runner
from backroom.schedules.settings import Settings
from backroom.schedules.status import RunStatus
from tests.fixtures.console import CONSOLE_URL
from tests.fixtures.runner import build_settings

T0 = dt.datetime(2031, 3, 4, 9, 0, tzinfo=dt.UTC)  # ahead of the wall clock: APScheduler fires nothing
LEASE = 10.0


def later(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def now() -> list[dt.datetime]:
    return [T0]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """The runners' settings, on SQLite (one writer at a time) and PostgreSQL (row locks)."""
    database = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    return build_settings(
        tmp_path,
        database=database,
        owner_lease=f"{LEASE:.0f}s",
        bots={"echo": {"schedule": "interval: 1h", "misfire_grace": "1h"}},
    )


@pytest.fixture
def runners(monkeypatch: pytest.MonkeyPatch, now: list[dt.datetime]) -> Iterator[Callable[[Settings], Runner]]:
    """Start runners whose control loop does nothing by itself: each test calls ``upkeep``."""
    monkeypatch.setattr(Runner, "_control_loop", lambda self: None)
    started: list[Runner] = []

    def start(settings: Settings) -> Runner:
        runner = Runner(settings, clock=lambda: now[0])
        runner.start(watch=False)
        started.append(runner)
        return runner

    yield start
    for runner in reversed(started):
        runner.shutdown(wait=False)


def echo_runs(history: History) -> list[Any]:
    return history.list_runs(bot="echo", limit=500).runs


def test_a_runner_frozen_past_its_lease_and_taken_over_cannot_enqueue_a_fire(
    settings: Settings, runners: Callable[[Settings], Runner], now: list[dt.datetime]
) -> None:
    a = runners(settings)
    fire = later(-60)
    with pytest.raises(RunnerBusy):  # while A's lease runs, nobody takes over
        runners(settings)
    now[0] = later(LEASE + 1)  # A froze: nothing renewed its lease
    b = runners(settings)
    assert b.lease is not None and a.lease is not None and b.lease.token == a.lease.token + 1
    # A wakes up holding a fire APScheduler handed it before it froze: it queues nothing, records
    # nothing (not even a skip that would claim the fire time), and stops scheduling
    assert a._accept_fires([("echo", [later(-90), fire])]) == []  # a coalesced skip first, then the fire
    assert echo_runs(a.history) == []
    assert not a.owns_job_store and not a.jobs.scheduling
    # the fire is the new owner's to queue, once
    assert [r.scheduled_for for r in b._accept_fires([("echo", [fire])])] == [fire]
    assert a._accept_fires([("echo", [fire, later(-30)])]) == []
    assert [r.scheduled_for for r in echo_runs(a.history)] == [fire]


def test_a_renewal_that_matches_no_row_pauses_scheduling_until_the_other_lease_ends(
    settings: Settings, runners: Callable[[Settings], Runner], now: list[dt.datetime]
) -> None:
    a = runners(settings)
    assert a.owns_job_store and a.jobs.scheduling
    now[0] = later(LEASE + 1)
    b = runners(settings)
    a.upkeep()  # A's heartbeat finds B's token: lost, at once
    assert not a.owns_job_store and not a.jobs.scheduling
    assert a.lease is not None and "another runner" in (a.lease.lost_reason or "")
    now[0] = later(LEASE + 6)
    b.upkeep()  # B renews: its lease runs to LEASE + 16
    a.upkeep()  # A tries to take the lock back and is refused
    assert not a.owns_job_store and b.owns_job_store
    # B stops renewing (frozen or crashed); only once its lease has ended does A take over again
    now[0] = later(LEASE + 15)
    a.upkeep()
    assert not a.owns_job_store
    now[0] = later(LEASE + 17)
    a.upkeep()
    assert a.owns_job_store and a.jobs.scheduling
    assert a.lease is not None and b.lease is not None and a.lease.token == b.lease.token + 1
    b.upkeep()
    assert not b.owns_job_store and not b.jobs.scheduling


def test_health_says_standby_once_the_lock_is_lost(
    settings: Settings, runners: Callable[[Settings], Runner], now: list[dt.datetime]
) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app

    a = runners(settings)
    health = TestClient(create_app(a), base_url=CONSOLE_URL)
    assert health.get("/health").json()["scheduler"] == "running"
    now[0] = later(LEASE + 1)
    runners(settings)
    a.upkeep()
    answer = health.get("/health")
    assert answer.status_code == 503 and answer.json()["scheduler"] == "standby"


def test_backroom_run_holds_a_lease_while_it_supervises(
    settings: Settings, now: list[dt.datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(settings, clock=lambda: now[0])
    leases: list[dict[str, dt.datetime]] = []
    look = _recording(runner.executor.execute, lambda: leases.append(runner.history.process_leases()))
    monkeypatch.setattr(runner.executor, "execute", look)
    run, _ = runner.run_in_foreground("echo", actor="ops")
    assert leases and leases[0].get(process_owner()) == later(LEASE)
    assert run.status == RunStatus.SUCCEEDED


def _recording(function: Callable[..., Any], before: Callable[[], None]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        before()
        return function(*args, **kwargs)

    return wrapped


def test_a_lease_that_cannot_be_renewed_stops_scheduling_when_it_ends(
    settings: Settings, runners: Callable[[Settings], Runner], now: list[dt.datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = runners(settings)

    def unreachable(*_args: Any, **_kwargs: Any) -> bool:
        raise OperationalError("UPDATE backroom_scheduler_owner", {}, Exception("database unreachable"))

    monkeypatch.setattr(a.history, "renew_owner_lock", unreachable)
    now[0] = later(LEASE - 2)
    a.upkeep()  # the lease still runs: keep scheduling, try again soon
    assert a.owns_job_store and a.jobs.scheduling
    now[0] = later(LEASE)
    a.upkeep()
    assert not a.owns_job_store and not a.jobs.scheduling
    assert a.lease is not None and "without a successful renewal" in (a.lease.lost_reason or "")


def test_the_job_store_of_a_runner_that_lost_reads_no_due_jobs_and_writes_nothing(
    settings: Settings, runners: Callable[[Settings], Runner], now: list[dt.datetime]
) -> None:
    a = runners(settings)
    store = a.jobs.store
    assert store is not None
    before = store.job_states()
    now[0] = later(LEASE + 1)
    runners(settings)
    job = store.lookup_job("echo")
    assert job is not None
    job.next_run_time = job.next_run_time + dt.timedelta(days=7)
    store.update_job(job)  # buffered: written on the next read, if A still owned the store
    far_future = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    assert store.get_due_jobs(far_future) == []
    assert store.job_states() == before
    assert not a.owns_job_store


def test_runs_of_an_owner_whose_lease_expired_are_interrupted_whatever_its_host(tmp_path: Any) -> None:
    history = History(f"sqlite:///{tmp_path / 'b.db'}")
    history.renew_process_lease("recreated-host-7f3a:1", LEASE, now=T0)  # crashed; its host is gone
    history.renew_process_lease("other-host:2", LEASE, now=later(5))  # alive elsewhere
    runs = {}
    for owner in ("recreated-host-7f3a:1", "other-host:2", "old-release-host:3"):
        run = history.create_run("echo", trigger="schedule", owner=owner)
        history.update_run(run.id, status=RunStatus.RUNNING)
        runs[owner] = run.id
    changed = history.interrupt_orphans(later(LEASE + 1), startup=False)
    assert {r.id for r in changed} == {runs["recreated-host-7f3a:1"], runs["old-release-host:3"]}
    assert history.get_run(runs["other-host:2"]).status == RunStatus.RUNNING
    gone = history.get_run(runs["recreated-host-7f3a:1"])
    assert gone.status == RunStatus.INTERRUPTED and "recreated-host-7f3a:1" in gone.error
    # the other host's lease runs out in turn
    assert [r.id for r in history.interrupt_orphans(later(16), startup=False)] == [runs["other-host:2"]]


def test_the_fencing_token_only_grows_across_releases(tmp_path: Any) -> None:
    history = History(f"sqlite:///{tmp_path / 'c.db'}")
    first = history.acquire_owner_lock("h:1#a", LEASE, now=T0)
    history.release_owner_lock("h:1#a", first)
    second = history.acquire_owner_lock("h:2#b", LEASE, now=later(1))
    assert second == first + 1
    assert not history.renew_owner_lock("h:1#a", first, LEASE, now=later(2))  # a released owner renews nothing
    third = history.acquire_owner_lock("h:3#c", LEASE, now=later(LEASE + 2))  # h:2 froze past its lease
    assert third == second + 1
    assert not history.renew_owner_lock("h:2#b", second, LEASE, now=later(LEASE + 3))
    assert history.renew_owner_lock("h:3#c", third, LEASE, now=later(LEASE + 3))

"""Intake decisions as a pure function of a clock: grace, coalescing and max_instances, no sleeping."""

from __future__ import annotations

import datetime as dt

from backroom.schedules.intake import COALESCED_KEPT, FirePolicy, QueueFire, SkipFire, decide_fires

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
ECHO = {"echo": FirePolicy("echo", grace=600.0, max_instances=1)}


def test_a_fire_on_time_is_queued() -> None:
    assert decide_fires([("echo", [NOON])], ECHO, {}, now=NOON) == [QueueFire("echo", "echo", NOON)]


def test_grace_is_measured_against_the_clock_given() -> None:
    fire = NOON
    on_the_edge = decide_fires([("echo", [fire])], ECHO, {}, now=fire + dt.timedelta(seconds=600))
    assert on_the_edge == [QueueFire("echo", "echo", fire)]
    too_late = decide_fires([("echo", [fire])], ECHO, {}, now=fire + dt.timedelta(seconds=601))
    assert too_late == [SkipFire("echo", "echo", fire, "missed by 601 s, beyond misfire_grace of 600 s")]


def test_earlier_fires_coalesce_into_the_latest() -> None:
    fires = [NOON - dt.timedelta(minutes=m) for m in (3, 1, 2)]  # out of order on purpose
    decisions = decide_fires([("echo", fires)], ECHO, {}, now=NOON)
    latest = NOON - dt.timedelta(minutes=1)
    assert decisions[-1] == QueueFire("echo", "echo", latest)
    skipped = decisions[:-1]
    assert [d.fire_time for d in skipped] == [NOON - dt.timedelta(minutes=3), NOON - dt.timedelta(minutes=2)]
    assert all(isinstance(d, SkipFire) and d.reason.startswith("coalesced: the fire at") for d in skipped)


def test_beyond_a_hundred_coalesced_fires_the_older_ones_share_one_record() -> None:
    fires = [NOON - dt.timedelta(seconds=s) for s in range(250)]
    decisions = decide_fires([("echo", fires)], ECHO, {}, now=NOON)
    assert len(decisions) == COALESCED_KEPT + 2
    summary, singles = decisions[0], decisions[1:-1]
    assert isinstance(summary, SkipFire) and summary.count == 250 - 1 - COALESCED_KEPT
    assert (summary.fire_time, summary.last) == (fires[-1], NOON - dt.timedelta(seconds=COALESCED_KEPT + 1))
    assert summary.reason.startswith(f"coalesced {summary.count} fires from ")
    assert min(d.fire_time for d in singles) == NOON - dt.timedelta(seconds=COALESCED_KEPT)
    assert all(d.count == 1 for d in singles) and decisions[-1] == QueueFire("echo", "echo", NOON)


def test_max_instances_counts_active_runs_and_this_batch() -> None:
    busy = decide_fires([("echo", [NOON])], ECHO, {"echo": 1}, now=NOON)
    assert busy == [SkipFire("echo", "echo", NOON, "previous run still active (max_instances=1)")]
    two_jobs = {
        "echo:a": FirePolicy("echo", 60.0, max_instances=2),
        "echo:b": FirePolicy("echo", 60.0, max_instances=2),
        "echo:c": FirePolicy("echo", 60.0, max_instances=2),
    }
    decisions = decide_fires([(j, [NOON]) for j in two_jobs], two_jobs, {}, now=NOON)
    assert [type(d).__name__ for d in decisions] == ["QueueFire", "QueueFire", "SkipFire"]


def test_a_late_fire_does_not_use_up_an_instance() -> None:
    policies = {"late": FirePolicy("echo", 60.0), "fresh": FirePolicy("echo", 60.0)}
    now = NOON + dt.timedelta(minutes=5)
    batch = [("late", [NOON]), ("fresh", [now])]
    decisions = decide_fires(batch, policies, {}, now=now)
    assert isinstance(decisions[0], SkipFire) and decisions[1] == QueueFire("fresh", "echo", now)


def test_unknown_jobs_and_empty_fires_are_ignored() -> None:
    assert decide_fires([("gone", [NOON]), ("echo", [])], ECHO, {}, now=NOON) == []


def test_fire_times_are_normalised_to_utc() -> None:
    local = NOON.astimezone(dt.timezone(dt.timedelta(hours=8)))
    [decision] = decide_fires([("echo", [local])], ECHO, {}, now=NOON)
    assert decision.fire_time.tzinfo is dt.UTC and decision.fire_time == NOON

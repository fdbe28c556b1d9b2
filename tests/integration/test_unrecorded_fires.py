"""A runner killed after the job store advanced and before it recorded the fire loses no fire.

APScheduler commits a job's next run time before it announces the fire; ``kill -9`` in between (a
leader killed in a failover) left that fire in no record at all. The next owner finds the fires
between the job's last claimed fire and the store's next run time and hands them to intake.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from backroom.schedules.runner import Runner
from backroom.schedules.settings import Settings
from backroom.schedules.status import RunStatus


def test_fires_the_store_passed_but_history_never_recorded_are_taken_in(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(bots={"echo": {"schedule": "interval: 1h", "misfire_grace": "2h"}})
    first = Runner(settings)
    first.start(schedule=True, watch=False)
    (job_id,) = first.specs
    next_run = dt.datetime.fromtimestamp(first.jobs.store.job_states()[job_id], dt.UTC)
    first.shutdown(wait=True)
    # history's last claimed fire is three intervals before the store's next run time: the two in
    # between were passed by the store and never recorded (the runner died between the two writes)
    last = next_run - dt.timedelta(hours=3)
    assert first.history.record_skipped("echo", "recorded before the crash", job_id=job_id, scheduled_for=last)
    first.history.engine.dispose()

    second = Runner(settings)
    second.start(schedule=True, watch=False)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = second.history.list_runs(bot="echo", limit=10).runs
            if len(runs) >= 3 and not [r for r in runs if r.status in (RunStatus.QUEUED, RunStatus.RUNNING)]:
                break
            time.sleep(0.1)
        by_fire = {r.scheduled_for: r for r in second.history.list_runs(bot="echo", limit=10).runs}
        assert sorted(by_fire) == [last, last + dt.timedelta(hours=1), last + dt.timedelta(hours=2)]
        assert by_fire[last + dt.timedelta(hours=1)].status == RunStatus.SKIPPED  # coalesced
        assert by_fire[last + dt.timedelta(hours=2)].status == RunStatus.SUCCEEDED  # within the grace: ran
    finally:
        second.shutdown(wait=True)
    # the claims now reach the store's next run time: a later start has nothing to add
    assert second.history.last_fire_times()[job_id] == next_run - dt.timedelta(hours=1)
    second.history.engine.dispose()

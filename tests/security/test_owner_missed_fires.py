"""Every missed fire leaves a trace (issue 13, item 5: "missed fires beyond 100 leave no trace").

A runner down for three days with a job every minute comes back to 4,320 missed fires. The 100
latest are recorded one by one, the latest runs, and every older one is counted in one record that
names the range — on a moved clock, without waiting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from backroom.schedules.intake import COALESCED_KEPT
from backroom.schedules.runner import Runner
from backroom.schedules.settings import Settings
from backroom.schedules.status import RunStatus

BACK = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)  # when the runner comes back


def test_three_days_of_missed_fires_are_all_accounted_for(make_settings: Callable[..., Settings]) -> None:
    now = [BACK]
    settings = make_settings(bots={"echo": {"schedule": "interval: 1m", "misfire_grace": "10m"}})
    runner = Runner(settings, clock=lambda: now[0])
    runner._stop.set()  # intake only: nothing is dispatched
    fires = [BACK - dt.timedelta(minutes=m) for m in range(3 * 24 * 60, 0, -1)]
    queued = runner._accept_fires([("echo", fires)])
    assert [r.scheduled_for for r in queued] == [fires[-1]]

    skipped = runner.history.list_runs(bot="echo", status=RunStatus.SKIPPED, limit=500).runs
    singles = [r for r in skipped if not r.counts]
    (summary,) = [r for r in skipped if r.counts]
    assert len(singles) == COALESCED_KEPT
    older = len(fires) - 1 - COALESCED_KEPT
    assert summary.counts == {"fires": older}
    assert summary.scheduled_for == fires[0]
    assert summary.outputs == {"first_fire": fires[0].isoformat(), "last_fire": fires[older - 1].isoformat()}
    assert f"coalesced {older} fires from {fires[0].isoformat()}" in summary.error
    # every fire is the queued run, a record of its own, or inside the summary's count
    assert len(queued) + len(singles) + summary.counts["fires"] == len(fires)

    # a replay of the same batch (a restart before the job store was written) adds nothing
    assert runner._accept_fires([("echo", fires)]) == []
    assert len(runner.history.list_runs(bot="echo", limit=500).runs) == len(skipped) + 1


def test_missed_fires_beyond_the_grace_are_counted_too(make_settings: Callable[..., Settings]) -> None:
    now = [BACK]
    settings = make_settings(bots={"echo": {"schedule": "interval: 1m", "misfire_grace": "10m"}})
    runner = Runner(settings, clock=lambda: now[0])
    runner._stop.set()
    fires = [BACK - dt.timedelta(hours=2, minutes=m) for m in range(300, 0, -1)]
    now[0] = BACK  # the latest fire is two hours late: beyond the grace, so nothing runs
    assert runner._accept_fires([("echo", fires)]) == []
    skipped = runner.history.list_runs(bot="echo", status=RunStatus.SKIPPED, limit=500).runs
    assert sum(r.counts.get("fires", 1) for r in skipped) == len(fires)
    assert any("beyond misfire_grace" in r.error for r in skipped)

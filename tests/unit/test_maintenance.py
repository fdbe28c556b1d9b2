"""The runner's pruning on a moved clock: due once, then every prune_interval; retention per kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from backroom.schedules.history import History
from backroom.schedules.maintenance import Maintenance
from backroom.schedules.outcome import RunOutcome
from backroom.schedules.status import RunStatus
from tests.fixtures.runner import build_settings


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def _finished_run(history: History, settings, queued_at: dt.datetime, status=RunStatus.SUCCEEDED) -> tuple:
    run = history.create_run("echo", trigger="manual")
    folder = settings.runs_path / queued_at.strftime("%Y/%m/%d") / run.id
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / "out.txt").write_text("x")
    history.mark_running(run.id, str(folder))
    if status is not RunStatus.RUNNING:
        history.finish_run(run.id, RunOutcome(status))
    history.update_run(run.id, queued_at=queued_at)
    return run, folder


def test_prunes_when_due_and_again_after_the_interval(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, retention_days=30, audit_retention_days=400, prune_interval="1d")
    history = History(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    clock = Clock(now)
    maintenance = Maintenance(settings, history, clock)
    old, old_folder = _finished_run(history, settings, now - dt.timedelta(days=31))
    kept, kept_folder = _finished_run(history, settings, now - dt.timedelta(days=29))
    active, active_folder = _finished_run(history, settings, now - dt.timedelta(days=60), RunStatus.RUNNING)

    report = maintenance.run_if_due()
    assert report is not None and (report.runs, report.folders) == (1, 1)
    assert history.get_run(old.id) is None and not old_folder.exists()
    assert not old_folder.parent.exists()  # its emptied day folder went too
    assert history.get_run(kept.id) is not None and kept_folder.is_dir()
    assert history.get_run(active.id) is not None and active_folder.is_dir()  # never a run still going
    entry = history.audit_log(limit=1)[0]
    assert (entry.actor, entry.action, entry.detail["runs"]) == ("runner", "prune", 1)

    clock.move(hours=23)
    assert maintenance.run_if_due() is None  # not due yet: nothing looked at
    clock.move(hours=1, days=1)  # `kept` is now 31 days old
    again = maintenance.run_if_due()
    assert again is not None and again.runs == 1 and history.get_run(kept.id) is None


def test_audit_has_its_own_retention_and_an_empty_pass_is_not_audited(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, retention_days=30, audit_retention_days=400)
    history = History(settings.database_url)
    history.audit("alice", "pause", "echo")
    clock = Clock(dt.datetime.now(dt.UTC))
    maintenance = Maintenance(settings, history, clock)
    assert maintenance.prune().audit == 0
    assert [e.action for e in history.audit_log()] == ["pause"]  # nothing pruned, nothing added
    clock.move(days=401)
    report = maintenance.prune()
    assert report.audit == 1
    assert [e.action for e in history.audit_log()] == ["prune"]


def test_a_zero_interval_turns_pruning_off(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, prune_interval="0s")
    maintenance = Maintenance(settings, History(settings.database_url), Clock(dt.datetime.now(dt.UTC)))
    assert maintenance.run_if_due() is None

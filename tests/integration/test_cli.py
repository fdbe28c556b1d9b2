"""The ``backroom`` command as a shell script sees it: output and exit codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

import backroom.schedules.cli
from backroom.schedules.cli import app
from backroom.schedules.history import History

CONFIG = """
database = "sqlite:///{home}/backroom.db"
home = "{home}"
runs_dir = "runs"
bot_modules = ["tests.support.runner_bots"]

[bots.echo]
schedule = "cron: 0 22 * * 1-5"
calendar = "cn-workdays"

[bots.sleeper]
timeout = "1s"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "backroom.toml"
    path.write_text(CONFIG.format(home=tmp_path), encoding="utf-8")
    return path


cli = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(backroom.schedules.cli.console, "width", 250)
    monkeypatch.setattr(backroom.schedules.cli.err_console, "width", 250)


def test_run_succeeds_with_params_and_exit_code_0(config: Path) -> None:
    result = cli.invoke(app, ["run", "echo", "--param", "text=对账", "-p", "repeat=2", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "lines: 2" in result.output
    run = History(f"sqlite:///{config.parent}/backroom.db").list_runs(bot="echo").runs[0]
    assert run.params["text"] == "对账" and run.trigger == "manual"


def test_exit_codes_for_failure_timeout_and_bad_params(config: Path) -> None:
    assert cli.invoke(app, ["run", "failer", "-c", str(config)]).exit_code == 1
    assert cli.invoke(app, ["run", "sleeper", "-p", "seconds=30", "-c", str(config)]).exit_code == 3
    bad = cli.invoke(app, ["run", "echo", "-p", "repeat=many", "-c", str(config)])
    assert bad.exit_code == 2 and "repeat" in bad.output
    assert cli.invoke(app, ["run", "nosuchbot", "-c", str(config)]).exit_code == 2
    assert cli.invoke(app, ["run", "echo", "-p", "novalue", "-c", str(config)]).exit_code == 2


def test_invalid_config_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('bot_modules = ["tests.support.runner_bots"]\n[bots.echo]\nschedule = "cron: 61 * * * *"\n')
    result = cli.invoke(app, ["run", "echo", "-c", str(path)])
    assert result.exit_code == 2
    assert "[bots.echo] schedule" in result.output
    assert not (tmp_path / "var").exists()


def test_check_list_history_show_pause_resume(config: Path) -> None:
    assert cli.invoke(app, ["check", "-c", str(config)]).exit_code == 0
    listing = cli.invoke(app, ["list", "-c", str(config)])
    assert "weekdays at 22:00 Asia/Shanghai, skips public holidays" in listing.output
    cli.invoke(app, ["run", "echo", "-p", "text=hello", "-c", str(config)])
    history = History(f"sqlite:///{config.parent}/backroom.db")
    run_id = history.list_runs(bot="echo").runs[0].id
    shown = cli.invoke(app, ["show", run_id[:8], "-c", str(config)])
    assert shown.exit_code == 0 and "echo: hello" in shown.output and "echo.txt" in shown.output
    assert run_id[:8] in cli.invoke(app, ["history", "-c", str(config)]).output
    assert cli.invoke(app, ["pause", "echo", "-c", str(config)]).exit_code == 0
    assert "paused" in cli.invoke(app, ["list", "-c", str(config)]).output
    assert cli.invoke(app, ["resume", "echo", "-c", str(config)]).exit_code == 0
    assert [a.action for a in history.audit_log()][:3] == ["resume", "pause", "run"]


def test_prune_deletes_old_runs_their_folders_and_is_audited(config: Path) -> None:
    cli.invoke(app, ["run", "echo", "-c", str(config)])
    cli.invoke(app, ["run", "echo", "-p", "text=recent", "-c", str(config)])
    history = History(f"sqlite:///{config.parent}/backroom.db")
    recent, old = history.list_runs(bot="echo").runs
    history.update_run(old.id, queued_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=120))
    assert Path(old.run_dir).is_dir()
    dry = cli.invoke(app, ["prune", "--dry-run", "-c", str(config)])
    assert dry.exit_code == 0 and "1 run(s) older than 90 days would be deleted" in dry.output
    assert history.get_run(old.id) is not None
    result = cli.invoke(app, ["prune", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "pruned 1 run(s) and 1 folder(s)" in result.output
    assert history.get_run(old.id) is None and history.logs(old.id) == []
    assert not Path(old.run_dir).exists()
    assert history.get_run(recent.id) is not None and Path(recent.run_dir).is_dir()  # recent runs stay
    entry = history.audit_log(limit=1)[0]
    assert (entry.action, entry.target, entry.source, entry.detail["runs"]) == ("prune", "history", "cli", 1)


def test_serve_refuses_a_public_address_without_users(config: Path) -> None:
    result = cli.invoke(app, ["serve", "--host", "0.0.0.0", "-c", str(config)])
    assert result.exit_code == 2
    assert "0.0.0.0" in result.output


def test_run_works_beside_a_serving_runner_and_records_through_it(config: Path) -> None:
    """``backroom run`` uses the runner's record path without taking the job store from ``serve``."""
    from backroom.schedules.runner import Runner
    from backroom.schedules.settings import load_settings

    serving = Runner(load_settings(config))
    serving.start(schedule=False, watch=False)
    try:
        result = cli.invoke(app, ["run", "echo", "-p", "text=beside", "-c", str(config)])
    finally:
        serving.shutdown(wait=False)
    assert result.exit_code == 0, result.output
    history = History(f"sqlite:///{config.parent}/backroom.db")
    run = history.list_runs(bot="echo").runs[0]
    assert (run.status, run.trigger, run.params["text"]) == ("succeeded", "manual", "beside")
    assert run.started_at is not None and run.duration_s is not None and history.artifacts(run.id)
    entry = history.audit_log(limit=1)[0]
    assert (entry.action, entry.source, entry.detail["run_id"]) == ("run", "cli", run.id)


def test_a_run_that_left_failed_audits_ends_with_warnings_and_says_what_failed(config: Path) -> None:
    result = cli.invoke(app, ["run", "auditor", "--config", str(config)])
    assert result.exit_code == 0, result.output  # finished its work: not a failure for scripts
    assert "with_warnings" in result.output
    assert "needs attention: 3 failed the audit" in result.output
    run = History(f"sqlite:///{config.parent}/backroom.db").list_runs(bot="auditor").runs[0]
    assert run.status == "with_warnings"
    shown = cli.invoke(app, ["history", "--config", str(config)], env={"LANG": "zh_CN.UTF-8"})
    assert "with_warnings" in shown.output

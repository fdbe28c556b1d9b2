"""``backroom check --online`` against a real RT: the shipped example configuration fits a stock RT
set up as README "Request Tracker" says, and each way it can fail to fit is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import backroom.schedules.cli
from backroom.schedules.cli import app
from tests.realsystems.rt import RequestTracker

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "tickets.toml"


def _config(tmp: Path, rt: RequestTracker, **replace: str) -> Path:
    archive = tmp / "archive"
    archive.mkdir(exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("https://rt.example.cn", rt.url).replace("/mnt/archive/tickets", str(archive))
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "backroom.toml"
    path.write_text(f'database = "sqlite:///{tmp}/backroom.db"\nhome = "{tmp}"\nruns_dir = "runs"\n' + text)
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, rt_server: RequestTracker) -> RequestTracker:
    for name in ("DIALER_TOKEN", "DIALER_WEBHOOK_SECRET", "TICKETS_WECOM_URL"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("RT_TOKEN", rt_server.bot_token)
    monkeypatch.setattr(backroom.schedules.cli.console, "width", 250)
    monkeypatch.setattr(backroom.schedules.cli.err_console, "width", 250)
    return rt_server


def test_the_example_config_fits_a_stock_rt(env: RequestTracker, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--online", "-c", str(_config(tmp_path, env))])
    assert result.exit_code == 0, result.output
    assert "helpdesk: online OK" in result.output
    assert "dialer: not checked" in result.output  # honest: the HTTP dialer cannot check itself yet


def test_each_misfit_is_named(env: RequestTracker, tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        env,
        **{
            'closed_status = "resolved"': 'closed_status = "closed"',
            'queue = "Complaints-Archive"': 'queue = "Archive"',
            'service = ["态度"': 'other = ["其他"]\nservice = ["态度"',
            'account_no = "AccountNo"': 'account_no = "AccountNumber"',
        },
    )
    result = CliRunner().invoke(app, ["check", "--online", "-c", str(path)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "queue 'Archive': RT has no such queue, or the bot's user lacks SeeQueue on it" in out
    assert "status 'closed' is not in queue 'Complaints''s lifecycle 'default'" in out
    assert "custom field 'Category' (Select) lacks the value(s) other" in out
    assert "custom field 'AccountNumber' is not applied to queue 'Complaints'" in out


def test_a_wrong_token_is_found_before_any_run(
    env: RequestTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_TOKEN", "1-1-00000000000000000000")
    result = CliRunner().invoke(app, ["check", "--online", "-c", str(_config(tmp_path, env))])
    assert result.exit_code == 2, result.output
    assert "rejected the token (401" in " ".join(result.output.split())

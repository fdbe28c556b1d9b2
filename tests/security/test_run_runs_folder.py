"""Finding 5: a runs folder that cannot be written failed every run while ``backroom check`` and
``/health`` said all was well. Now ``check`` names it, ``/health`` says degraded, and each run fails at
once with an error naming the folder (instead of leaving the run queued and the error in serve's log)."""

from __future__ import annotations

import os
from pathlib import Path

from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.check import check_settings
from backroom.schedules.discovery import discover
from backroom.schedules.runsdir import runs_folder_problem


def blocked_runs_dir(tmp_path: Path) -> Path:
    """A runs folder that cannot exist: its parent is a file (so this holds for root too)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder's parent should be")
    return blocker / "runs"


def test_run_fails_with_an_error_naming_the_runs_folder(run_harness, tmp_path) -> None:
    runs = blocked_runs_dir(tmp_path)
    harness = run_harness(runs_dir=str(runs))
    run = harness.run("echo")
    assert run.status == "failed"
    assert str(runs) in run.error and ("not writable" in run.error or "cannot be made" in run.error)


def test_check_reports_a_runs_folder_that_cannot_be_written(run_harness, tmp_path) -> None:
    runs = blocked_runs_dir(tmp_path)
    settings = run_harness(runs_dir=str(runs)).settings
    problems = check_settings(settings, discover(settings.bot_modules), SecretResolver(environ={}))
    found = [str(p) for p in problems if p.location == "runs_dir"]
    assert len(found) == 1 and str(runs) in found[0]


def test_check_accepts_a_runs_folder_still_to_be_made(run_harness, tmp_path) -> None:
    settings = run_harness(runs_dir=str(tmp_path / "var" / "runs")).settings
    problems = check_settings(settings, discover(settings.bot_modules), SecretResolver(environ={}))
    assert not [p for p in problems if p.location == "runs_dir"]
    assert not (tmp_path / "var").exists()  # the check made nothing


def test_health_is_degraded_when_runs_cannot_write(run_harness, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    good = run_harness()
    client = TestClient(create_app(Runner(good.settings), environ={}), base_url="http://127.0.0.1:8600")
    ok = client.get("/health")
    assert ok.status_code == 200 and ok.json()["runs_folder"] == "ok"

    bad = run_harness(runs_dir=str(blocked_runs_dir(tmp_path)))
    client = TestClient(create_app(Runner(bad.settings), environ={}), base_url="http://127.0.0.1:8600")
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded" and response.json()["runs_folder"] == "error: not writable"


def _problem_as_unprivileged_user(runs: Path) -> str | None:
    """``runs_folder_problem(runs)`` seen by a user the folder's permission bits refuse: this user when it
    is not root, else ``nobody`` in a forked child (permission bits do not stop root)."""
    if os.geteuid() != 0:
        return runs_folder_problem(runs)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, look, report, leave without running any cleanup
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, (runs_folder_problem(runs) or "").encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        text = answer.read().decode()
    os.waitpid(pid, 0)
    return text or None


def test_read_only_runs_folder_is_a_problem() -> None:
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="backroom-runs-"))  # pytest's own tmp folders are root's alone
    home.chmod(0o755)  # the unprivileged user may reach the runs folder, not write in it
    runs = home / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        problem = _problem_as_unprivileged_user(runs)
        assert problem is not None and str(runs) in problem and "not writable" in problem
    finally:
        runs.chmod(0o700)
        shutil.rmtree(home)


def test_writable_runs_folder_is_no_problem(tmp_path) -> None:
    assert runs_folder_problem(tmp_path) is None
    assert runs_folder_problem(tmp_path / "a" / "b") is None
    assert list(tmp_path.iterdir()) == []  # the probe left nothing behind

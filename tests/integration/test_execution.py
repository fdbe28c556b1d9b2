"""One run in a child process: every way a run can end is recorded as it happened."""

from __future__ import annotations

import os
import threading
import time

import pytest

from backroom.schedules.dispatch import run_and_record
from backroom.schedules.execution import ProcessExecutor
from backroom.schedules.history import History
from tests.fixtures.runner import build_settings


@pytest.fixture
def env(tmp_path, monkeypatch):
    settings = build_settings(
        tmp_path,
        systems={"helpdesk": {"kind": "rt-rest", "url": "http://127.0.0.1:1", "token": "env:RUNNER_TEST_TOKEN"}},
        bots={"sleeper": {"timeout": "2s"}, "needs_secret": {"config": {"system": "helpdesk"}}},
    )
    from backroom.schedules.discovery import discover

    history = History(settings.database_url)
    executor = ProcessExecutor(settings, discover(settings.bot_modules))
    return settings, history, executor


def run(env, bot, params=None):
    _, history, executor = env
    record = history.create_run(bot, trigger="manual", params=params or {})
    outcome = run_and_record(history, executor, record)
    return history.get_run(record.id), outcome


def test_success_records_logs_progress_artifacts_and_result(env) -> None:
    record, _ = run(env, "echo", {"text": "你好", "repeat": 3})
    history = env[1]
    assert record.status == "succeeded"
    assert record.summary == "echoed '你好'"
    assert record.counts == {"lines": 3}
    assert record.progress == {"label": "echoing", "done": 3, "total": 3}
    assert record.duration_s is not None and record.started_at <= record.finished_at
    messages = [line.message for line in history.logs(record.id)]
    assert messages.count("echo: 你好") == 3
    assert [a.name for a in history.artifacts(record.id)] == ["echo.txt"]


def test_exception_is_recorded_failed_with_traceback(env) -> None:
    record, _ = run(env, "failer")
    assert record.status == "failed"
    assert record.error == "ValueError: the ledger total does not add up"
    assert "runner_bots.py" in record.traceback


def test_segfault_is_recorded_and_runner_survives(env) -> None:
    record, _ = run(env, "crasher")
    assert record.status == "failed"
    assert "SIGSEGV" in record.error
    again, _ = run(env, "echo")
    assert again.status == "succeeded"


def test_hanging_bot_is_killed_at_timeout(env) -> None:
    started = time.monotonic()
    record, _ = run(env, "sleeper", {"seconds": 60})
    assert record.status == "timed_out"
    assert time.monotonic() - started < 10
    pid = int((__import__("pathlib").Path(record.run_dir) / "artifacts" / "pid").read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert run(env, "echo")[0].status == "succeeded"


def test_cancel_kills_a_bot_that_ignores_it(env, monkeypatch) -> None:
    monkeypatch.setattr("backroom.schedules.execution.CANCEL_GRACE_S", 0.3)
    _, history, executor = env
    record = history.create_run("sleeper", trigger="manual", params={"seconds": 60})
    result = {}
    thread = threading.Thread(target=lambda: result.update(o=run_and_record(history, executor, record)))
    thread.start()
    deadline = time.monotonic() + 10
    while history.get_run(record.id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    history.request_cancel(record.id)
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert history.get_run(record.id).status == "cancelled"


def test_missing_secret_fails_before_the_bot_starts(env, monkeypatch) -> None:
    monkeypatch.delenv("RUNNER_TEST_TOKEN", raising=False)
    record, _ = run(env, "needs_secret")
    history = env[1]
    assert record.status == "failed"
    assert "secret 'env:RUNNER_TEST_TOKEN' is not set" in record.error
    assert not any("needs_secret started" in line.message for line in history.logs(record.id))


def test_secret_values_never_reach_history(env, monkeypatch) -> None:
    monkeypatch.setenv("RUNNER_TEST_TOKEN", "tok-9f8e7d6c5b")
    record, _ = run(env, "needs_secret")
    history = env[1]
    stored = " ".join([record.error or "", record.traceback or ""] + [x.message for x in history.logs(record.id)])
    assert "tok-9f8e7d6c5b" not in stored
    assert "refused with token ***" in record.error


class ListSink:
    """A RunSink that keeps what it is given, to show execute() writes nothing itself."""

    def __init__(self) -> None:
        self.lines: list = []
        self.progress: list = []

    def append_logs(self, run_id, lines) -> None:
        self.lines.extend(lines)

    def set_progress(self, run_id, progress) -> None:
        self.progress.append(progress)

    def cancel_requested(self, run_id) -> bool:
        return False


def test_execute_returns_one_frozen_outcome_and_writes_no_history(env, tmp_path) -> None:
    import dataclasses

    from backroom.schedules.status import RunStatus

    _, history, executor = env
    record = history.create_run("echo", trigger="manual", params={"text": "x", "repeat": 2})
    sink = ListSink()
    outcome = executor.execute(record, tmp_path / "run", sink)
    assert outcome.status is RunStatus.SUCCEEDED and outcome.counts == {"lines": 2}
    assert [a.name for a in outcome.artifacts] == ["echo.txt"]
    assert outcome.progress == {"label": "echoing", "done": 2, "total": 2}
    told = [line.message for line in [*sink.lines, *outcome.logs]]
    assert told.count("echo: x") == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.status = RunStatus.FAILED  # type: ignore[misc]
    stored = history.get_run(record.id)
    assert stored.status == "queued" and stored.started_at is None and history.logs(record.id) == []

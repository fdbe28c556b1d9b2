"""Run history and scheduling on PostgreSQL, as in production."""

from __future__ import annotations

import time

import pytest

from backroom.schedules.runner import Runner
from tests.fixtures.runner import build_settings


@pytest.mark.postgres
def test_runs_and_schedules_on_postgres(tmp_path, pg_schema_url) -> None:
    settings = build_settings(
        tmp_path, database=pg_schema_url, bots={"echo": {"schedule": "interval: 1s", "params": {"text": "pg"}}}
    )
    runner = Runner(settings)
    runner.start(watch=False)
    try:
        manual = runner.trigger("echo", {"text": "手动"}, actor="finance")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = runner.history.list_runs(bot="echo", status="succeeded").runs
            if any(r.trigger == "schedule" for r in done) and any(r.id == manual.id for r in done):
                break
            time.sleep(0.2)
        run = runner.history.get_run(manual.id)
        assert run.status == "succeeded" and run.params["text"] == "手动"
        assert run.queued_at.tzinfo is not None
        assert any(line.message == "echo: 手动" for line in runner.history.logs(run.id))
        assert any(r.trigger == "schedule" for r in runner.history.list_runs(bot="echo").runs)
        page = runner.history.list_runs(limit=1)
        assert page.next_cursor is not None
        assert runner.history.list_runs(limit=1, cursor=page.next_cursor).runs[0].id != page.runs[0].id
    finally:
        runner.shutdown()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_last_runs_are_the_newest_non_skipped_per_bot(tmp_path, request, backend) -> None:
    import datetime as dt

    from backroom.schedules.history import History

    url = f"sqlite:///{tmp_path / 'h.db'}" if backend == "sqlite" else request.getfixturevalue("pg_schema_url")
    history = History(url)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    made = {}
    for minute, (bot, status) in enumerate(
        [("a", "succeeded"), ("b", "failed"), ("a", "failed"), ("a", "skipped"), ("c", "skipped"), ("o'q", "failed")]
    ):
        run = history.create_run(bot, trigger="api", status=status)
        history.update_run(run.id, queued_at=base + dt.timedelta(minutes=minute))
        made[(bot, status)] = run.id
    newest = {bot: run.id for bot, run in history.last_runs(["a", "b", "c", "d", "o'q", "a"]).items()}
    assert newest == {"a": made[("a", "failed")], "b": made[("b", "failed")], "o'q": made[("o'q", "failed")]}
    assert history.last_runs([]) == {}

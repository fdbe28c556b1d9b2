"""Run history and scheduling on PostgreSQL, as in production."""

from __future__ import annotations

import time

import pytest

from schedules.runner import Runner
from tests.fixtures.runner import build_settings

pytestmark = pytest.mark.postgres


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

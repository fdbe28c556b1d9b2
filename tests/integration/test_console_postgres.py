"""The console's queries on PostgreSQL: run list filters and cursors, the home page, metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.console import console_bots, console_environ, console_settings, token_of

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_console(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A console on a runner (not started) whose history is a fresh PostgreSQL database of its own."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    name = "backroom_console_test"
    admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    home: Path = tmp_path_factory.mktemp("console-pg")
    runner = Runner(console_settings(home, database=url), bots=console_bots())
    client = TestClient(create_app(runner, environ=console_environ()), base_url="http://127.0.0.1:8600")
    client.headers["Authorization"] = f"Bearer {token_of('ada')}"
    try:
        yield runner, client
    finally:
        client.close()
        runner.history.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_run_list_home_and_metrics_on_postgres(pg_console: tuple) -> None:
    from backroom.schedules.outcome import RunOutcome
    from backroom.schedules.status import RunStatus

    runner, client = pg_console
    history = runner.history
    made = {}
    for bot, status in [
        ("echo", "succeeded"),
        ("failer", "failed"),
        ("echo", "failed"),
        ("ticker", "succeeded"),
        ("echo", "skipped"),
    ]:
        run = history.create_run(bot, trigger="api", status="queued")
        history.mark_running(run.id, "/nonexistent")
        history.finish_run(run.id, RunOutcome(RunStatus(status)))
        made.setdefault(bot, []).append(run.id)

    page = client.get("/api/v1/runs", params={"limit": 2}).json()
    assert [r["id"] for r in page["runs"]] == [made["echo"][2], made["ticker"][0]]
    rest = client.get("/api/v1/runs", params={"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [r["id"] for r in rest["runs"]] == [made["echo"][1], made["failer"][0], made["echo"][0]]
    failed = client.get("/api/v1/runs", params={"status": ["failed", "timed_out"]}).json()["runs"]
    assert {r["id"] for r in failed} == {made["failer"][0], made["echo"][1]}
    today = dt.datetime.now(runner.settings.zone).date()
    assert len(client.get("/api/v1/runs", params={"day": today.isoformat()}).json()["runs"]) == 5

    bots = {b["name"]: b for b in client.get("/api/v1/bots").json()}
    assert bots["echo"]["last_run"]["id"] == made["echo"][1]  # the skipped one is not a "last run"
    assert bots["noop"]["last_run"] is None
    from backroom.schedules.console.views import bot_rows

    rows = bot_rows(runner)
    assert [r.name for r in rows][:2] == ["echo", "failer"]  # failures first (last run failed)
    assert next(r for r in rows if r.name == "echo").finished == 2  # skipped runs do not count
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    runs = {
        (s.labels["bot"], s.labels["status"]): s.value
        for s in families["backroom_runs"].samples
        if s.name == "backroom_runs_total"
    }
    assert runs[("echo", "failed")] == 1 and runs[("echo", "skipped")] == 1
    counts = [s for s in families["backroom_run_duration_seconds"].samples if s.name.endswith("_count")]
    assert {s.labels["bot"]: s.value for s in counts}["echo"] == 3
    assert client.get("/health").json()["database"] == "ok"

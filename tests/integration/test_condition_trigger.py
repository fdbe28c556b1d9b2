"""Condition triggers: a SQL query on real PostgreSQL and an HTTP JSON endpoint, evaluated on a moved clock.

Runs are queued through a runner that is not started (nothing executes them): what is checked is
which runs the conditions queue, with which parameters, and what each evaluation leaves visible.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from backroom.schedules.check import check_settings
from backroom.schedules.conditions import ConditionWatcher
from backroom.schedules.history import History
from backroom.schedules.runner import Runner
from backroom.schedules.status import Trigger
from tests.fixtures.runner import build_settings

T0 = dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _setup(tmp_path: Path, when: dict[str, Any], system: dict[str, Any]) -> tuple[Runner, ConditionWatcher, Clock]:
    settings = build_settings(
        tmp_path,
        bot_modules=["tests.support.trigger_bots"],
        systems={"src": system},
        bots={"conditioned": {"when": when}},
    )
    runner = Runner(settings)
    runner._stop.set()  # runs are recorded and queued, never executed
    clock = Clock()
    watcher = ConditionWatcher(settings, runner.history, runner._submit_event(Trigger.CONDITION), clock=clock)
    return runner, watcher, clock


def _runs(history: History) -> list[Any]:
    return list(reversed(history.list_runs(bot="conditioned", limit=100).runs))


def _tick(watcher: ConditionWatcher, clock: Clock, seconds: float = 60) -> list[Any]:
    clock.advance(seconds)
    return watcher.poll_once()


# -- SQL on PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture
def complaints(pg_schema_url: str) -> Iterator[Any]:
    engine = create_engine(pg_schema_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE complaints (id integer PRIMARY KEY, opened_at timestamptz NOT NULL)"))
    try:
        yield engine
    finally:
        engine.dispose()


def _open(engine: Any, *ids: int, hours_ago: int = 50) -> None:
    with engine.begin() as conn:
        for i in ids:
            conn.execute(
                text("INSERT INTO complaints VALUES (:id, now() - make_interval(hours => :h))"),
                {"id": i, "h": hours_ago},
            )


def _close(engine: Any, *ids: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM complaints WHERE id = ANY(:ids)"), {"ids": list(ids)})


OLD = "SELECT count(*) AS n FROM complaints WHERE opened_at < now() - interval '48 hours' HAVING count(*) > 2"


def test_sql_condition_starts_once_on_the_rise_and_again_only_after_a_fall(
    tmp_path: Path, pg_schema_url: str, complaints: Any
) -> None:
    when = {"system": "src", "sql": OLD, "every": "1m", "params": {"count": "n"}}
    runner, watcher, clock = _setup(tmp_path, when, {"kind": "sql", "url": pg_schema_url})

    assert watcher.poll_once() == []  # nothing old yet: HAVING leaves no row
    state = runner.history.condition_state("conditioned")
    assert state.holds is False and state.evaluated_at == T0 and state.error is None
    _open(complaints, 1, 2, 3)
    _open(complaints, 9, hours_ago=1)  # too young to count
    assert watcher.poll_once() == []  # not due: `every` has not passed on the clock
    (run,) = _tick(watcher, clock)
    assert run.trigger == "condition" and run.params["count"] == 3
    assert _tick(watcher, clock) == []  # still holds: level, not edge
    restarted = ConditionWatcher(
        watcher.settings, History(watcher.settings.database_url), watcher.submit, clock=clock
    )  # a restart while it holds starts nothing
    assert _tick(restarted, clock) == []

    _close(complaints, 1)
    assert _tick(watcher, clock) == []  # falls (2 old ones)
    assert runner.history.condition_state("conditioned").holds is False
    _open(complaints, 4, 5)
    (again,) = _tick(watcher, clock)
    assert again.params["count"] == 4
    assert [r.id for r in _runs(runner.history)] == [run.id, again.id]
    state = runner.history.condition_state("conditioned")
    assert state.run_id == again.id and state.started_at == clock.now and state.value["value"] == 4


def test_sql_condition_key_and_cooldown(tmp_path: Path, pg_schema_url: str, complaints: Any) -> None:
    when = {
        "system": "src",
        "sql": "SELECT id FROM complaints WHERE opened_at < now() - interval '48 hours' ORDER BY id",
        "key": ["id"],
        "params": {"ids": "id[]", "count": "count"},
        "every": "1m",
        "cooldown": "1h",
    }
    runner, watcher, clock = _setup(tmp_path, when, {"kind": "sql", "url": pg_schema_url})
    _open(complaints, 1, 2)
    (first,) = watcher.poll_once()
    assert first.params == {"ids": [1, 2], "count": 2, "rate": None}
    _close(complaints, 1, 2)
    assert _tick(watcher, clock) == []
    _open(complaints, 1, 2)
    assert _tick(watcher, clock) == []  # the same ids again: the key says it was already handled
    _open(complaints, 3)
    assert _tick(watcher, clock) == []  # new ids, but within the cool-down
    assert "cooling_down_until" in runner.history.condition_state("conditioned").value
    clock.advance(3600)
    (second,) = watcher.poll_once()  # the held-back start happens once the cool-down is over
    assert second.params["ids"] == [1, 2, 3]
    assert len(_runs(runner.history)) == 2


# -- HTTP JSON ------------------------------------------------------------------------------------------
class _Endpoint:
    """A JSON endpoint on loopback whose answer the test sets."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(endpoint.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, data: Any, status: int = 200) -> None:
        self.status, self.body = status, (data if isinstance(data, bytes) else json.dumps(data).encode())


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    served = _Endpoint()
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_http_condition_starts_on_crossing_a_threshold_and_errors_are_no_edge(
    tmp_path: Path, endpoint: _Endpoint
) -> None:
    when = {
        "system": "src",
        "get": "/stats",
        "select": "$.queues[?(@.name == 'hotline')].abandonment_rate",
        "above": 0.08,
        "params": {"rate": "value"},
        "every": "30s",
    }
    runner, watcher, clock = _setup(tmp_path, when, {"kind": "http", "url": endpoint.url, "retries": 0})

    def rate(value: float) -> None:
        endpoint.answer(
            {"queues": [{"name": "sales", "abandonment_rate": 0.5}, {"name": "hotline", "abandonment_rate": value}]}
        )

    rate(0.05)
    assert watcher.poll_once() == []
    rate(0.09)
    (run,) = _tick(watcher, clock, 30)
    assert run.params["rate"] == 0.09
    rate(0.10)
    assert _tick(watcher, clock, 30) == []
    endpoint.answer({"error": "maintenance"}, status=503)  # an outage is not a fall
    assert _tick(watcher, clock, 30) == []
    assert "503" in runner.history.condition_state("conditioned").error
    endpoint.answer(b"<html>login</html>")  # a 200 that is not JSON is an error too
    assert _tick(watcher, clock, 30) == []
    assert "not with JSON" in runner.history.condition_state("conditioned").error
    rate(0.10)
    assert _tick(watcher, clock, 30) == []  # still holding after the outage: no second start
    assert runner.history.condition_state("conditioned").error is None
    rate(0.07)
    assert _tick(watcher, clock, 30) == []
    rate(0.085)
    (again,) = _tick(watcher, clock, 30)
    assert again.params["rate"] == 0.085
    assert len(_runs(runner.history)) == 2


def test_check_validates_condition_system_and_syntax(tmp_path: Path) -> None:
    from backroom.schedules.discovery import discover

    settings = build_settings(
        tmp_path,
        bot_modules=["tests.support.trigger_bots"],
        systems={"db": {"kind": "sql", "url": "sqlite://"}, "api": {"kind": "http", "url": "http://127.0.0.1:1"}},
        bots={
            "conditioned": {
                "when": {"system": "api", "sql": "DELETE FROM complaints", "params": {"nope": "n"}},
            }
        },
    )
    problems = [str(p) for p in check_settings(settings, discover(settings.bot_modules))]
    assert any("[bots.conditioned.when] system: an SQL condition needs a system of kind 'sql'" in p for p in problems)
    assert any("[bots.conditioned.when] sql: must be one SELECT" in p for p in problems)
    assert any("[bots.conditioned.when] params: bot has no parameter 'nope'" in p for p in problems)

    settings.bots["conditioned"].when = type(settings.bots["conditioned"].when)(
        system="api", get="/x", select="$.items[?(@.id >"
    )
    problems = [str(p) for p in check_settings(settings, discover(settings.bot_modules))]
    assert any("[bots.conditioned.when] select: not a JSONPath expression" in p for p in problems)
    settings.bots["conditioned"].when = type(settings.bots["conditioned"].when)(system="gone", sql="SELECT 1")
    problems = [str(p) for p in check_settings(settings, discover(settings.bot_modules))]
    assert any("unknown system 'gone'" in p for p in problems)


def test_unknown_system_is_recorded_as_the_evaluation_error(tmp_path: Path) -> None:
    runner, watcher, _ = _setup(tmp_path, {"system": "src", "sql": "SELECT 1"}, {"kind": "sql", "url": "sqlite://"})
    watcher.settings.systems.clear()
    assert watcher.poll_once() == []
    assert "ConfigError: system 'src' is not configured" in runner.history.condition_state("conditioned").error


def test_bot_page_shows_the_last_evaluation_and_start(tmp_path: Path, endpoint: _Endpoint) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from tests.fixtures.console import CONSOLE_URL

    when = {"system": "src", "get": "/stats", "select": "$.open", "above": 20, "params": {"count": "value"}}
    runner, watcher, _ = _setup(tmp_path, when, {"kind": "http", "url": endpoint.url, "retries": 0})
    client = TestClient(create_app(runner, environ={}), base_url=CONSOLE_URL)
    assert "not evaluated yet" in client.get("/bots/conditioned").text
    endpoint.answer({"open": 23})
    assert len(watcher.poll_once()) == 1
    line = client.get("/bots/conditioned").text.split('id="condition"')[1].split("</p>")[0]
    assert "holds" in line and ">23<" in line and "never" not in line
    zh = client.get("/bots/conditioned", headers={"Accept-Language": "zh-CN"}).text
    assert "触发条件" in zh and "成立" in zh


def test_online_check_evaluates_once_and_starts_nothing(tmp_path: Path, endpoint: _Endpoint) -> None:
    from backroom.schedules.check import online_trigger_checks

    when = {"system": "src", "get": "/stats", "select": "$.open", "above": 20}
    runner, watcher, _ = _setup(tmp_path, when, {"kind": "http", "url": endpoint.url, "retries": 0})
    endpoint.answer({"open": 25})
    assert online_trigger_checks(watcher.settings) == [
        ("bots.conditioned.when", "holds: 1 row(s), first value 25", True)
    ]
    endpoint.answer({"error": "down"}, status=500)
    ((where, found, ok),) = online_trigger_checks(watcher.settings)
    assert where == "bots.conditioned.when" and not ok and "500" in found
    assert _runs(runner.history) == [] and runner.history.condition_state("conditioned") is None


def test_metric_condition_reads_the_latest_interval_of_the_metrics_store(tmp_path: Path) -> None:
    from backroom.bots.metrics.store import Store
    from backroom.bots.systems.metric_sources.base import Sample, dims_key

    when = {"metric": "abandonment_rate", "dims": {"queue": "热线"}, "above": 0.08, "params": {"rate": "value"}}
    settings = build_settings(
        tmp_path, bot_modules=["tests.support.trigger_bots"], bots={"conditioned": {"when": when}}
    )
    runner = Runner(settings)
    runner._stop.set()
    clock = Clock()
    watcher = ConditionWatcher(settings, runner.history, runner._submit_event(Trigger.CONDITION), clock=clock)
    store = Store(runner.history.engine)

    def pulled(minute: int, hotline: float) -> None:
        start = T0 + dt.timedelta(minutes=15 * minute)
        samples = [
            Sample("abandonment_rate", dims_key({"queue": "热线"}), start, 900, hotline),
            Sample("abandonment_rate", dims_key({"queue": "销售"}), start, 900, 0.5),  # another queue: not this one
        ]
        store.replace("dialer", samples, start)

    assert watcher.poll_once() == []  # no sample yet: does not hold
    pulled(0, 0.05)
    assert _tick(watcher, clock) == []
    pulled(1, 0.09)
    (run,) = _tick(watcher, clock)
    assert run.params["rate"] == 0.09
    pulled(2, 0.12)
    assert _tick(watcher, clock) == []  # still above: no second start
    pulled(3, 0.06)
    assert _tick(watcher, clock) == []
    pulled(4, 0.081)
    (again,) = _tick(watcher, clock)
    assert again.params["rate"] == 0.081
    state = runner.history.condition_state("conditioned")
    assert state.value["value"] == 0.081 and state.run_id == again.id


def test_a_condition_query_only_reads(tmp_path: Path, pg_schema_url: str, complaints: Any) -> None:
    sneaky = "WITH gone AS (DELETE FROM complaints RETURNING id) SELECT count(*) FROM gone"
    runner, watcher, _ = _setup(tmp_path, {"system": "src", "sql": sneaky}, {"kind": "sql", "url": pg_schema_url})
    _open(complaints, 1)
    assert watcher.poll_once() == []
    assert "read-only transaction" in runner.history.condition_state("conditioned").error
    watcher.settings.bots["conditioned"].when.sql = "SELECT 1; DELETE FROM complaints"
    watcher.evaluate_bot("conditioned", watcher.settings.bots["conditioned"].when, force=True)
    assert "single statement" in runner.history.condition_state("conditioned").error
    with complaints.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM complaints")) == 1


def test_a_paused_bot_or_a_runner_without_the_job_store_starts_nothing(tmp_path: Path, endpoint: _Endpoint) -> None:
    when = {"system": "src", "get": "/stats", "select": "$.open", "above": 20}
    runner, watcher, _ = _setup(tmp_path, when, {"kind": "http", "url": endpoint.url, "retries": 0})
    endpoint.answer({"open": 25})
    assert runner._event_paused("conditioned")  # not started: it does not own the job store
    watcher.is_paused = runner._event_paused
    assert watcher.poll_once() == [] and runner.history.condition_state("conditioned") is None
    watcher.is_paused = lambda bot: False
    assert len(watcher.poll_once()) == 1

"""The console's query and body inputs, fed the values the security review used to get 500s and wildcards.

Findings (issue 13, item 5): ``until=0001-01-01`` and a 100,000-deep JSON field gave 500s; ``%`` and ``_``
in a run-id prefix matched arbitrary runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backroom.bots import Params
from backroom.schedules.console.forms import form_fields, form_to_params
from backroom.schedules.console.schemas import MAX_JSON_DEPTH, json_depth
from backroom.schedules.status import RunStatus
from tests.fixtures.console import CONSOLE_URL, ConsoleHarness, token_of

DEEP = 100_000


@pytest.fixture
def api(console_harness: ConsoleHarness) -> Iterator[TestClient]:
    """The operator's API client; server errors come back as 500 responses instead of raising."""
    client = TestClient(console_harness.app, base_url=CONSOLE_URL, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token_of('otto')}"
    yield client


@pytest.mark.parametrize(
    "query",
    [
        "until=0001-01-01",
        "since=0001-01-01",
        "since=0001-01-01T00:00:00%2B14:00",
        "until=0001-01-01T00:00:00-00:00&since=0001-01-01T03:00:00%2B08:00",
    ],
)
def test_until_year_one_is_a_422_naming_the_field_not_a_500(api: TestClient, query: str) -> None:
    response = api.get(f"/api/v1/runs?{query}")
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields & {"since", "until"}
    assert api.get("/api/v1/runs?until=9999-12-31T23:59:59").status_code == 200


def test_a_100000_deep_json_param_is_a_4xx_and_queues_nothing(api: TestClient, console_harness: ConsoleHarness) -> None:
    before = len(console_harness.runner.history.list_runs(bot="echo", limit=500).runs)
    headers = {"Content-Type": "application/json"}
    too_deep_to_parse = '{"params": {"text": ' + "[" * DEEP + "]" * DEEP + "}}"
    response = api.post("/api/v1/bots/echo/runs", content=too_deep_to_parse, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    parses_but_too_deep = '{"params": {"text": ' + "[" * (MAX_JSON_DEPTH + 10) + "]" * (MAX_JSON_DEPTH + 10) + "}}"
    response = api.post("/api/v1/bots/echo/runs", content=parses_but_too_deep, headers=headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["params"]
    assert "levels deep" in response.json()["errors"][0]["message"]
    assert len(console_harness.runner.history.list_runs(bot="echo", limit=500).runs) == before


class JsonParams(Params):
    """A bot parameter the Run-now form shows as a JSON box."""

    mapping: dict[str, Any] = {}


def test_a_100000_deep_json_form_field_is_a_field_error_not_a_500() -> None:
    fields = form_fields(JsonParams.model_json_schema())
    assert [f.widget for f in fields] == ["json"]
    params, errors = form_to_params(fields, {"mapping": "[" * DEEP + "]" * DEEP})
    assert params == {} and "levels deep" in errors["mapping"]
    nested = '{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    params, errors = form_to_params(fields, {"mapping": nested})
    assert params == {} and "levels deep" in errors["mapping"]
    params, errors = form_to_params(fields, {"mapping": '{"a": {"b": [1, 2]}}'})
    assert params == {"mapping": {"a": {"b": [1, 2]}}} and errors == {}


def test_json_depth_counts_without_recursing() -> None:
    assert json_depth(1) == 0 and json_depth({}) == 1 and json_depth({"a": [1, {"b": []}]}) == 4
    value: Any = []
    for _ in range(DEEP):
        value = [value]
    assert json_depth(value) == MAX_JSON_DEPTH + 1  # stops counting past the limit


@pytest.mark.parametrize("prefix", ["______", "%%%%%%", "%_%_%_", "0%", "abc%__"])
def test_wildcards_in_a_run_id_prefix_match_no_run(
    api: TestClient, console_harness: ConsoleHarness, prefix: str
) -> None:
    history = console_harness.runner.history
    run = history.create_run("echo", trigger="api", status=RunStatus.SKIPPED, error="a run to find")
    pattern = prefix if len(prefix) >= 6 else prefix + "_" * (6 - len(prefix))
    assert history.get_run(pattern) is None
    assert api.get(f"/api/v1/runs/{pattern.replace('%', '%25')}").status_code == 404
    # the literal prefix still finds it
    assert history.get_run(run.id[:8]).id == run.id
    assert api.get(f"/api/v1/runs/{run.id[:8]}").json()["id"] == run.id


def test_a_prefix_two_runs_share_finds_neither(console_harness: ConsoleHarness) -> None:
    history = console_harness.runner.history
    first = history.create_run("echo", trigger="api", status=RunStatus.SKIPPED, error="twin")
    second = history.create_run("echo", trigger="api", status=RunStatus.SKIPPED, error="twin")
    shared = "feedbeef0000"
    history.update_run(first.id, id=shared + first.id[12:])
    history.update_run(second.id, id=shared + second.id[12:])
    assert history.get_run(shared) is None
    assert history.get_run(shared + first.id[12:20]).error == "twin"

"""Fuzz the console API from its own OpenAPI schema (schemathesis): no request may cause a 500, and
every answer must match what the schema promises. Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.fixtures.console import console_bots, console_environ, console_settings, token_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The console on a runner that is never started: triggers queue runs, nothing executes."""
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    home: Path = tmp_path_factory.mktemp("console-fuzz")
    settings = console_settings(home)
    settings.console.allowed_hosts.append("testserver")  # the host name schemathesis's ASGI client sends
    runner = Runner(settings, bots=console_bots())
    done = runner.history.create_run("echo", trigger="api", status="succeeded", params={"text": "x"})
    runner.history.audit("ada", "trigger", "echo", detail={"run_id": done.id})
    yield create_app(runner, environ=console_environ())


@pytest.fixture(scope="module")
def api_schema(fuzz_app: object) -> object:
    return schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app).exclude(path_regex=r".*/events$")


def test_api_survives_fuzzing(api_schema: object) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token_of('ada')}"},
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
            )

        fuzz()

"""Finding 5: redaction missed ``Result.summary/outputs/counts``, the progress label, URL-encoded and
base64 forms, and the bot's stdout. Now everything a run writes passes the run's redactor — in the
run's process and again in the supervisor — in every encoded form, with personal data masked."""

from __future__ import annotations

import base64
import datetime as dt
import pickle
from urllib.parse import quote

import pytest

from backroom.schedules.execution import read_message
from backroom.schedules.pipe import Failed, Finished, LogLine, Progress
from backroom.schedules.scrub import scrub_message
from tests.support.run_security_bots import MOBILE

TOKEN = "s3cr+t/t0ken=value"  # characters that URL- and base64-encoding change


def leaked_forms() -> list[str]:
    basic = base64.b64encode(f"svc:{TOKEN}".encode()).decode()
    return [TOKEN, quote(TOKEN, safe=""), basic, MOBILE]


@pytest.fixture
def leaky(run_harness, monkeypatch):
    monkeypatch.setenv("RUNSEC_LEAK_TOKEN", TOKEN)

    def make(fail: bool = False):
        return run_harness(
            systems={"vault": {"kind": "http", "url": "http://127.0.0.1:1", "token": "env:RUNSEC_LEAK_TOKEN"}},
            bots={"leaky": {"config": {"system": "vault", "fail": fail}}},
        )

    return make


def test_secret_and_mobile_reach_no_part_of_a_successful_run(leaky) -> None:
    harness = leaky()
    run = harness.run("leaky")
    assert run.status == "succeeded", run.error
    stored = harness.stored_text(run)
    for form in leaked_forms():
        assert form not in stored, f"{form!r} was stored"
    # each door was used, and what came through is the masked text
    assert run.summary.startswith("summary ***")
    assert any(key.startswith("count ***") for key in run.counts)
    assert "***" in run.outputs["header"] and "***" in str(run.outputs["nested"])
    assert run.progress["label"].startswith("working with ***")
    loggers = {line.logger for line in harness.history.logs(run.id)}
    assert {"stdout", "stderr", "some.library"} <= loggers
    messages = [line.message for line in harness.history.logs(run.id)]
    assert any(m.startswith("raw fd 1: ***") for m in messages)
    assert any(m.startswith("grandchild: ***") for m in messages)
    assert any("139****5678" in m for m in messages)


def test_secret_and_mobile_reach_no_part_of_a_failed_run(leaky) -> None:
    harness = leaky(fail=True)
    run = harness.run("leaky")
    assert run.status == "failed"
    assert run.error.startswith("RuntimeError: failed with ***")
    stored = harness.stored_text(run)
    for form in leaked_forms():
        assert form not in stored, f"{form!r} was stored"


def test_supervisor_scrubs_what_a_bot_sends_past_its_own_redactor() -> None:
    """A bot that writes to the pipe itself skips the child's redactor; the supervisor's catches it."""
    redact = lambda text: text.replace(TOKEN, "***")  # noqa: E731
    at = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    assert scrub_message(LogLine(at, "INFO", "x", f"a {TOKEN}"), redact).text == "a ***"
    assert scrub_message(Progress(TOKEN, 1, 2), redact).label == "***"
    finished = scrub_message(Finished("succeeded", TOKEN, {TOKEN: 1, "***": 2}, {TOKEN: [TOKEN]}), redact)
    assert finished.summary == "***" and finished.counts == {"***": 3} and finished.outputs == {"***": ["***"]}
    failed = scrub_message(Failed(TOKEN, TOKEN), redact)
    assert failed.error == "***" and failed.traceback == "***"


class Exploit:
    """What a hostile bot could send to run code in serve, were the pipe read with a plain unpickler."""

    def __reduce__(self):
        return (print, ("owned",))


def test_supervisor_reads_only_run_messages_from_the_pipe() -> None:
    with pytest.raises(pickle.UnpicklingError):
        read_message(pickle.dumps(Exploit()))
    with pytest.raises(pickle.UnpicklingError):
        read_message(pickle.dumps({"not": "a message"}))
    at = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    assert read_message(pickle.dumps(LogLine(at, "INFO", "x", "fine"))) == LogLine(at, "INFO", "x", "fine")


def test_database_password_is_known_to_the_supervisors_redactor() -> None:
    from backroom.schedules.execution import database_password

    assert database_password("postgresql+psycopg://backroom:p%40ss-w0rd@db:5432/backroom") == "p@ss-w0rd"
    assert database_password("sqlite:////var/lib/backroom/backroom.db") == ""


def test_a_pickle_sent_down_the_pipe_runs_nothing_in_serve(run_harness, tmp_path) -> None:
    marker = tmp_path / "ran-in-serve"
    run = run_harness().run("pipe_attacker", {"attack": "pickle", "marker": str(marker)})
    assert run.status == "failed" and "not a run message" in run.error
    assert not marker.exists()


def test_an_oversized_message_ends_the_run(run_harness) -> None:
    run = run_harness().run("pipe_attacker", {"attack": "huge"})
    assert run.status == "failed" and "over 16777216 bytes" in run.error

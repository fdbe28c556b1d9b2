"""The worker pipe's messages: frozen values that survive pickling (what a multiprocessing pipe does)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest

from backroom.schedules.pipe import CancelRequest, Failed, Finished, LogLine, Progress, RunPayload

MESSAGES = [
    LogLine(dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC), "INFO", "backroom.run.echo", "echo: 你好"),
    Progress("echoing", 2, None),
    Finished("succeeded", "echoed", {"lines": 2}, {"text": "x"}),
    Failed("ValueError: no", "Traceback ...", transient=True, cancelled=False),
    CancelRequest(),
    RunPayload(run_id="r1", bot="echo", run_dir="/tmp/r1", home="/tmp", database_url="sqlite://", params={"a": 1}),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_messages_round_trip_through_pickle_and_are_frozen(message: object) -> None:
    again = pickle.loads(pickle.dumps(message))
    assert again == message and type(again) is type(message)
    fields = dataclasses.fields(message)  # type: ignore[arg-type]
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(message, fields[0].name, None)


def test_messages_match_by_shape() -> None:
    match MESSAGES[1]:
        case Progress(label, done, total):
            assert (label, done, total) == ("echoing", 2, None)
        case _:
            pytest.fail("Progress did not match its own pattern")

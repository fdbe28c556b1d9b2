"""Finding 5: requeues of interrupted runs were unlimited — a run that takes serve down each time it
starts was started again on every restart, for ever. Now at most ``max_requeues`` in a row; then the
run stays interrupted, with a note saying why."""

from __future__ import annotations

import threading

from backroom.schedules.dispatch import Dispatcher
from backroom.schedules.status import RunStatus, Trigger
from tests.support.runner_bots import Echo


def crash_loop(harness) -> tuple[list, Dispatcher]:
    """Interrupt a run, requeue it, interrupt the requeued run, ... until the dispatcher stops requeuing."""
    no_chains = lambda *a, **k: None  # noqa: E731
    dispatcher = Dispatcher(harness.settings, harness.history, harness.executor, no_chains, threading.Event())
    run = harness.history.create_run("echo", trigger=Trigger.MANUAL, params={"text": "again"})
    chain = [run]
    for _ in range(10):
        harness.history.update_run(run.id, status=RunStatus.INTERRUPTED, error="serve crashed")
        again = dispatcher.requeue_interrupted(harness.history.get_run(run.id), Echo)
        if again is None:
            break
        chain.append(again)
        run = again
    return chain, dispatcher


def test_requeues_stop_after_max_requeues(run_harness) -> None:
    harness = run_harness(bots={"echo": {"on_interrupted": "requeue"}})
    chain, dispatcher = crash_loop(harness)
    assert len(chain) == 1 + 3  # the run and its default three requeues
    assert [r.trigger for r in chain[1:]] == [Trigger.REQUEUE] * 3
    last = harness.history.get_run(chain[-1].id)
    assert last.status == RunStatus.INTERRUPTED
    assert "not requeued" in last.error and "max_requeues = 3" in last.error
    assert any("not requeued" in line.message for line in harness.history.logs(last.id))
    assert dispatcher.active_counts() == {"echo": 3}  # the three requeues were queued, nothing more


def test_max_requeues_is_configurable_and_zero_means_never(run_harness) -> None:
    harness = run_harness(bots={"echo": {"on_interrupted": "requeue", "max_requeues": 0}})
    chain, _ = crash_loop(harness)
    assert len(chain) == 1
    assert "max_requeues = 0" in harness.history.get_run(chain[0].id).error


def test_a_fresh_interruption_after_a_successful_run_counts_from_zero(run_harness) -> None:
    harness = run_harness(bots={"echo": {"on_interrupted": "requeue", "max_requeues": 1}})
    first, _ = crash_loop(harness)
    second, _ = crash_loop(harness)  # a new run of the same bot: its own count
    assert len(first) == 2 and len(second) == 2


def test_leave_never_requeues(run_harness) -> None:
    harness = run_harness()
    chain, _ = crash_loop(harness)
    assert len(chain) == 1
    assert harness.history.get_run(chain[0].id).error == "serve crashed"

"""The runner: schedules fire once, skipped fires are visible, events chain, files arrive once."""

from __future__ import annotations

import datetime as dt
import time
from email.header import decode_header, make_header

import pytest

from backroom.schedules.history import History, utcnow
from backroom.schedules.runner import ParamsInvalid, Runner, RunnerBusy
from tests.fixtures.runner import build_settings


def wait_for(predicate, timeout: float = 20.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def runs_of(history: History, bot: str, status: str | None = None):
    return history.list_runs(bot=bot, status=status, limit=1000).runs


def test_interval_schedule_runs_through_history(make_settings, start_runner) -> None:
    settings = make_settings(bots={"echo": {"schedule": "interval: 1s", "params": {"text": "tick"}}})
    runner = start_runner(settings)
    done = wait_for(lambda: runs_of(runner.history, "echo", "succeeded"))
    run = done[-1]
    assert run.trigger == "schedule" and run.job_id == "echo" and run.scheduled_for is not None
    assert run.params == {"text": "tick", "repeat": 1, "file": None}


def test_one_off_fire_missed_beyond_grace_is_recorded_skipped(make_settings, start_runner) -> None:
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    settings = make_settings(
        bots={
            "echo": {"schedule": f"date: {long_ago.isoformat()}", "misfire_grace": "1h"},
            "noop": {"schedule": f"date: {recent.isoformat()}", "misfire_grace": "10m"},
        }
    )
    runner = start_runner(settings)
    skipped = wait_for(lambda: runs_of(runner.history, "echo", "skipped"))
    assert "beyond misfire_grace of 3600 s" in skipped[0].error
    assert wait_for(lambda: runs_of(runner.history, "noop", "succeeded"))
    assert not runs_of(runner.history, "echo", "succeeded")


def test_intake_coalesces_and_respects_max_instances(make_settings) -> None:
    settings = make_settings(bots={"echo": {"schedule": "interval: 1m", "misfire_grace": "10m"}})
    runner = Runner(settings)
    runner._stop.set()  # intake only: nothing is dispatched
    now = utcnow()
    fires = [now - dt.timedelta(minutes=m) for m in (3, 2, 1)]
    queued = runner._accept_fires([("echo", fires)])
    assert len(queued) == 1 and queued[0].scheduled_for == fires[-1]
    skipped = runs_of(runner.history, "echo", "skipped")
    assert sorted(r.scheduled_for for r in skipped) == fires[:2]
    assert all(r.error.startswith("coalesced") for r in skipped)
    # the same fire again (a restart replaying it) is never queued twice
    assert runner._accept_fires([("echo", [fires[-1]])]) == []
    # a new fire while the previous run is still pending: max_instances=1 skips it, visibly
    runner._accept_fires([("echo", [now])])
    assert any("max_instances=1" in (r.error or "") for r in runs_of(runner.history, "echo", "skipped"))


def test_transient_failure_is_retried_with_backoff(make_settings, start_runner) -> None:
    settings = make_settings(bots={"flaky": {"retries": 2, "retry_backoff": "0.2s"}})
    runner = start_runner(settings, schedule=False)
    first = runner.trigger("flaky", {}, actor="ops")
    retried = wait_for(lambda: runs_of(runner.history, "flaky", "succeeded"))
    assert retried[0].attempt == 2 and retried[0].parent_run_id == first.id and retried[0].trigger == "retry"
    assert runner.history.get_run(first.id).status == "failed"
    assert runner.history.get_run(first.id).transient is True


def test_chain_runs_next_bot_with_values_from_result(make_settings, start_runner) -> None:
    settings = make_settings(
        bots={
            "echo": {"after": [{"bot": "failer", "on": ["failed"], "params": {"text": "status"}}]},
            "failer": {},
        }
    )
    runner = start_runner(settings, schedule=False)
    runner.trigger("failer", {})
    chained = wait_for(lambda: [r for r in runs_of(runner.history, "echo") if r.status == "succeeded"])
    assert chained[0].trigger == "chain" and chained[0].params["text"] == "failed"
    assert chained[0].triggered_by == "chain:failer"


def test_params_are_validated_before_anything_runs(make_settings, start_runner) -> None:
    runner = start_runner(make_settings(bots={"echo": {}}), schedule=False)
    with pytest.raises(ParamsInvalid) as info:
        runner.trigger("echo", {"repeat": "lots", "colour": "red"})
    fields = {e["field"] for e in info.value.errors}
    assert fields == {"repeat", "colour"}
    assert runs_of(runner.history, "echo") == []


def test_file_arrival_starts_bot_once_even_across_restarts(tmp_path, start_runner) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watch = {"folder": "inbox", "patterns": ["*.xlsx"], "param": "file", "poll": "0.2s", "settle": "0.2s"}
    settings = build_settings(tmp_path, bots={"echo": {"watch": watch}})
    (inbox / "bank-1.xlsx").write_bytes(b"x" * 10)
    (inbox / "ignore.txt").write_text("no")
    runner = start_runner(settings, schedule=False)
    done = wait_for(lambda: runs_of(runner.history, "echo", "succeeded"))
    assert done[0].trigger == "file" and done[0].params["file"].endswith("bank-1.xlsx")
    runner.shutdown()
    again = start_runner(settings, schedule=False)
    (inbox / "bank-2.xlsx").write_bytes(b"y")
    wait_for(lambda: len(runs_of(again.history, "echo", "succeeded")) == 2)
    time.sleep(1.0)
    files = sorted(r.params["file"].rsplit("/", 1)[-1] for r in runs_of(again.history, "echo"))
    assert files == ["bank-1.xlsx", "bank-2.xlsx"]
    assert (inbox / "bank-1.xlsx").exists()  # inputs are never removed by the runner


def test_pause_survives_restart_and_resume_fires_again(make_settings, start_runner) -> None:
    settings = make_settings(bots={"echo": {"schedule": "interval: 1s"}})
    runner = start_runner(settings)
    runner.pause("echo", actor="admin", source="test")
    assert runner.next_fire_by_bot()["echo"] is None
    runner.shutdown()
    count = len(runs_of(runner.history, "echo"))
    again = start_runner(settings)
    # paused in the job store itself (no next fire time), so APScheduler has nothing to fire: no
    # need to sleep and count runs to see that it stays quiet
    assert again.is_paused("echo") and again.next_fire_by_bot()["echo"] is None
    assert again.jobs.store.job_states()["echo"] is None
    again.resume("echo", actor="admin")
    assert again.jobs.store.job_states()["echo"] is not None
    assert wait_for(lambda: len(runs_of(again.history, "echo", "succeeded")) > count)
    actions = [(a.action, a.target) for a in again.history.audit_log()]
    assert ("pause", "echo") in actions and ("resume", "echo") in actions


def test_sync_touches_only_changed_jobs(tmp_path) -> None:
    bots = {
        "echo": {
            "schedule": "cron: 0 22 * * *",
            "jobs": [{"id": f"j{i}", "schedule": "cron: 0 3 * * *", "params": {"text": str(i)}} for i in range(50)],
        }
    }
    settings = build_settings(tmp_path, bots=bots)
    first = Runner(settings)
    first.start(watch=False)
    first.shutdown()
    bots["echo"]["jobs"][0]["schedule"] = "cron: 0 4 * * *"
    bots["echo"]["jobs"].pop()
    second = Runner(build_settings(tmp_path, bots=bots))
    second.start(watch=False)
    try:
        assert second.sync_jobs() == {"written": 0, "removed": 0, "total": 50}
        jobs = {j.id: j for j in second.scheduler.get_jobs()}
        assert len(jobs) == 50 and "echo:j49" not in jobs
        assert jobs["echo:j0"].next_run_time.hour == 4
    finally:
        second.shutdown()


def test_a_second_runner_on_the_same_store_refuses(make_settings, start_runner) -> None:
    settings = make_settings(bots={"echo": {}})
    start_runner(settings, schedule=False)
    with pytest.raises(RunnerBusy, match="only one scheduler may own it"):
        Runner(settings).start(schedule=False)


def test_failure_notifications_reach_webhook_and_smtp(
    make_settings, start_runner, webhook_receiver, smtp_server
) -> None:
    mail = (
        f"mailto://{smtp_server.host}:{smtp_server.port}?smtp={smtp_server.host}"
        "&from=backroom@example.com&to=ops@example.com&mode=insecure"
    )
    settings = make_settings(
        notify={"on_failure": [mail], "console_url": "http://127.0.0.1:8600"},
        bots={"failer": {"notify": [f"json://{webhook_receiver.url.removeprefix('http://')}/hook"]}},
    )
    runner = start_runner(settings, schedule=False)
    run = runner.trigger("failer", {})
    posted = webhook_receiver.wait_for(1)
    body = posted[0]["body"]
    assert "failer 失败" in body["title"]  # alerts are Chinese by default ([notify] language)
    assert "the ledger total does not add up" in body["message"]
    assert f"/runs/{run.id}" in body["message"]
    message = smtp_server.wait_for(1)[0]
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "❌ Backroom · failer 失败"


def test_interrupted_runs_are_requeued_only_for_idempotent_bots(make_settings, start_runner) -> None:
    import socket

    settings = make_settings(bots={"echo": {"on_interrupted": "requeue"}, "failer": {"on_interrupted": "requeue"}})
    history = History(settings.database_url)
    dead = f"{socket.gethostname()}:999999"
    echo = history.create_run("echo", trigger="schedule", params={"text": "again"}, owner=dead)
    history.update_run(echo.id, status="running")
    failer = history.create_run("failer", trigger="schedule", owner=dead)
    history.update_run(failer.id, status="running")
    runner = start_runner(settings, schedule=False)
    assert history.get_run(echo.id).status == "interrupted"
    assert history.get_run(failer.id).status == "interrupted"
    again = wait_for(lambda: runs_of(history, "echo", "succeeded"))
    assert again[0].trigger == "requeue" and again[0].parent_run_id == echo.id and again[0].params["text"] == "again"
    assert [r.id for r in runs_of(history, "failer")] == [failer.id]  # not idempotent: left for a human
    runner.wait_idle(10)
    assert [r.id for r in runs_of(runner.history, "echo")] == [again[0].id, echo.id]  # requeued once


def test_console_reads_next_fires_from_the_job_store_while_scheduling(make_settings, start_runner, monkeypatch) -> None:
    """Recomputing every schedule per page view cost ~3x the dashboard's CPU; the store has the answer."""
    from backroom.schedules.console import views

    runner = start_runner(make_settings(bots={"echo": {"schedule": "cron: 0 3 * * *"}}), schedule=True, watch=False)

    def recompute(*_args, **_kwargs):
        raise AssertionError("next fires recomputed from config while the scheduler runs")

    monkeypatch.setattr(views, "parse_schedule", recompute)
    fires = views.next_fires(runner)
    assert fires == {"echo": runner.scheduler.get_job("echo").next_run_time}
    assert fires["echo"].hour == 19  # 03:00 Asia/Shanghai

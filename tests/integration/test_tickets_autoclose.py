"""``tickets autoclose`` end to end on the sandbox helpdesk and dialer, including the faults."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from backroom.bots.tickets.state import StateStore
from tests.fixtures.tickets import SHANGHAI, TicketsWorld

ROOT = Path(__file__).resolve().parents[2]


def resolved_ticket(
    world: TicketsWorld, mobile: str, *, category: str = "network", amount: str = "100", age_days: float = 2, **cf: str
) -> int:
    desk = world.desk
    now = world.clock()
    t = desk.create(
        subject=f"投诉 {mobile[-4:]}",
        queue=2,
        content=f"网速慢，手机{mobile}",
        creator="agent01",
        cf={"Category": category, "Mobile": mobile, "Amount": amount, **cf},
        created=now - dt.timedelta(days=age_days + 1),
    )
    with desk.lock:
        t.status = "resolved"
        t.resolved = t.last_updated = now - dt.timedelta(days=age_days)
    return t.id


def status_changes(world: TicketsWorld, tid: int, new: str) -> int:
    desk = world.desk
    return sum(
        1 for i in desk.by_ticket[tid] if desk.transactions[i].type == "Status" and desk.transactions[i].new == new
    )


def comments(world: TicketsWorld, tid: int) -> list[str]:
    desk = world.desk
    return [desk.transactions[i].content for i in desk.by_ticket[tid] if desk.transactions[i].type == "Comment"]


def tasks_per_ticket(world: TicketsWorld) -> Counter[str]:
    return Counter(t.ticket_ref for t in world.calls.tasks.values())


def test_full_flow_close_reopen_retry_handoff_archive_report(make_tickets_world: Any, webhook_receiver: Any) -> None:
    from openpyxl import load_workbook

    world: TicketsWorld = make_tickets_world(tickets=0)
    happy = resolved_ticket(world, "13800000001")
    unhappy = resolved_ticket(world, "13800000002", category="service")
    silent = resolved_ticket(world, "13800000003", category="delivery")
    billing = resolved_ticket(world, "13800000004", category="billing")
    dnc = resolved_ticket(world, "13800000005")
    vip = resolved_ticket(world, "13800000006", VIP="yes")
    young = resolved_ticket(world, "13800000007", age_days=0.1)
    big = resolved_ticket(world, "13800000008", amount="800")
    world.calls.script("13800000001", ["satisfied"])
    world.calls.script("13800000002", ["unsatisfied"])
    world.calls.script("13800000003", ["no_answer"])
    world.calls.dnc.add("13800000005")
    config = world.config(max_attempts=2, attempt_spacing_minutes=60, max_amount="500")
    ctx = world.context(config, notify=(f"json://127.0.0.1:{webhook_receiver.url.rsplit(':', 1)[1]}/notify",))
    from backroom.bots.tickets import Tickets, TicketsParams

    result = Tickets().run(ctx, TicketsParams(action="autoclose"))
    counts = result.counts
    assert counts["taken"] == 3 and counts["skipped"] == 5
    assert counts["closed"] == 1 and counts["archived"] == 1 and counts["reopened"] == 1

    # satisfied: closed with a confirmation comment, archived, verified and indexed
    assert world.desk.tickets[happy].status == "archived"
    assert status_changes(world, happy, "closed") == 1
    assert any("满意" in c for c in comments(world, happy))
    entry = StateStore(ctx.engine).archive_entry(happy)
    data = Path(entry["json_path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"] == world.desk.tickets[happy].cf["Archived"]
    assert Path(entry["json_path"]).parts[-3:] == ("2026", "11", f"ticket-{happy}.json")
    record = json.loads(data)
    assert record["callbacks"][0]["outcome"] == "satisfied" and record["ticket"]["id"] == happy
    assert any(h["type"] == "Create" and "网速慢" in h["content"] for h in record["history"])
    assert "工单 #" in Path(entry["html_path"]).read_text(encoding="utf-8")

    # unsatisfied: reopened, priority raised, moved to the human queue, the customer's note recorded
    t = world.desk.tickets[unhappy]
    assert (t.status, t.queue, t.priority) == ("open", 3, 20)
    note = world.calls.tasks[next(k for k, v in world.calls.tasks.items() if v.number == "13800000002")].note
    assert any(note in c for c in comments(world, unhappy))

    # no answer: waits for the spacing, then the last attempt hands over to a human
    assert world.desk.tickets[silent].status == "resolved"
    again = world.run("autoclose", config)
    assert again.counts.get("called", 0) == 0  # too early for attempt 2
    world.clock.advance(minutes=61)
    third = world.run("autoclose", config)
    assert third.counts["called"] == 1 and third.counts["handed_off"] == 1
    assert world.desk.tickets[silent].status == "open" and world.desk.tickets[silent].queue == 3
    assert tasks_per_ticket(world) == Counter({str(happy): 1, str(unhappy): 1, str(silent): 2})

    # the report explains every decision; the notification carries the counts
    book = load_workbook(result.outputs["report"])
    reasons = {row[0]: row[3] for row in book["Decisions"].iter_rows(min_row=2, values_only=True)}
    assert "not in the simple list" in reasons[billing]
    assert "do-not-call" in reasons[dnc]
    assert "VIP" in reasons[vip]
    assert "less than 24 h" in reasons[young]
    assert "not under 500" in reasons[big]
    states = {row[0]: row[1] for row in book["Tickets"].iter_rows(min_row=2, values_only=True)}
    assert states[happy] == "archived" and states[unhappy] == "reopened"
    sent = webhook_receiver.wait_for(1)
    assert "taken 3" in json.dumps(sent[0]["body"], ensure_ascii=False)


def test_quiet_hours_and_holidays_defer_calls(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = resolved_ticket(world, "13800000011")
    world.clock.set_local(dt.datetime(2026, 11, 24, 21, 30))
    first = world.run("autoclose")
    assert first.counts["taken"] == 1 and first.counts["deferred_quiet_hours"] == 1
    assert world.calls.calls_placed == 0
    world.clock.set_local(dt.datetime(2027, 1, 1, 10, 0))  # New Year's Day
    assert world.run("autoclose").counts.get("called", 0) == 0
    world.clock.set_local(dt.datetime(2027, 1, 4, 10, 0))
    world.calls.script("13800000011", ["satisfied"])
    done = world.run("autoclose")
    assert done.counts["called"] == 1 and world.desk.tickets[tid].status == "archived"


def test_rerun_never_calls_or_closes_twice(tickets_world: TicketsWorld) -> None:
    world = tickets_world
    first = world.run("autoclose")
    assert first.counts["called"] >= 3
    second = world.run("autoclose")
    assert second.counts.get("called", 0) == 0 and second.counts.get("closed", 0) == 0
    assert all(n == 1 for n in tasks_per_ticket(world).values())
    for tid in world.desk.tickets:
        assert status_changes(world, tid, "closed") <= 1
        assert sum("[backroom:tickets-" in c for c in comments(world, tid)) <= 1


def test_helpdesk_429_and_500_mid_run(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    ids = [resolved_ticket(world, f"138000001{i:02d}") for i in range(8)]
    for i in range(8):
        world.calls.script(f"138000001{i:02d}", ["satisfied"])
    world.helpdesk.app.state.faults.update(
        {"rate_limit_every": 4, "retry_after_s": 0, "error_rate": 0.1, "error_status": 500}
    )
    world.dialer.app.state.faults.update({"rate_limit_every": 3, "retry_after_s": 0})
    results = [world.run("autoclose", world.config(wait_for_outcomes_s=0.3)) for _ in range(3)]
    assert world.helpdesk.app.state.faults.counters.get("429", 0) > 0
    assert world.helpdesk.app.state.faults.counters.get("500", 0) > 0
    assert world.dialer.app.state.faults.counters.get("429", 0) > 0
    world.helpdesk.app.state.faults.reset()
    results.append(world.run("autoclose"))
    assert sum(r.counts.get("archived", 0) for r in results) == 8
    for tid in ids:
        assert world.desk.tickets[tid].status == "archived"
        assert status_changes(world, tid, "closed") == 1
        assert sum("客户回访确认满意" in c for c in comments(world, tid)) == 1


def test_ticket_changed_by_a_human_is_skipped(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0, outcome_delay_s=3600)
    tid = resolved_ticket(world, "13800000021")
    world.calls.script("13800000021", ["satisfied"])
    config = world.config(wait_for_outcomes_s=0.1)
    assert world.run("autoclose", config).counts["called"] == 1
    httpx.post(
        f"{world.helpdesk.url}/REST/2.0/ticket/{tid}/comment",
        json={"Content": "客户又来电了，先别关"},
        headers={"Authorization": "token sandbox-helpdesk-token"},
    )
    world.clock.advance(hours=2)
    result = world.run("autoclose", config)
    assert result.counts["skipped_changed"] == 1
    assert world.desk.tickets[tid].status == "resolved"
    assert status_changes(world, tid, "closed") == 0
    later = world.run("autoclose", config)  # still resolved, but never taken (or called) again
    assert later.counts == {"already_handled": 1} and world.calls.calls_placed == 1


def test_webhook_outcomes_deduplicated_and_stale_ones_ignored(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    world.dialer.app.state.faults.update({"duplicate_webhooks": True})
    world.calls.reverse_webhooks = True
    tid = resolved_ticket(world, "13800000031")
    other = resolved_ticket(world, "13800000032")
    world.calls.script("13800000031", ["no_answer", "satisfied"])
    world.calls.script("13800000032", ["satisfied"])
    config = world.config(webhook={"listen": "127.0.0.1:0", "secret": "env:HOOK_SECRET"}, attempt_spacing_minutes=0)
    ctx = world.context(config)
    from backroom.bots.tickets import Tickets, TicketsParams

    Tickets().run(ctx, TicketsParams(action="autoclose"))
    store = StateStore(ctx.engine)
    with ctx.engine.connect() as conn:
        from sqlalchemy import select

        from backroom.bots.tickets.state import events_table

        rows = conn.execute(select(events_table)).all()
    sources = Counter(r.source for r in rows)
    assert sources["webhook"] >= 1
    assert len({r.event_id for r in rows}) == len(rows)
    assert world.dialer.app.state.faults.counters["webhooks"] >= 2 * len(rows) - 2  # each delivered twice
    # a late, forged outcome for the finished first attempt changes nothing
    assert not store.add_event({"event_id": rows[0].event_id, "outcome": "satisfied"}, "webhook")
    store.add_event(
        {
            "event_id": "late-1",
            "idempotency_key": f"tickets-{tid}-callback-1",
            "outcome": "satisfied",
            "occurred_at": "2026-11-24T01:00:00",
        },
        "webhook",
    )
    assert store.event_for(f"tickets-{tid}-callback-1")["outcome"] == "no_answer"
    second = world.run("autoclose", config)
    assert world.desk.tickets[tid].status == "archived", (second, store.rows())
    assert world.desk.tickets[other].status == "archived"
    assert tasks_per_ticket(world) == Counter({str(tid): 2, str(other): 1})


def test_webhook_receiver_checks_signatures_and_duplicates(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from backroom.bots.tickets.webhook import serve
    from backroom.sandbox.dialer import sign

    store = StateStore(create_engine(f"sqlite:///{tmp_path / 'hooks.db'}"))
    event = json.dumps({"event_id": "evt-1", "idempotency_key": "k", "outcome": "busy"}).encode()
    with serve(store, "s3cret", "127.0.0.1:0") as url:
        assert httpx.post(url, content=event).status_code == 401
        good = {"X-Dialer-Signature": sign("s3cret", event), "content-type": "application/json"}
        assert httpx.post(url, content=event, headers=good).json() == {"ok": True, "new": True}
        assert httpx.post(url, content=event, headers=good).json() == {"ok": True, "new": False}
        junk = b"{}"
        assert httpx.post(url, content=junk, headers={"X-Dialer-Signature": sign("s3cret", junk)}).status_code == 400
    assert store.event_for("k")["outcome"] == "busy"


def test_missing_archive_folder_keeps_ticket_unarchived(make_tickets_world: Any, tmp_path: Path) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = resolved_ticket(world, "13800000041")
    world.calls.script("13800000041", ["satisfied"])
    missing = tmp_path / "share-not-mounted"
    config = world.config(archive_dir=str(missing))
    result = world.run("autoclose", config)
    assert result.counts["closed"] == 1 and result.counts["archive_failed"] == 1
    assert world.desk.tickets[tid].status == "closed" and "Archived" not in world.desk.tickets[tid].cf
    missing.mkdir()
    result = world.run("autoclose", config)
    assert result.counts["archived"] == 1 and world.desk.tickets[tid].status == "archived"
    assert status_changes(world, tid, "closed") == 1


@pytest.mark.slow
def test_full_disk_keeps_ticket_unarchived(make_tickets_world: Any, tmp_path: Path) -> None:
    """A write that the OS refuses (file-size limit: EFBIG, as ENOSPC would) leaves no half file."""
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = resolved_ticket(world, "13800000051")
    world.desk.add_message(tid, "Correspond", "很长的通话记录" * 120_000, "agent01")  # ~2.5 MB of text
    world.calls.script("13800000051", ["satisfied"])
    config = world.config()
    out = _child(world, config, fsize=1_500_000)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[-1])["counts"]["archive_failed"] == 1
    assert world.desk.tickets[tid].status == "closed"
    assert not list((tmp_path / "archive").rglob("*.part")) and not list((tmp_path / "archive").rglob("*.json"))


def _child(world: TicketsWorld, config: Any, **extra: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.fixtures.tickets import child_main; child_main()",
            json.dumps(_spec(world, config, **extra)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _spec(world: TicketsWorld, config: Any, **extra: Any) -> dict[str, Any]:
    return {
        "tmp": str(world.tmp),
        "helpdesk": world.helpdesk.url,
        "dialer": world.dialer.url,
        "now": world.clock().isoformat(),
        "config": config.autoclose.model_dump(mode="json"),
        **extra,
    }


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    ids = [resolved_ticket(world, f"139000000{i:02d}") for i in range(12)]
    for i in range(12):
        world.calls.script(f"139000000{i:02d}", ["satisfied"])
    world.helpdesk.app.state.faults.update({"latency_ms": 60})
    config = world.config(concurrency=2)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.fixtures.tickets import child_main; child_main()",
            json.dumps(_spec(world, config)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 40
    while sum(t.status in ("closed", "archived") for t in world.desk.tickets.values()) < 3:
        assert time.monotonic() < deadline and proc.poll() is None, "child finished before it could be killed"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    world.helpdesk.app.state.faults.reset()
    unfinished = sum(t.status != "archived" for t in world.desk.tickets.values())
    assert unfinished > 0, "the kill came too late to test anything"
    result = world.run("autoclose", config)
    assert result.counts.get("taken", 0) == 0  # nothing selected twice
    for tid in ids:
        assert world.desk.tickets[tid].status == "archived", tid
        assert status_changes(world, tid, "closed") == 1
        assert sum("客户回访确认满意" in c for c in comments(world, tid)) == 1
    assert all(n == 1 for n in tasks_per_ticket(world).values()) and len(tasks_per_ticket(world)) == 12
    assert world.calls.calls_placed == 12
    assert SHANGHAI  # the child used the same local time zone


def test_sms_survey_instead_of_a_call(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = resolved_ticket(world, "13800000061")
    world.calls.script("13800000061", ["busy"])  # an SMS cannot be busy: it becomes no answer
    result = world.run("autoclose", world.config(channel="sms", max_attempts=1, no_answer_policy="close"))
    [task] = world.calls.tasks.values()
    assert task.channel == "sms" and task.outcome == "no_answer"
    assert result.counts["closed"] == 1 and world.desk.tickets[tid].status == "archived"
    assert any("均未接通" in c for c in comments(world, tid))


@pytest.mark.postgres
def test_state_machine_on_postgresql(make_tickets_world: Any, postgres_url: str) -> None:
    """The state tables, events and checkpoint cursor on PostgreSQL: a full run and a no-op re-run."""
    from sqlalchemy import create_engine, inspect, text

    from backroom.bots.tickets.state import SCHEMA, metadata

    engine = create_engine(postgres_url)
    metadata.drop_all(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {SCHEMA.version_table}"))  # so the migrations run again
        if inspect(conn).has_table("backroom_checkpoints"):
            conn.execute(text("DELETE FROM backroom_checkpoints WHERE bot = 'tickets'"))
    engine.dispose()
    world: TicketsWorld = make_tickets_world(tickets=0)
    world.database_url = postgres_url
    ids = [resolved_ticket(world, f"1380000007{i}") for i in range(3)]
    world.calls.script("13800000070", ["satisfied"])
    world.calls.script("13800000071", ["unsatisfied"])
    world.calls.script("13800000072", ["satisfied"])
    first = world.run("autoclose")
    assert first.counts["archived"] == 2 and first.counts["reopened"] == 1
    second = world.run("autoclose")
    assert second.counts.get("called", 0) == 0 and second.counts.get("closed", 0) == 0
    assert [world.desk.tickets[i].status for i in ids] == ["archived", "open", "archived"]
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ticket_id, state FROM tickets_autoclose ORDER BY ticket_id")).all()
        indexed = conn.execute(text("SELECT count(*) FROM tickets_archive_index")).scalar()
    engine.dispose()
    assert [r.state for r in rows] == ["archived", "reopened", "archived"] and indexed == 2


def test_number_put_on_do_not_call_after_selection_is_never_called(make_tickets_world: Any) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    tid = resolved_ticket(world, "13800000081")
    world.clock.set_local(dt.datetime(2026, 11, 24, 22, 0))
    assert world.run("autoclose").counts["deferred_quiet_hours"] == 1
    world.calls.dnc.add("13800000081")  # the customer asked not to be called, overnight
    world.clock.set_local(dt.datetime(2026, 11, 25, 10, 0))
    result = world.run("autoclose")
    assert result.counts == {"skipped_dnc": 1} and world.calls.calls_placed == 0
    assert world.desk.tickets[tid].status == "resolved"

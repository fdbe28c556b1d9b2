"""Work-item queues: keys queue once, items end once, failures are retried or reported, never lost.

The store's rules on SQLite with a moved clock; the 1,000-item run with two consumer runs at once on
PostgreSQL, through the runner (real run processes); the runner starting a consumer when items wait.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.sdk.workitems import WorkQueue, work_items
from backroom.schedules.history import History
from backroom.schedules.history.models import WorkItem
from backroom.schedules.queues import QueueWatcher
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


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(f"sqlite:///{tmp_path / 'backroom.db'}")


def test_the_sdk_names_the_columns_of_the_model() -> None:
    assert {c.name for c in work_items.c} == {c.name for c in WorkItem.__table__.columns}


def test_a_key_is_queued_once(history: History) -> None:
    queue = WorkQueue(history.engine, "calls", run_id="p1")
    assert queue.put({"n": 1}, key="a") is True
    assert queue.put({"n": 2}, key="a") is False
    assert queue.put_many([("a", {}), ("b", {}), ("b", {}), ("c", {})]) == 2
    assert WorkQueue(history.engine, "other").put({}, key="a") is True  # keys are per queue
    assert queue.counts()["pending"] == 3
    (item,) = queue.take()
    assert item.ref == "a" and item.payload == {"n": 1} and item.attempt == 1


def test_items_end_done_business_failed_or_retried_with_backoff_up_to_the_limit(history: History) -> None:
    clock = Clock()
    queue = WorkQueue(history.engine, "calls", run_id="r1", clock=clock, max_attempts=3, backoff=60)
    queue.put_many([("ok", {}), ("bad", {}), ("flaky", {})])
    for item in queue.items():
        with item:
            if item.ref == "bad":
                raise BusinessError("no phone number")
            if item.ref == "flaky":
                raise TimeoutError("line busy")
    assert queue.counts() | {} == {**queue.counts(), "done": 1, "business_failed": 1, "pending": 1}
    assert queue.take() == []  # the flaky one waits for its backoff (60 s)
    clock.advance(59)
    assert queue.available() == 0
    clock.advance(1)
    (again,) = queue.take()
    assert again.ref == "flaky" and again.attempt == 2
    again.application_failed("line busy")
    clock.advance(119)
    assert queue.take() == []  # the backoff doubles: 120 s
    clock.advance(1)
    (third,) = queue.take()
    third.application_failed("line busy")
    assert queue.counts()["failed"] == 1 and queue.available() == 0
    reported = {r["ref"]: r for r in queue.reported()}
    assert reported["bad"]["state"] == "business_failed" and "no phone number" in reported["bad"]["error"]
    assert reported["flaky"]["attempts"] == 3 and "attempt 3 of 3" in reported["flaky"]["error"]


def test_an_item_not_ended_is_not_assumed_done_and_a_lost_lease_is_refused(history: History) -> None:
    clock = Clock()
    queue = WorkQueue(history.engine, "calls", run_id="r1", clock=clock, lease=300)
    queue.put_many([("a", {}), ("b", {})])
    for _item in queue.items():
        pass  # the consumer forgot to end it
    assert queue.counts()["pending"] == 2 and queue.counts()["done"] == 0

    clock.advance(3600)
    (first,) = queue.take()
    clock.advance(301)  # its consumer froze past the lease: another run takes it
    other = WorkQueue(history.engine, "calls", run_id="r2", clock=clock)
    taken = other.take(5)
    assert first.id in [i.id for i in taken]
    with pytest.raises(ApplicationError, match="no longer this run's"):
        first.done()
    for item in taken:
        item.done()
    assert queue.counts()["done"] == 2


def test_breaking_out_of_the_loop_gives_the_untouched_items_back(history: History) -> None:
    queue = WorkQueue(history.engine, "calls")
    queue.put_many([(str(n), {}) for n in range(5)])
    for item in queue.items(batch=5):
        item.done()
        break
    assert queue.counts()["done"] == 1 and queue.available() == 4
    assert {i.attempt for i in queue.take(10)} == {1}  # given back without counting an attempt


def test_deadlines_alert_once_and_a_person_can_retry_or_drop(history: History, tmp_path: Path) -> None:
    clock = Clock()
    queue = WorkQueue(history.engine, "calls", clock=clock)
    queue.put({"n": 1}, key="late", deadline=T0 + dt.timedelta(hours=1))
    queue.put({"n": 2}, key="fine", deadline=T0 + dt.timedelta(hours=5))
    settings = build_settings(
        tmp_path,
        bot_modules=["tests.support.trigger_bots"],
        bots={"caller": {"notify": ["json://127.0.0.1:9/"]}},
    )
    from tests.support.trigger_bots import Caller

    sent: list[tuple[list[str], str, str]] = []
    active: dict[str, int] = {"caller": 1}  # a run is already active: no second one is started
    watcher = QueueWatcher(
        settings,
        history,
        {"caller": Caller},
        lambda bot, params, label: pytest.fail("started a consumer while one was active"),
        lambda: active,
        clock=clock,
        notify=lambda targets, title, body: sent.append((targets, title, body)),
    )
    assert watcher.poll_once() == []
    assert sent == []
    clock.advance(3601)
    watcher.poll_once()
    watcher.poll_once()
    assert len(sent) == 1 and "late" in sent[0][2] and "fine" not in sent[0][2]
    assert sent[0][0] == ["json://127.0.0.1:9/"]

    (item,) = queue.take()
    item.business_failed("wrong number")
    assert queue.retry(item.id) and queue.take()[0].attempt == 1
    assert queue.drop(item.id) is False  # working now: only a waiting or ended item can be dropped


def test_the_runner_starts_the_consumer_when_items_wait(tmp_path: Path, start_runner: Any) -> None:
    settings = build_settings(tmp_path, bot_modules=["tests.support.trigger_bots"])
    runner = start_runner(settings, schedule=False)
    produced = runner.trigger("producer", {"count": 25, "business": [3], "transient": [4]})
    queue = WorkQueue(runner.history.engine, "calls")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and queue.counts()["done"] + queue.counts()["business_failed"] < 25:
        time.sleep(0.2)
    assert runner.wait_idle(30)
    assert queue.counts() | {} == {**queue.counts(), "done": 24, "business_failed": 1, "pending": 0}
    assert runner.history.get_run(produced.id).counts == {"queued": 25}
    consumers = runner.history.list_runs(bot="caller", limit=10).runs
    assert consumers and all(r.trigger == Trigger.QUEUE and r.status == "succeeded" for r in consumers)


# -- PostgreSQL: 1,000 items, two consumer runs at once -------------------------------------------------
@pytest.mark.slow
def test_a_thousand_items_two_consumers_at_once_on_postgresql(
    pg_schema_url: str, tmp_path: Path, start_runner: Any
) -> None:
    engine = create_engine(pg_schema_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE queue_effects (n integer NOT NULL, run_id text NOT NULL)"))
        conn.execute(text("CREATE TABLE queue_starts (run_id text NOT NULL)"))
    business = [17, 500, 999]
    transient = list(range(100, 1000, 90))[:10]
    settings = build_settings(
        tmp_path,
        database=pg_schema_url,
        bot_modules=["tests.support.trigger_bots"],
        bots={"caller": {"max_instances": 2}},
    )
    runner = start_runner(settings, schedule=False, watch=False)  # the two consumer runs are started here
    produced, _ = runner.run_in_foreground(
        "producer", {"count": 1000, "business": business, "transient": transient}, actor="test"
    )
    assert produced.counts == {"queued": 1000}
    again, _ = runner.run_in_foreground("producer", {"count": 1000}, actor="test")
    assert again.counts == {"queued": 0}  # the same keys are never queued twice

    runs = [runner.trigger("caller", {"wait_for_peers": 2}, actor="test") for _ in range(2)]
    assert runner.wait_idle(240)
    finished = [runner.history.get_run(r.id) for r in runs]
    assert [r.status for r in finished] == ["succeeded", "succeeded"], [r.error for r in finished]
    assert all(r.counts["handled"] > 0 for r in finished)  # both took items: they ran at once

    queue = WorkQueue(runner.history.engine, "calls")
    counts = queue.counts()
    assert counts["done"] == 997 and counts["business_failed"] == 3
    assert sum(counts.values()) == 1000  # none lost
    assert sorted(int(r["ref"].split("-")[1]) for r in queue.reported()) == business
    with engine.connect() as conn:
        effects = conn.execute(text("SELECT n, count(*) FROM queue_effects GROUP BY n")).all()
        attempts = dict(conn.execute(text("SELECT ref, attempts FROM backroom_work_items WHERE queue = 'calls'")).all())
    assert len(effects) == 997 and all(count == 1 for _, count in effects)  # none done twice
    assert {n for n, _ in effects} == set(range(1000)) - set(business)
    assert sorted(ref for ref, a in attempts.items() if a == 2) == sorted(f"call-{n}" for n in transient)
    assert sum(r.counts["handled"] for r in finished) == 1000 + len(transient)
    engine.dispose()


def test_console_queue_pages_count_mask_retry_and_drop(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner
    from tests.fixtures.console import CONSOLE_URL, extract_csrf

    settings = build_settings(tmp_path, bot_modules=["tests.support.trigger_bots"])
    runner = Runner(settings)
    queue = WorkQueue(runner.history.engine, "calls")
    queue.put({"name": "张三", "mobile": "13812345678"}, key="c-1")
    queue.put({"name": "李四"}, key="c-2")
    (item,) = queue.take()
    item.business_failed("no answer at 13812345678")
    client = TestClient(create_app(runner, environ={}), base_url=CONSOLE_URL, follow_redirects=False)

    listing = client.get("/queues").text
    assert "/queues/calls" in listing and "caller" in listing
    page = client.get("/queues/calls").text
    assert "13812345678" not in page and "138****5678" in page  # personal data masked
    assert "no answer at 138****5678" in page
    csrf = extract_csrf(page)
    assert client.post(f"/queues/calls/items/{item.id}/drop", data={"csrf": csrf}).status_code == 303
    assert queue.counts()["dropped"] == 1
    assert client.post(f"/queues/calls/items/{item.id}/retry", data={"csrf": csrf}).status_code == 303
    assert queue.counts()["pending"] == 2
    assert client.post(f"/queues/calls/items/{item.id}/retry", data={"csrf": "wrong"}).status_code != 303
    audit = runner.history.audit_log(limit=10)
    assert [(e.action, e.outcome) for e in audit][:2] == [("queue-retry", "ok"), ("queue-drop", "ok")]
    assert client.get("/queues/nope").status_code == 404
    zh = client.get("/queues/calls", headers={"Accept-Language": "zh-CN"}).text
    assert "工作队列" in zh and "等待中" in zh


@pytest.fixture
def mariadb_url(mysql_url: str) -> Iterator[str]:
    import uuid

    from sqlalchemy.engine import make_url

    name = f"br_{uuid.uuid4().hex[:10]}"
    admin = create_engine(mysql_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["pg_schema_url", "mariadb_url", "sqlite"])
def test_four_consumers_at_once_take_each_item_once(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import threading

    url = f"sqlite:///{tmp_path / 'q.db'}" if database == "sqlite" else request.getfixturevalue(database)
    history = History(url)
    WorkQueue(history.engine, "calls").put_many([(f"c-{n}", {"n": n}) for n in range(300)])
    seen: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def consume(name: str) -> None:
        queue = WorkQueue(history.engine, "calls", run_id=name)
        mine = seen.setdefault(name, [])
        try:
            for item in queue.items(batch=5):
                with item:
                    mine.append(item.payload["n"])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(f"run-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    taken = [n for numbers in seen.values() for n in numbers]
    assert sorted(taken) == list(range(300))  # each item exactly once, none lost
    assert WorkQueue(history.engine, "calls").counts()["done"] == 300
    history.engine.dispose()


def test_a_missed_deadline_reaches_a_real_smtp_server_once(history: History, tmp_path: Path, smtp_server: Any) -> None:
    from email.header import decode_header, make_header

    from tests.support.trigger_bots import Caller

    mail = (
        f"mailto://{smtp_server.host}:{smtp_server.port}?smtp={smtp_server.host}"
        "&from=backroom@example.com&to=ops@example.com&mode=insecure"
    )
    settings = build_settings(tmp_path, bot_modules=["tests.support.trigger_bots"], notify={"on_failure": [mail]})
    clock = Clock()
    WorkQueue(history.engine, "calls", clock=clock).put(
        {"mobile": "13812345678"}, key="call-7", deadline=T0 + dt.timedelta(minutes=30)
    )
    watcher = QueueWatcher(settings, history, {"caller": Caller}, lambda *a: None, lambda: {"caller": 1}, clock=clock)
    clock.advance(1801)
    watcher.poll_once()
    watcher.poll_once()
    (message,) = smtp_server.wait_for(1)
    assert "1 item(s) of queue calls past their deadline" in str(make_header(decode_header(message["Subject"])))
    body = message.get_payload(decode=True).decode() if not message.is_multipart() else str(message)
    assert "call-7" in body and "13812345678" not in body
    assert len(smtp_server.messages) == 1


def test_a_cancelled_run_gives_its_item_back_and_stops(history: History) -> None:
    from backroom.bots.sdk.context import RunCancelled

    queue = WorkQueue(history.engine, "calls")
    queue.put_many([("a", {}), ("b", {})])
    with pytest.raises(RunCancelled):
        for item in queue.items():
            with item:
                raise RunCancelled("cancelled by ops")
    assert queue.counts()["pending"] == 2 and queue.counts()["working"] == 0
    assert {i.attempt for i in queue.take(5)} == {1}

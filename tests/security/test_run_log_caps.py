"""Finding 4: no cap on log volume or line size — a run's page could weigh 100 MB. Now a run keeps at
most ``log_max_lines`` lines of at most ``log_line_max_bytes`` bytes, says in one closing line what it
left out, and the API and the run page read the log a bounded page at a time."""

from __future__ import annotations

import datetime as dt

from backroom.schedules.logcap import LogBudget, cut_text
from backroom.schedules.outcome import LogEntry

AT = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def test_flood_of_lines_and_huge_lines_is_capped_with_a_note(run_harness) -> None:
    harness = run_harness()
    run = harness.run("flood")
    assert run.status == "succeeded", run.error
    lines = harness.history.logs(run.id, limit=1_000_000)
    settings = harness.settings
    assert len(lines) <= settings.log_max_lines + 5  # + the runner's own lines
    biggest = max(len(line.message.encode()) for line in lines)
    assert biggest <= settings.log_line_max_bytes + 64  # + the "[n bytes cut]" mark
    notes = [line.message for line in lines if "more lines" in line.message and "bytes left out" in line.message]
    assert len(notes) == 1 and lines[-1].message == notes[0]
    dropped = int(notes[0].split(" more lines")[0])
    assert dropped >= 100_000 + 2 - settings.log_max_lines - 5
    # the huge log line and the huge printed line are kept cut, each saying how much was cut
    assert any(line.message.startswith("xxxx") and "bytes cut]" in line.message for line in lines)
    printed = [line.message for line in lines if line.logger == "stdout"]
    assert any(text.startswith("yyyy") and "bytes cut]" in text for text in printed)


def test_api_reads_the_log_a_bounded_page_at_a_time(run_harness) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.console.routes import LOG_PAGE_BYTES
    from backroom.schedules.runner import Runner

    harness = run_harness(log_line_max_bytes=8192)
    run = harness.run("flood", {"lines": 400, "long_line_bytes": 100, "width": 4000})
    runner = Runner(harness.settings)
    client = TestClient(create_app(runner, environ={}), base_url="http://127.0.0.1:8600")
    page = client.get(f"/api/v1/runs/{run.id}/logs", params={"limit": 5000})
    assert page.status_code == 200
    body = page.json()
    assert len(body["lines"]) < 400 and body["more"] is True
    total = 0
    seen = 0
    after = 0
    while True:
        body = client.get(f"/api/v1/runs/{run.id}/logs", params={"after": after, "limit": 100}).json()
        assert len(body["lines"]) <= 100
        assert sum(len(x["message"].encode()) for x in body["lines"]) <= LOG_PAGE_BYTES
        seen += len(body["lines"])
        total += 1
        after = body["last_id"]
        if not body["more"]:
            break
    assert seen == len(harness.history.logs(run.id, limit=100_000)) and total >= 4


def test_run_page_shows_one_bounded_page_and_links_the_next(run_harness, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console import pages
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    monkeypatch.setattr(pages, "LOG_PAGE_LINES", 100)
    harness = run_harness()
    run = harness.run("flood", {"lines": 250, "long_line_bytes": 100})
    client = TestClient(create_app(Runner(harness.settings), environ={}), base_url="http://127.0.0.1:8600")
    first = client.get(f"/runs/{run.id}")
    assert first.status_code == 200
    assert first.text.count("line 1") >= 1 and "line 150" not in first.text
    assert f"/runs/{run.id}?after=" in first.text
    link = first.text.split(f"/runs/{run.id}?after=")[1].split('"')[0]
    second = client.get(f"/runs/{run.id}?after={link}")
    assert "line 150" in second.text and "line 0<" not in second.text


def test_budget_counts_what_it_leaves_out() -> None:
    budget = LogBudget(max_lines=2, max_line_bytes=10)
    kept = [budget.admit(LogEntry(AT, "INFO", "x", text)) for text in ("short", "é" * 20, "dropped", "also")]
    assert kept[0].message == "short"
    assert kept[1].message.startswith("ééééé") and kept[1].message.endswith("[30 bytes cut]")
    assert kept[2:] == [None, None]
    note = budget.closing_note(AT)
    assert note is not None and note.message.startswith("2 more lines, 41 bytes left out")


def test_nothing_left_out_means_no_note() -> None:
    budget = LogBudget(max_lines=5, max_line_bytes=100)
    budget.admit(LogEntry(AT, "INFO", "x", "fine"))
    assert budget.closing_note(AT) is None


def test_cut_text_keeps_whole_characters() -> None:
    assert cut_text("中文字", 7) == ("中文", 3)
    assert cut_text("abc", 3) == ("abc", 0)

"""Finding 1 and 2 of issue 13, replayed as an operator against a real console and runner.

An operator could make reconcile read ``/proc/self/environ`` (and copy it into artifacts every viewer
downloads), have a symlink to a secret dropped in the inbox come back as an artifact, and make expenses
*move* any file on the machine into ``rejected/``. Each attack below now ends in a 422 (nothing queued,
nothing read, nothing moved), or, for the symlink, in a run that skips the link and copies nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from backroom.schedules.errors import ParamsInvalid
from backroom.schedules.status import Trigger
from tests.fixtures.console import ConsoleHarness, console_environ, console_settings
from tests.fixtures.reconcile import write_ledger_xlsx

SECRET = "TOPSECRET-console-token-0123456789"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleHarness]:
    """The real reconcile and expenses bots behind a started runner and its console (three users)."""
    from backroom.bots.expenses import Expenses
    from backroom.bots.reconcile import Reconcile
    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner

    home = tmp_path_factory.mktemp("paths")
    inbox = home / "var/inbox/reconcile"
    inbox.mkdir(parents=True)
    (home / "var/inbox/expenses").mkdir(parents=True)
    (inbox / "books").mkdir()
    ledger = write_ledger_xlsx(
        inbox / "books" / "ledger.xlsx",
        [{"entry_id": "G-1", "date": "2024-03-01", "amount": 1, "counterparty": "某公司"}],
    )
    settings = console_settings(
        home,
        bot_modules=[],
        bots={
            "reconcile": {"config": {"ledger": {"kind": "excel", "path": str(ledger)}}},
            "expenses": {"config": {"workers": 1}},
        },
    )
    runner = Runner(settings, bots={"reconcile": Reconcile, "expenses": Expenses})
    runner.start(schedule=False, watch=False)
    h = ConsoleHarness(runner=runner, app=None, home=home)
    h.app = create_app(runner, environ=console_environ(), clock=lambda: h.now[0])
    try:
        yield h
    finally:
        runner.shutdown(wait=False)
        runner.wait_idle(10)


@pytest.fixture(scope="module")
def secret_outside(harness: ConsoleHarness) -> Path:
    """A file outside every root holding what a console token looks like."""
    path = harness.home / "serve-environ.txt"
    path.write_text(f"BR_TOKEN_ADA={SECRET}\n")
    return path


def _runs(h: ConsoleHarness, bot: str) -> int:
    return len(h.runner.history.list_runs(bot=bot, limit=1000).runs)


def _files_holding(folder: Path, needle: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_proc_self_environ_as_statement_is_refused_and_nothing_is_copied(harness: ConsoleHarness) -> None:
    h = harness
    before = _runs(h, "reconcile")
    attack = {"params": {"statement": "/proc/self/environ"}}
    response = h.client("otto").post("/api/v1/bots/reconcile/runs", json=attack)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "statement" and "refused" in error["message"]
    assert _runs(h, "reconcile") == before  # nothing queued, so nothing read or copied
    runs_dir = h.runner.settings.runs_path
    assert not runs_dir.exists() or not _files_holding(runs_dir, "BR_TOKEN")


@pytest.mark.parametrize(
    "statement",
    ["../../../serve-environ.txt", "../expenses/../../../serve-environ.txt", "/etc/passwd", "/dev/zero"],
)
def test_statements_outside_the_inbox_are_refused(
    harness: ConsoleHarness, secret_outside: Path, statement: str
) -> None:
    response = harness.client("otto").post("/api/v1/bots/reconcile/runs", json={"params": {"statement": statement}})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "statement"


def test_a_symlink_in_the_inbox_named_as_statement_is_refused(harness: ConsoleHarness, secret_outside: Path) -> None:
    link = harness.home / "var/inbox/reconcile/innocent.csv"
    os.symlink(secret_outside, link)
    try:
        response = harness.client("otto").post(
            "/api/v1/bots/reconcile/runs", json={"params": {"statement": "innocent.csv"}}
        )
        assert response.status_code == 422
        assert "outside the root" in response.json()["errors"][0]["message"]
    finally:
        link.unlink()


def test_a_symlink_dropped_in_the_inbox_is_skipped_and_never_copied(
    harness: ConsoleHarness, secret_outside: Path
) -> None:
    h = harness
    link = h.home / "var/inbox/reconcile/statement-2024-03.csv"
    os.symlink(secret_outside, link)
    try:
        response = h.client("otto").post("/api/v1/bots/reconcile/runs", json={"params": {}})
        assert response.status_code == 202, response.text
        run = h.finished(response.json()["id"], timeout=60)
    finally:
        link.unlink()
    assert run.status == "succeeded", run.error
    assert run.counts["statements_rejected"] == 0 and run.counts["statements_imported"] == 0
    assert not _files_holding(Path(run.run_dir), SECRET)  # no copy in rejected/, the workbook or anywhere
    logs = "\n".join(line.message for line in h.runner.history.logs(run.id))
    assert "skipped statement-2024-03.csv" in logs and "outside the root" in logs


def test_expenses_file_anywhere_is_refused_and_not_moved(harness: ConsoleHarness) -> None:
    h = harness
    victim = h.home / "backroom.toml"
    victim.write_text("# the live config\n")
    before = _runs(h, "expenses")
    response = h.client("otto").post("/api/v1/bots/expenses/runs", json={"params": {"file": str(victim)}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert victim.read_text() == "# the live config\n"
    assert not (h.home / "rejected").exists() and not (h.home / "var/inbox/expenses/rejected").exists()
    assert _runs(h, "expenses") == before


@pytest.mark.parametrize("trigger", [Trigger.API, Trigger.MANUAL, Trigger.FILE, Trigger.CHAIN])
def test_every_kind_of_trigger_confines_the_params(harness: ConsoleHarness, trigger: Trigger) -> None:
    with pytest.raises(ParamsInvalid) as caught:
        harness.runner.trigger("reconcile", {"ledger": "/proc/self/environ"}, actor="x", trigger=trigger)
    assert caught.value.errors[0]["field"] == "ledger"


def test_stored_params_that_leave_the_roots_fail_in_the_runs_own_process(harness: ConsoleHarness) -> None:
    """A run recorded without going through the trigger (a tampered row, an old requeue) is confined again."""
    h = harness
    run = h.runner.history.create_run("reconcile", trigger=Trigger.RETRY, params={"statement": "/proc/self/environ"})
    h.runner.dispatcher.enqueue(run)
    done = h.finished(run.id, timeout=60)
    assert done.status == "failed" and "refused" in (done.error or "")
    assert not done.run_dir or not _files_holding(Path(done.run_dir), "BR_TOKEN")


def test_run_now_form_offers_a_picker_of_inbox_files_and_no_server_path(
    harness: ConsoleHarness, secret_outside: Path
) -> None:
    h = harness
    inbox = h.home / "var/inbox/reconcile"
    (inbox / "march").mkdir(exist_ok=True)
    (inbox / "march" / "bank.csv").write_text("date,amount\n")
    os.symlink(secret_outside, inbox / "looks-fine.csv")
    try:
        client = h.login("otto")
        page = client.get("/bots/reconcile").text
        assert "path on the server" not in page and "__path" not in page
        assert 'name="statement__pick"' in page and '<option value="march/bank.csv"' in page
        assert "looks-fine.csv" not in page  # a link out of the inbox is not offered
        before = _runs(h, "reconcile")
        forged = client.post("/bots/reconcile/run", data={"csrf": client.csrf, "statement__pick": "/proc/self/environ"})
        assert forged.status_code == 422 and _runs(h, "reconcile") == before
        old_box = client.post("/bots/reconcile/run", data={"csrf": client.csrf, "ledger__path": str(secret_outside)})
        assert old_box.status_code == 303  # the old free-path field is ignored: the run uses the config ledger
        run = h.finished(old_box.headers["location"].rsplit("/", 1)[1], timeout=60)
        assert "ledger" not in run.params or run.params["ledger"] is None
    finally:
        (inbox / "looks-fine.csv").unlink()

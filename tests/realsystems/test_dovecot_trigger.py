"""The mailbox trigger on a real Dovecot: a message starts its bot once, across restarts, and is filed.

Each test logs in as a user of its own (``add_user``), so the session's shared server holds no
message of another test. Runs are real runs of ``tests.support.trigger_bots`` through a runner.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from backroom.schedules.history import History
from backroom.schedules.mailbox import MailWatcher
from backroom.schedules.status import Trigger
from tests.fixtures.runner import build_settings
from tests.realsystems.dovecot import Dovecot

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

PDF = b"%PDF-1.4\n% a tiny stand-in invoice\n%%EOF\n"
CSV = "date,amount\n2026-05-01,12.50\n".encode("gb18030")


def _message(sender: str, subject: str, attachments: dict[str, bytes]) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ap@backroom.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@supplier.example>"
    message.set_content("Files attached.")
    for name, data in attachments.items():
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("text", "csv")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def _until_login(server: Dovecot, user: str, password: str) -> None:
    """Dovecot notices a changed passwd-file by its mtime (whole seconds): wait until the new user logs in."""
    deadline = time.monotonic() + 10
    while True:
        client = IMAPClient(server.host, port=server.port, ssl=False)
        try:
            client.login(user, password)
            client.logout()
            return
        except Exception:
            client.shutdown()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def mailbox(imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    user = f"ap{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    imap_server.add_user(user, password)
    monkeypatch.setenv("BR_TEST_IMAP_PASSWORD", password)
    _until_login(imap_server, user, password)
    return {
        "host": imap_server.host,
        "port": imap_server.port,
        "security": "none",
        "user": user,
        "password": "env:BR_TEST_IMAP_PASSWORD",
        "senders": ["*@supplier.example"],
        "subject": "*对账*",
        "attachments": ["*.pdf", "*.csv"],
        "poll": "1s",
        "retry_after": "10m",
    }


def _client(mail: dict[str, Any]) -> IMAPClient:
    client = IMAPClient(mail["host"], port=mail["port"], ssl=False)
    client.login(mail["user"], os.environ["BR_TEST_IMAP_PASSWORD"])
    return client


def _subjects(mail: dict[str, Any], folder: str) -> list[str]:
    from email import message_from_bytes, policy

    with _client(mail) as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
        return sorted(
            str(message_from_bytes(v[b"BODY[HEADER.FIELDS (SUBJECT)]"], policy=policy.default)["Subject"])
            for v in data.values()
        )


def _wait_finished(history: History, run_id: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = history.get_run(run_id)
        if run is not None and run.status not in ("queued", "running"):
            return run.status
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def _settings(tmp_path: Path, mail: dict[str, Any], **bot: Any) -> Any:
    return build_settings(tmp_path, bot_modules=["tests.support.trigger_bots"], bots={"mailed": {"mail": mail, **bot}})


def test_two_attachments_start_the_bot_once_across_a_restart_then_the_mail_is_moved(
    tmp_path: Path, mailbox: dict[str, Any], start_runner: Any
) -> None:
    with _client(mailbox) as client:
        wanted = _message("Billing <billing@supplier.example>", "五月对账单", {"invoice.pdf": PDF, "lines.csv": CSV})
        client.append("INBOX", wanted)
        client.append("INBOX", _message("spam@elsewhere.example", "五月对账单", {"x.pdf": PDF}))  # wrong sender
        client.append("INBOX", _message("billing@supplier.example", "hello", {"y.pdf": PDF}))  # wrong subject
    settings = _settings(tmp_path, mailbox)
    runner = start_runner(settings, schedule=False, watch=False)
    first = MailWatcher(settings, runner.history, runner._submit_event(Trigger.MAIL))

    (run,) = first.poll_once()
    assert run.trigger == "mail"
    files = [Path(p) for p in run.params["files"]]
    assert sorted(p.name for p in files) == ["invoice.pdf", "lines.csv"]
    inbox_root = settings.roots_for("mailed").root("inbox")
    assert all(p.resolve().is_relative_to(inbox_root) for p in files)
    assert {p.name: p.read_bytes() for p in files} == {"invoice.pdf": PDF, "lines.csv": CSV}

    # a restart: a new watcher on a new connection to the same history starts nothing again
    restarted = MailWatcher(settings, History(settings.database_url), runner._submit_event(Trigger.MAIL))
    assert restarted.poll_once() == []
    assert _wait_finished(runner.history, run.id) == "succeeded"
    assert runner.history.get_run(run.id).counts == {"files": 2}

    assert restarted.poll_once() == []  # files the handled message
    assert _subjects(mailbox, "Archive") == ["五月对账单"]
    assert _subjects(mailbox, "INBOX") == ["hello", "五月对账单"]  # the two that did not match stay
    assert restarted.poll_once() == [] and first.poll_once() == []
    assert len(runner.history.list_runs(bot="mailed", limit=100).runs) == 1
    assert not restarted.errors


def test_a_failed_run_leaves_the_mail_for_a_retry_after_retry_after(
    tmp_path: Path, mailbox: dict[str, Any], start_runner: Any
) -> None:
    mailbox.update(move_to=None, attachments=[], types=["text/csv"])
    with _client(mailbox) as client:
        client.append("INBOX", _message("a@supplier.example", "对账 retry", {"fail-once.csv": CSV, "skip.pdf": PDF}))
    settings = _settings(tmp_path, mailbox)
    runner = start_runner(settings, schedule=False, watch=False)
    now = [dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)]
    watcher = MailWatcher(settings, runner.history, runner._submit_event(Trigger.MAIL), clock=lambda: now[0])

    (first,) = watcher.poll_once()
    assert [Path(p).name for p in first.params["files"]] == ["fail-once.csv"]  # only text/csv passes `types`
    assert _wait_finished(runner.history, first.id) == "failed"
    assert watcher.poll_once() == []  # notices the failure; the message stays, unflagged
    now[0] += dt.timedelta(minutes=9)
    assert watcher.poll_once() == []  # not before retry_after
    with _client(mailbox) as client:
        client.select_folder("INBOX")
        assert not any(b"$BackroomDone" in f for f in client.get_flags(client.search(["ALL"])).values())

    now[0] += dt.timedelta(minutes=2)
    (second,) = watcher.poll_once()
    assert second.id != first.id and Path(second.params["files"][0]).parent != Path(first.params["files"][0]).parent
    assert _wait_finished(runner.history, second.id) == "succeeded"
    assert watcher.poll_once() == []
    with _client(mailbox) as client:
        client.select_folder("INBOX")
        (uid,) = client.search(["ALL"])  # never deleted: flagged in place
        assert b"$BackroomDone" in client.get_flags([uid])[uid]
    assert watcher.poll_once() == []
    assert [r.status for r in runner.history.list_runs(bot="mailed", limit=100).runs] == ["succeeded", "failed"]


def test_a_transient_failure_retried_by_the_runner_is_followed_not_taken_again(
    tmp_path: Path, mailbox: dict[str, Any], start_runner: Any
) -> None:
    with _client(mailbox) as client:
        client.append("INBOX", _message("a@supplier.example", "对账 transient", {"transient-once.csv": CSV}))
    settings = _settings(tmp_path, mailbox, retries=1, retry_backoff="0.3s")
    runner = start_runner(settings, schedule=False, watch=False)
    watcher = MailWatcher(settings, runner.history, runner._submit_event(Trigger.MAIL))

    (first,) = watcher.poll_once()
    assert _wait_finished(runner.history, first.id) == "failed"
    assert watcher.poll_once() == []  # the runner's retry is coming: the message is neither failed nor retaken
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(runner.history.list_runs(bot="mailed", limit=10).runs) < 2:
        time.sleep(0.1)
    retry = runner.history.list_runs(bot="mailed", limit=10).runs[0]
    assert retry.trigger == "retry" and retry.parent_run_id == first.id
    assert _wait_finished(runner.history, retry.id) == "succeeded"
    assert watcher.poll_once() == []
    assert _subjects(mailbox, "Archive") == ["对账 transient"] and _subjects(mailbox, "INBOX") == []
    assert len(runner.history.list_runs(bot="mailed", limit=10).runs) == 2


def test_idle_notices_a_new_message_long_before_the_next_poll(
    tmp_path: Path, mailbox: dict[str, Any], start_runner: Any
) -> None:
    import threading

    mailbox.update(poll="10m")
    settings = _settings(tmp_path, mailbox)
    runner = start_runner(settings, schedule=False, watch=False)
    watcher = MailWatcher(settings, runner.history, runner._submit_event(Trigger.MAIL))
    assert watcher.poll_once() == []  # empty so far
    idle = threading.Thread(target=watcher._idle_loop, args=("mailed", settings.bots["mailed"].mail), daemon=True)
    idle.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (watcher.idling.get("mailed") and watcher.idling["mailed"].is_set()):
            time.sleep(0.05)
        assert watcher.idling["mailed"].is_set(), "no IDLE session"
        watcher._wake.clear()  # the wake every new IDLE session gives (for what came while none was up)
        with _client(mailbox) as client:
            client.append("INBOX", _message("b@supplier.example", "对账 idle", {"lines.csv": CSV}))
        assert watcher._wake.wait(20), "the server's EXISTS did not wake the poller"  # not 10 minutes
    finally:
        watcher._stop.set()
        idle.join(10)
    (run,) = watcher.poll_once()
    assert _wait_finished(runner.history, run.id) == "succeeded"
    assert watcher.poll_once() == []
    assert _subjects(mailbox, "Archive") == ["对账 idle"]


def test_serve_runs_the_mail_watcher_and_stops_it(tmp_path: Path, mailbox: dict[str, Any]) -> None:
    from backroom.schedules.runner import Runner

    with _client(mailbox) as client:
        client.append("INBOX", _message("c@supplier.example", "对账 serve", {"lines.csv": CSV}))
    runner = Runner(_settings(tmp_path, mailbox))
    runner.start(schedule=False)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _subjects(mailbox, "Archive"):
            time.sleep(0.1)  # polled at start, run, and filed once the run ended (its end wakes the poller)
        assert _subjects(mailbox, "Archive") == ["对账 serve"]
        assert runner.mail_watcher.idling["mailed"].is_set()
    finally:
        runner.shutdown(wait=True)
    assert not any(t.is_alive() for t in runner.mail_watcher._idlers)
    (run,) = runner.history.list_runs(bot="mailed", limit=10).runs
    assert run.status == "succeeded" and run.trigger == "mail"


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_verifies_the_server_certificate(
    security: str, tmp_path: Path, imap_server: Dovecot, mailbox: dict[str, Any], start_runner: Any
) -> None:
    port = imap_server.tls_port if security == "tls" else imap_server.port
    mailbox.update(security=security, port=port, host="127.0.0.1")
    with _client(mailbox | {"port": imap_server.port}) as client:
        client.append("INBOX", _message("d@supplier.example", f"对账 {security}", {"lines.csv": CSV}))
    untrusted = _settings(tmp_path, mailbox)
    runner = start_runner(untrusted, schedule=False, watch=False)
    refused = MailWatcher(untrusted, runner.history, runner._submit_event(Trigger.MAIL))
    assert refused.poll_once() == []
    assert "CERTIFICATE_VERIFY_FAILED" in refused.errors["mailed"]  # a self-signed server is not believed

    trusted = _settings(tmp_path, mailbox | {"ca_file": str(imap_server.ca_file)})
    watcher = MailWatcher(trusted, runner.history, runner._submit_event(Trigger.MAIL))
    (run,) = watcher.poll_once()
    assert _wait_finished(runner.history, run.id) == "succeeded"
    assert watcher.poll_once() == [] and not watcher.errors

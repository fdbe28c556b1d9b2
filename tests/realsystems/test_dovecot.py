"""Dovecot over IMAP with imaplib, the way a mail-triggered bot reads its inbox."""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from tests.realsystems.dovecot import Dovecot

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

PDF = b"%PDF-1.4\n% a tiny stand-in invoice\n%%EOF\n"
CSV = b"date,amount\n2026-05-01,12.50\n"


@pytest.fixture
def imap(imap_server: Dovecot) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4(imap_server.host, imap_server.port)
    client.login(imap_server.user, imap_server.password)
    try:
        yield client
    finally:
        client.logout()


def _message(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "supplier@example.test"
    message["To"] = "tester@backroom.test"
    message["Subject"] = subject
    message.set_content("Two files attached.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    message.add_attachment(CSV, maintype="text", subtype="csv", filename="lines.csv")
    return message.as_bytes()


def _fresh_folder(client: imaplib.IMAP4, name: str) -> None:
    """The session shares one server: empty the folder a test files into (an empty set is BAD in IMAP)."""
    client.create(name)
    status, count = client.select(name)
    assert status == "OK", count
    if int(count[0]):
        client.store("1:*", "+FLAGS", r"(\Deleted)")
        client.expunge()


def test_login_and_capabilities(imap_server: Dovecot, imap: imaplib.IMAP4) -> None:
    status, data = imap.capability()  # imaplib keeps the pre-login list; ask again
    assert status == "OK"
    capabilities = data[0].decode().split()
    assert "IDLE" in capabilities
    assert "MOVE" in capabilities
    refused = imaplib.IMAP4(imap_server.host, imap_server.port)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        refused.login(imap_server.user, "wrong")
    refused.logout()


def test_append_search_fetch_two_attachments(imap_server: Dovecot, imap: imaplib.IMAP4) -> None:
    subject = "Invoice 2026-05 (append)"
    assert imap.append("INBOX", None, None, _message(subject))[0] == "OK"
    imap.select("INBOX")
    status, found = imap.search(None, "SUBJECT", '"Invoice 2026-05 (append)"')
    assert status == "OK"
    (number,) = found[0].split()

    status, data = imap.fetch(number, "(RFC822)")
    assert status == "OK"
    fetched = message_from_bytes(data[0][1], policy=policy.default)
    assert fetched["Subject"] == subject
    attachments = {part.get_filename(): part.get_content() for part in fetched.iter_attachments()}
    assert attachments == {"invoice.pdf": PDF, "lines.csv": CSV.decode()}
    assert any(imap_server.maildir.rglob("*,S=*")), "the message is a file in the test's own maildir"


def test_copy_and_move_between_folders(imap: imaplib.IMAP4) -> None:
    for folder in ("Processed", "Archive"):
        _fresh_folder(imap, folder)
    imap.append("INBOX", None, None, _message("to be filed"))
    imap.select("INBOX")
    (number,) = imap.search(None, "SUBJECT", '"to be filed"')[1][0].split()

    assert imap.copy(number, "Archive")[0] == "OK"
    assert imap.uid("SEARCH", "SUBJECT", '"to be filed"')[0] == "OK"
    uid = imap.uid("SEARCH", "SUBJECT", '"to be filed"')[1][0].split()[-1]
    assert imap.uid("MOVE", uid, "Processed")[0] == "OK"

    assert imap.search(None, "SUBJECT", '"to be filed"')[1] == [b""]
    for folder in ("Processed", "Archive"):
        imap.select(folder, readonly=True)
        assert len(imap.search(None, "SUBJECT", '"to be filed"')[1][0].split()) == 1, folder

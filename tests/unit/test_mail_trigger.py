"""Mailbox trigger rules that need no server: what is refused, how attachments are named and picked."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from backroom.schedules.mailbox import _safe_name, attachments_of, message_key, security_problem
from backroom.schedules.settings import InvalidConfig, MailSettings, parse_settings

BASE = {"host": "imap.example.com", "user": "ap", "password": "env:IMAP_PW"}


def test_clear_text_login_is_refused_off_loopback() -> None:
    assert security_problem(MailSettings(**BASE, security="none")) is not None
    assert "loopback" in security_problem(MailSettings(**BASE, security="none"))
    assert security_problem(MailSettings(**{**BASE, "host": "127.0.0.1"}, security="none")) is None
    assert security_problem(MailSettings(**BASE)) is None  # tls by default


def test_password_must_be_a_secret_reference_and_flag_a_keyword() -> None:
    with pytest.raises(InvalidConfig, match=r"bots.b.mail\] password"):
        parse_settings({"bots": {"b": {"mail": {**BASE, "password": "hunter2"}}}})
    with pytest.raises(InvalidConfig, match="IMAP keyword"):
        parse_settings({"bots": {"b": {"mail": {**BASE, "flag": "done now"}}}})


def test_saved_names_stay_in_their_folder_and_never_collide() -> None:
    taken: set[str] = set()
    assert _safe_name("../../etc/passwd", taken) == "passwd"
    assert _safe_name("..\\..\\evil.bat", taken) == "evil.bat"
    assert _safe_name("对账单.xlsx", taken) == "对账单.xlsx"
    assert _safe_name("对账单.xlsx", taken) == "对账单-2.xlsx"
    assert _safe_name("..", taken) == "attachment"


def test_attachment_filters_by_name_and_type() -> None:
    message = EmailMessage()
    message.set_content("see attached")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="Invoice.PDF")
    message.add_attachment(b"a,b", maintype="text", subtype="csv", filename="lines.csv")
    mail = MailSettings(**BASE, attachments=["*.pdf"])
    assert [a.name for a in attachments_of(message, mail)] == ["Invoice.PDF"]
    mail = MailSettings(**BASE, types=["text/*"])
    assert [(a.name, a.data) for a in attachments_of(message, mail)] == [("lines.csv", b"a,b")]


def test_message_key_is_the_message_id_else_the_place() -> None:
    assert message_key("<a@b>", "INBOX", 1, 5) == message_key(" <a@b> ", "Other", 2, 9)
    assert message_key(None, "INBOX", 1, 5) != message_key(None, "INBOX", 1, 6)


def test_check_reports_clear_text_off_loopback_a_missing_param_and_an_unset_password(tmp_path) -> None:
    from backroom.bots.sdk.secrets import SecretResolver
    from backroom.schedules.check import check_settings
    from backroom.schedules.discovery import discover

    settings = parse_settings(
        {
            "home": str(tmp_path),
            "bot_modules": ["tests.support.trigger_bots"],
            "bots": {"mailed": {"mail": {**BASE, "security": "none", "param": "attachments"}}},
        },
        tmp_path / "backroom.toml",
    )
    problems = [str(p) for p in check_settings(settings, discover(settings.bot_modules), SecretResolver(environ={}))]
    assert any("[bots.mailed.mail] security: security = 'none' sends the password in clear" in p for p in problems)
    assert any("[bots.mailed.mail] param: bot has no parameter 'attachments'" in p for p in problems)
    assert any("[bots.mailed.mail] password: secret 'env:IMAP_PW' is referenced but not set" in p for p in problems)

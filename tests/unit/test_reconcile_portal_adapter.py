"""The portal adapter without a browser: the one-time code's sources (an HTTP endpoint, a file an SMS
forwarder writes, a secret) and the check that a download is complete."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.bank_portal.base import FetchedStatement, verify_download
from backroom.bots.systems.bank_portal.browser import BrowserBankPortal
from tests.fixtures.reconcile import ACCOUNT


def _portal(source: str, **options) -> BrowserBankPortal:
    settings = SystemSettings(
        kind="bank-portal",
        url="http://127.0.0.1:9",
        username="u",
        password="env:P",
        options={"otp_source": source, "otp_timeout": 0.6, **options},
    )
    return BrowserBankPortal(settings, lambda ref: {"env:BANK_OTP": "654321", "env:P": "pw"}[ref])


def test_code_from_a_file_written_after_login(tmp_path: Path) -> None:
    sms = tmp_path / "sms.txt"
    started = time.time()
    sms.write_text("【启航银行】验证码 112233，5分钟内有效\n【启航银行】验证码 445566，5分钟内有效\n", encoding="utf-8")
    assert _portal(f"file:{sms}").one_time_code("u", started) == "445566"  # the newest code


def test_stale_file_is_not_used(tmp_path: Path) -> None:
    """A code older than the login is never typed; the wait ends on a clock the test moves."""
    sms = tmp_path / "sms.txt"
    sms.write_text("验证码 112233", encoding="utf-8")
    now = [0.0]
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    settings = SystemSettings(
        kind="bank-portal",
        url="http://127.0.0.1:9",
        username="u",
        password="env:P",
        options={"otp_source": f"file:{sms}", "otp_timeout": 2},
    )
    portal = BrowserBankPortal(settings, lambda ref: "", clock=lambda: now[0], sleep=nap)
    with pytest.raises(TransientError, match="no one-time code arrived"):
        portal.one_time_code("u", time.time() + 30)
    assert naps == [0.5] * 5  # polled every half second until the 2 s were over


def test_code_from_a_secret_reference() -> None:
    assert _portal("env:BANK_OTP").one_time_code("u", time.time()) == "654321"


def test_code_from_the_sandbox_endpoint(bank_portal) -> None:
    import httpx

    httpx.post(f"{bank_portal.url}/login", data={"username": "finance01", "password": "Bank#2024"})
    settings = SystemSettings(
        kind="bank-portal",
        url=bank_portal.url,
        username="finance01",
        password="env:P",
        options={"otp_source": "url:/_sandbox/otp?username={username}"},
    )
    code = BrowserBankPortal(settings, lambda ref: "").one_time_code("finance01", time.time())
    assert code == bank_portal.app.state.bank["codes"]["finance01"]


def test_missing_source_is_a_config_error() -> None:
    settings = SystemSettings(kind="bank-portal", url="http://127.0.0.1:9", username="u", password="env:P")
    with pytest.raises(ConfigError, match="otp_source"):
        BrowserBankPortal(settings, lambda ref: "").one_time_code("u", 0)


def test_incomplete_download_is_detected(bank_data, tmp_path: Path, write_bank_statement) -> None:
    path = write_bank_statement("xlsx")
    lines = len(bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 31)).lines)
    ok = FetchedStatement(path, ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 31), lines, None)
    verify_download(ok)
    with pytest.raises(TransientError, match="announced"):
        verify_download(FetchedStatement(path, ACCOUNT, ok.start, ok.end, lines + 1, None))
    with pytest.raises(TransientError, match="closing balance"):
        verify_download(FetchedStatement(path, ACCOUNT, ok.start, ok.end, lines, Decimal("1.00")))
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(TransientError, match="incomplete or damaged"):
        verify_download(ok)

"""The sandbox bank portal through HTTP: login with a one-time code, downloads, misbehaviour."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from backroom.bots.formats.statements import parse_statement
from tests.fixtures.reconcile import ACCOUNT


@contextmanager
def _login(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
        _sign_in(client)
        yield client


def _sign_in(client: httpx.Client) -> None:
    page = client.post("/login", data={"username": "finance01", "password": "Bank#2024"})
    assert "短信验证码" in page.text
    code = client.get("/_sandbox/otp", params={"username": "finance01"}).json()["code"]
    assert re.fullmatch(r"\d{6}", code)
    accounts = client.post("/otp", data={"code": code})
    assert ACCOUNT in accounts.text and str(accounts.url).endswith("/accounts")


def test_wrong_password_and_wrong_code(bank_portal) -> None:
    with httpx.Client(base_url=bank_portal.url, follow_redirects=True) as client:
        page = client.post("/login", data={"username": "finance01", "password": "nope"})
        assert "用户名或密码错误" in page.text
        client.post("/login", data={"username": "finance01", "password": "Bank#2024"})
        assert "验证码错误" in client.post("/otp", data={"code": "000000x"}).text
        assert "登录" in client.get("/accounts").text  # no session without the code


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "mt940", "camt053"])
def test_download_every_format(bank_portal, bank_data, tmp_path: Path, fmt: str) -> None:
    with _login(bank_portal.url) as client:
        r = client.get(
            "/statement/download", params={"account": ACCOUNT, "start": "2024-02-01", "end": "2024-02-29", "fmt": fmt}
        )
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    path = tmp_path / re.search(r'filename="([^"]+)"', r.headers["content-disposition"]).group(1)
    path.write_bytes(r.content)
    (st,) = parse_statement(path)
    expected = bank_data.statement(ACCOUNT, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert len(st.lines) == int(r.headers["x-statement-lines"]) == len(expected.lines)
    assert st.closing_balance == expected.closing


def test_statements_are_deterministic_and_continuous(bank_data) -> None:
    from backroom.sandbox.bank import BankData

    feb = bank_data.statement(ACCOUNT, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    mar = BankData(seed=42).statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert mar.opening == feb.closing
    assert BankData(seed=43).statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 31)).lines != mar.lines


def test_rate_limit_and_errors(bank_portal) -> None:
    faults = bank_portal.app.state.faults
    with _login(bank_portal.url) as client:
        faults.update({"rate_limit_every": 2, "retry_after_s": 3})
        statuses = [client.get("/accounts") for _ in range(4)]
        assert [r.status_code for r in statuses].count(429) == 2
        assert next(r for r in statuses if r.status_code == 429).headers["retry-after"] == "3"
        faults.update({"rate_limit_every": 0, "fail_next": 1, "error_status": 502})
        assert client.get("/accounts").status_code == 502
        assert client.get("/accounts").status_code == 200


def test_session_expiry(bank_data) -> None:
    """Sessions age by the portal's clock: the test moves it past the TTL instead of sleeping."""
    from backroom.sandbox.bank import create_app
    from backroom.sandbox.server import running
    from tests.fixtures.tickets import MovableClock

    clock = MovableClock(dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.UTC))
    with running(create_app(bank_data, clock=clock)) as portal, _login(portal.url) as client:
        httpx.post(f"{portal.url}/_sandbox/faults", json={"session_ttl_s": 600})
        clock.advance(seconds=599)
        assert "会话已超时" not in client.get("/accounts").text
        clock.advance(seconds=2)
        page = client.get("/accounts")
        assert "会话已超时" in page.text
        assert portal.app.state.faults.counters["session_expired"] == 1


def test_layout_variant_renames_fields(bank_portal) -> None:
    with _login(bank_portal.url) as client:
        normal = client.get("/statement", params={"account": ACCOUNT}).text
        bank_portal.app.state.faults.update({"layout_variant": 1})
        moved = client.get("/statement", params={"account": ACCOUNT}).text
        assert 'name="start"' in normal and 'name="start"' not in moved and 'name="qsrq"' in moved
        assert "起始日期" in moved  # the labels stay
        result = client.get(
            "/statement/query", params={"zh": ACCOUNT, "qsrq": "2024-03-01", "zzrq": "2024-03-02", "gs": "csv"}
        )
        assert 'id="r-count"' in result.text

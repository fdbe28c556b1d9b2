"""Onboarding through its work-item queue: one employee per item, failures kept apart and never lost.

The account system is a stand-in here only to inject faults (a refused person, an outage); the same
flow against a real Request Tracker is in tests/realsystems/test_onboarding_rt.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from backroom.bots.onboarding import Onboarding, OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.bot import QUEUE
from backroom.bots.sdk.testing import make_context, make_params
from backroom.bots.sdk.workitems import WorkQueue
from backroom.bots.systems.accounts.base import Account, AccountDirectory, NewAccount
from backroom.schedules.history import History

T0 = dt.datetime(2026, 3, 16, 1, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 16)
ID_NUMBER = "310101199001010012"
MOBILE = "13900139000"


class Directory(AccountDirectory):
    """An account system in memory, shared by every run of a test; ``outages[login]`` failures to come."""

    accounts: dict[str, Account] = {}
    outages: dict[str, int] = {}
    writes: list[str] = []

    def __init__(self, settings: Any, secret: Any) -> None:
        pass

    def find(self, login: str) -> Account | None:
        if self.outages.get(login, 0) > 0:
            self.outages[login] -= 1
            raise ConnectionError("the account system did not answer")
        return self.accounts.get(login)

    def create(self, new: NewAccount) -> Account:
        self.writes.append(f"create {new.login}")
        self.accounts[new.login] = Account(str(len(self.accounts) + 1), new.login, new.email, False)
        return self.accounts[new.login]

    def add_to_groups(self, login: str, groups: list[str]) -> Account:
        raise AssertionError("no position here lists groups")

    def disable(self, login: str) -> Account:
        self.writes.append(f"disable {login}")
        old = self.accounts[login]
        self.accounts[login] = Account(old.id, old.login, old.email, True, old.groups)
        return self.accounts[login]

    def open_work(self, login: str) -> list[str]:
        return []

    def reassign(self, item: str, to_login: str) -> str:
        raise AssertionError("nobody holds tickets here")


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> type[Directory]:
    monkeypatch.setattr(Directory, "accounts", {})
    monkeypatch.setattr(Directory, "outages", {})
    monkeypatch.setattr(Directory, "writes", [])
    monkeypatch.setattr("backroom.bots.onboarding.bot.backend_class", lambda *a, **k: Directory)
    return Directory


def _hires(path: Path, numbers: list[str]) -> None:
    book = Workbook()
    book.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    for n in numbers:
        row = [f"员工{n}", n, ID_NUMBER, "客服部", "客服专员", "2026-03-16", "", MOBILE, f"{n}@example.com"]
        book.active.append(row)
    book.save(path)


def _run(tmp_path: Path, at: dt.datetime, **params: object):
    ctx = make_context(
        tmp_path,
        "onboarding",
        systems={"accounts": {"kind": "rt-rest", "url": "http://127.0.0.1:1", "token": "env:T"}},
        config=OnboardingConfig(systems=["accounts"]),
        environ={"T": "x"},
        clock=lambda: at,
    )
    params.setdefault("today", TODAY)
    try:
        return Onboarding().run(ctx, make_params(OnboardingParams, ctx, **params))
    finally:
        ctx.close()


def test_a_bad_employee_is_reported_and_an_outage_retried_without_stopping_the_batch(
    tmp_path: Path, directory: type[Directory]
) -> None:
    history = History(f"sqlite:///{tmp_path / 'backroom.db'}")
    queue = WorkQueue(history.engine, QUEUE)
    _hires(tmp_path / "hires.xlsx", ["A1", "B2", "C3", "D4"])
    # B2 returns: their old account is disabled, which a person must look at (a business failure)
    directory.accounts["b2@example.com"] = Account("9", "b2@example.com", "b2@example.com", True)
    directory.outages["c3@example.com"] = 1  # the account system does not answer for C3 once

    first = _run(tmp_path, T0, hires="hires.xlsx")
    assert first.status == "failed"
    assert first.counts | {} == first.counts | {
        "queued": 4,
        "items_done": 2,
        "items_business_failed": 1,
        "items_retrying": 1,
    }
    assert sorted(directory.writes) == ["create a1@example.com", "create d4@example.com"]  # D4 after the bad ones
    assert queue.counts() | {} == queue.counts() | {"done": 2, "business_failed": 1, "pending": 1}
    (reported,) = queue.reported()
    assert reported["ref"] == "hire:B2:2026-03-16" and "returning employee" in reported["error"]
    rows = list(load_workbook(first.outputs["checklist"]).active.iter_rows(values_only=True))
    assert any(r[0] == "C3" and r[5] == "稍后重试" and "did not answer" in r[7] for r in rows)
    assert any(r[0] == "B2" and r[5] == "失败" for r in rows)
    # the items carry no ID number or mobile
    assert not [i for i in queue.list() if ID_NUMBER in str(i["payload"]) or MOBILE in str(i["payload"])]

    # the runner starts the bot again with no list: before the backoff (60 s) nothing is due
    early = _run(tmp_path, T0 + dt.timedelta(seconds=59))
    assert early.counts["items_done"] == 0 and queue.counts()["pending"] == 1
    retried = _run(tmp_path, T0 + dt.timedelta(seconds=60))
    assert retried.status == "succeeded", retried.summary
    assert retried.counts["items_done"] == 1 and retried.counts["done"] == 1  # C3's account, nobody else's
    assert directory.writes[-1] == "create c3@example.com" and len(directory.writes) == 3
    assert queue.counts() | {} == queue.counts() | {"done": 3, "business_failed": 1, "pending": 0, "working": 0}

    # the same list again queues nobody and changes nothing; B2 stays reported until a person retries it
    again = _run(tmp_path, T0 + dt.timedelta(hours=1), hires="hires.xlsx")
    assert again.counts["queued"] == 0 and again.counts["done"] == 0 and len(directory.writes) == 3
    assert sum(queue.counts().values()) == 4


def test_an_outage_on_every_attempt_ends_failed_and_reported(tmp_path: Path, directory: type[Directory]) -> None:
    history = History(f"sqlite:///{tmp_path / 'backroom.db'}")
    queue = WorkQueue(history.engine, QUEUE)
    _hires(tmp_path / "hires.xlsx", ["A1"])
    directory.outages["a1@example.com"] = 3
    results = [
        _run(tmp_path, T0, hires="hires.xlsx"),
        _run(tmp_path, T0 + dt.timedelta(seconds=60)),
        _run(tmp_path, T0 + dt.timedelta(seconds=180)),  # backoff 60 s, then 120 s
    ]
    assert [r.counts["items_retrying"] for r in results] == [1, 1, 0]
    assert results[-1].counts["items_failed"] == 1 and results[-1].status == "failed"
    (reported,) = queue.reported()
    assert reported["state"] == "failed" and "attempt 3 of 3" in reported["error"]
    assert directory.writes == []


def test_a_leaver_is_queued_again_on_a_later_day_and_a_re_enabled_account_disabled(
    tmp_path: Path, directory: type[Directory]
) -> None:
    History(f"sqlite:///{tmp_path / 'backroom.db'}")
    _hires(tmp_path / "hires.xlsx", ["A1"])
    assert _run(tmp_path, T0, hires="hires.xlsx").status == "succeeded"
    book = Workbook()
    book.active.append(["工号", "最后工作日"])
    book.active.append(["A1", "2026-03-16"])
    book.save(tmp_path / "leavers.xlsx")
    assert _run(tmp_path, T0, leavers="leavers.xlsx").counts["done"] == 2  # handover, disable
    assert _run(tmp_path, T0, leavers="leavers.xlsx").counts["queued"] == 0  # the same day: nothing again
    old = directory.accounts["a1@example.com"]
    directory.accounts["a1@example.com"] = Account(old.id, old.login, old.email, False)  # re-enabled by someone
    later = _run(tmp_path, T0 + dt.timedelta(days=1), leavers="leavers.xlsx", today=TODAY + dt.timedelta(days=1))
    assert later.counts["queued"] == 1 and later.counts["done"] == 1
    assert directory.accounts["a1@example.com"].disabled

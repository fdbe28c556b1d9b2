"""The tickets bot against a real Request Tracker 5 set up as README "Request Tracker" says.

The bot runs as ``backroom-bot``, a non-root RT user holding only the rights the README lists, on
RT's stock lifecycle (close = ``resolved``, archive = move to ``Complaints-Archive``). Every result
is read back through REST2 as root, never taken from the bot's own report. The dialer is the
sandbox stand-in (a telephone cannot exist here); its clock is the real one, as RT's is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backroom.bots.systems.helpdesk.base import HelpdeskError
from tests.realsystems.rt import RequestTracker

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

DL_TOKEN = "sandbox-dialer-token"

#: (text, expected custom field values): Chinese and English complaints as customers write them
TEXTS: list[tuple[str, dict[str, str]]] = [
    (
        "客户姓名：王芳，手机13800138001，本月话费多扣了30元，要求退还。",
        {"CustomerName": "王芳", "Mobile": "13800138001", "Category": "billing"},
    ),
    (
        "我是李强，电话 139-1234-5678，家里宽带断网三天了。",
        {"CustomerName": "李强", "Mobile": "13912345678", "Category": "network"},
    ),
    (
        "联系人：赵敏 手机号15011112222，快递三天没送货。",
        {"CustomerName": "赵敏", "Mobile": "15011112222", "Category": "delivery"},
    ),
    (
        "My name is John Smith, mobile 13700001111. I was overcharged on my bill.",
        {"CustomerName": "John Smith", "Mobile": "13700001111", "Category": "billing"},
    ),
    (
        "This is Mary Jones, 18612345678. The internet signal drops every evening.",
        {"CustomerName": "Mary Jones", "Mobile": "18612345678", "Category": "network"},
    ),
    (
        "用户姓名：孙丽，手机：13600002222，客服态度很差，挂我电话。",
        {"CustomerName": "孙丽", "Mobile": "13600002222", "Category": "service"},
    ),
    (
        "客户：周杰，手机13500003333，申请退款一直没到账。",
        {"CustomerName": "周杰", "Mobile": "13500003333", "Category": "refund"},
    ),
    ("来电人：吴磊，13300004444，网速太慢。", {"CustomerName": "吴磊", "Mobile": "13300004444", "Category": "network"}),
]


def _root(rt: RequestTracker) -> httpx.Client:
    return httpx.Client(base_url=rt.rest_url, headers=rt.headers, timeout=30)


def _create(rt: RequestTracker, text: str, *, queue: str = "Complaints", **cf: str) -> int:
    with _root(rt) as client:
        body: dict[str, Any] = {"Queue": queue, "Subject": text[:20], "Content": text}
        if cf:
            body["CustomFields"] = cf
        answer = client.post("ticket", json=body)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def _ticket(rt: RequestTracker, tid: int) -> dict[str, Any]:
    with _root(rt) as client:
        data = client.get(f"ticket/{tid}", params={"fields[Queue]": "Name"}).json()
    data["cf"] = {cf["name"]: (cf.get("values") or [""])[0] for cf in data.get("CustomFields") or []}
    return data


def _history(rt: RequestTracker, tid: int) -> list[dict[str, Any]]:
    with _root(rt) as client:
        return client.get(f"ticket/{tid}/history", params={"fields": "Type,Field,NewValue", "per_page": 100}).json()[
            "items"
        ]


def _comments(rt: RequestTracker, tid: int) -> int:
    return sum(1 for item in _history(rt, tid) if item["Type"] == "Comment")


@pytest.fixture
def rt(rt_server: RequestTracker) -> RequestTracker:
    """A fresh database for each test (tickets of one test never meet another's query)."""
    rt_server.reset()
    return rt_server


@pytest.fixture
def dialer() -> Iterator[Any]:
    from backroom.sandbox.dialer import create_app
    from backroom.sandbox.server import start

    server = start(create_app(seed=1, outcome_delay_s=0.0))
    try:
        yield server
    finally:
        server.stop()


def _run(
    rt: RequestTracker,
    tmp: Path,
    dialer: Any,
    action: str,
    *,
    token: str | None = None,
    params: dict[str, Any] | None = None,
    **autoclose: Any,
) -> Any:
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams

    archive = tmp / "archive"
    archive.mkdir(exist_ok=True)
    values = {
        "archive_dir": str(archive),
        "min_age_hours": 0,
        "quiet_start": "00:00",
        "quiet_end": "00:00",
        "skip_public_holidays": False,
        "wait_for_outcomes_s": 5,
        "poll_interval_s": 0.05,
        **autoclose,
    }
    config = TicketsConfig.model_validate({"autoclose": values})
    systems = {
        "helpdesk": {"kind": "rt-rest", "url": rt.url, "token": "env:RT_TOKEN", "retries": 1},
        "dialer": {"kind": "dialer-http", "url": dialer.url, "token": "env:DL_TOKEN", "retries": 1},
    }
    environ = {"RT_TOKEN": token or rt.bot_token, "DL_TOKEN": DL_TOKEN}
    clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # noqa: E731 - RT's own clock, real
    ctx = make_context(tmp, "tickets", systems=systems, config=config, environ=environ, clock=clock)
    try:
        return Tickets().run(ctx, TicketsParams(action=action, **(params or {})))
    finally:
        ctx.close()


def test_fill_writes_confirmed_values_once(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    ids = {_create(rt, text): expected for text, expected in TEXTS}
    first = _run(rt, tmp_path, dialer, "fill")
    right = wrong = total = 0
    for tid, expected in ids.items():
        shown = _ticket(rt, tid)["cf"]
        for name, value in expected.items():
            total += 1
            if shown.get(name) == value:
                right += 1
            elif shown.get(name):
                wrong += 1
        assert _comments(rt, tid) == 1, tid
    assert wrong == 0 and right / total >= 0.95, (right, total, first)
    before = {tid: len(_history(rt, tid)) for tid in ids}
    second = _run(rt, tmp_path, dialer, "fill")
    assert {tid: len(_history(rt, tid)) for tid in ids} == before, second  # nothing written, nothing commented
    assert second.counts.get("filled", 0) == 0


def test_a_value_rt_refuses_is_an_error_never_counted(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    """A category written into the wrong Select list: RT answers 200 "Invalid value for custom field".
    What landed is counted and commented once; the refused required field is retried next run."""
    tid = _create(rt, "客户姓名：王芳，手机13800138001，本月话费多扣了30元。")
    fields = {"name": "CustomerName", "mobile": "Mobile", "category": "VIP"}  # a required field RT refuses
    result = _run_fill_with(rt, tmp_path, dialer, fields)
    assert result.counts.get("error") == 1 and result.counts.get("filled", 0) == 0, result
    shown = _ticket(rt, tid)["cf"]
    assert shown["CustomerName"] == "王芳" and shown["Mobile"] == "13800138001" and not shown.get("VIP")
    assert _comments(rt, tid) == 1  # what landed is commented once; the refused value is not in it
    again = _run_fill_with(rt, tmp_path, dialer, fields)
    assert again.counts.get("error") == 1 and _comments(rt, tid) == 1  # retried, never commented twice


def _run_fill_with(rt: RequestTracker, tmp: Path, dialer: Any, fields: dict[str, str]) -> Any:
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams

    config = TicketsConfig.model_validate({"fill": {"fields": fields}})
    systems = {
        "helpdesk": {"kind": "rt-rest", "url": rt.url, "token": "env:RT_TOKEN", "retries": 1},
        "dialer": {"kind": "dialer-http", "url": dialer.url, "token": "env:DL_TOKEN"},
    }
    ctx = make_context(tmp, "tickets", systems=systems, config=config, environ={"RT_TOKEN": rt.bot_token})
    try:
        result = Tickets().run(ctx, TicketsParams(action="fill"))
    finally:
        ctx.close()
    from openpyxl import load_workbook

    rows = list(load_workbook(result.outputs["report"]).active.iter_rows(values_only=True))
    detail = " ".join(str(r[-1]) for r in rows[1:])
    if result.counts.get("error"):
        assert "ticket " in detail and "VIP = 'billing'" in detail and "Invalid value for custom field" in detail, (
            detail
        )
    return result


def _resolved(rt: RequestTracker, mobile: str, dialer: Any, outcome: str = "satisfied") -> int:
    dialer.app.state.dialer.script(mobile, [outcome])
    tid = _create(rt, f"网速慢，手机{mobile}", Category="network", Mobile=mobile, Amount="100")
    with _root(rt) as client:
        assert client.put(f"ticket/{tid}", json={"Status": "resolved"}).status_code == 200
    return tid


def test_autoclose_on_stock_rt_then_nothing_to_do(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    ids = [_resolved(rt, f"1380000000{i}", dialer) for i in range(1, 4)]
    unhappy = _resolved(rt, "13800000004", dialer, "unsatisfied")
    first = _run(rt, tmp_path, dialer, "autoclose")
    assert first.counts.get("archived") == 3 and first.counts.get("reopened") == 1, first
    for tid in ids:
        shown = _ticket(rt, tid)
        assert (shown["Status"], shown["Queue"]["Name"]) == ("resolved", "Complaints-Archive")
        assert _comments(rt, tid) == 1
    shown = _ticket(rt, unhappy)
    assert (shown["Status"], shown["Queue"]["Name"]) == ("open", "Complaints-L2") and _comments(rt, unhappy) == 1
    ids.append(unhappy)
    before = {tid: len(_history(rt, tid)) for tid in ids}
    second = _run(rt, tmp_path, dialer, "autoclose")
    assert second.counts.get("called", 0) == 0 and second.counts.get("closed", 0) == 0, second
    assert {tid: len(_history(rt, tid)) for tid in ids} == before


def test_a_status_the_lifecycle_lacks_is_an_error_then_retried(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    tid = _resolved(rt, "13800000009", dialer)
    wrong = _run(rt, tmp_path, dialer, "autoclose", closed_status="closed")
    assert wrong.counts.get("errors") == 1 and not wrong.counts.get("closed") and not wrong.counts.get("archived")
    shown = _ticket(rt, tid)
    assert (shown["Status"], shown["Queue"]["Name"]) == ("resolved", "Complaints") and _comments(rt, tid) == 0
    fixed = _run(rt, tmp_path, dialer, "autoclose")  # the configuration corrected: the same ticket goes on
    assert fixed.counts.get("archived") == 1, fixed
    assert _ticket(rt, tid)["Queue"]["Name"] == "Complaints-Archive" and _comments(rt, tid) == 1


@pytest.mark.parametrize(("queue", "said"), [("NoSuchQueue", "does not exist"), ("General", "Permission Denied")])
def test_an_archive_queue_rt_refuses_leaves_the_ticket_unarchived(
    rt: RequestTracker, dialer: Any, tmp_path: Path, queue: str, said: str
) -> None:
    """An unknown queue, and one where the bot's user has no rights (General): RT says 200 and why."""
    tid = _resolved(rt, "13800000008", dialer)
    result = _run(rt, tmp_path, dialer, "autoclose", archive={"action": "queue", "queue": queue})
    assert result.counts.get("errors") == 1 and not result.counts.get("archived"), result
    assert _ticket(rt, tid)["Queue"]["Name"] == "Complaints"
    report = result.outputs["report"]
    from openpyxl import load_workbook

    actions = list(load_workbook(report)["Actions"].iter_rows(values_only=True))
    assert any(a[1] == "error" and f"Queue = '{queue}'" in a[2] and said in a[2] for a in actions), actions


def test_a_wrong_token_fails_the_run_naming_it(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    _create(rt, "客户姓名：王芳，手机13800138001")
    with pytest.raises(HelpdeskError, match=r"rejected the token \(401"):
        _run(rt, tmp_path, dialer, "fill", token="1-1-0000000000")


def test_rt_down_mid_run_is_a_transient_error(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    from backroom.bots.sdk.errors import TransientError

    _create(rt, "客户姓名：王芳，手机13800138001")
    rt.stop()
    try:
        with pytest.raises(TransientError):
            _run(rt, tmp_path, dialer, "fill")
    finally:
        rt.start()


def test_a_ticket_wrongly_recorded_archived_is_re_verified(rt: RequestTracker, dialer: Any, tmp_path: Path) -> None:
    """An earlier version counted RT's refusal as success; the next run sees RT and finishes the work."""
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.tickets.state import StateStore

    tid = _resolved(rt, "13800000007", dialer)
    ctx = make_context(tmp_path, "tickets", environ={})
    try:
        StateStore(ctx.engine).put(tid, state="archived", phone="13800000007", subject="x", attempt=1, reason="old")
    finally:
        ctx.close()
    result = _run(rt, tmp_path, dialer, "autoclose")
    assert result.counts.get("reverified") == 1 and result.counts.get("archived") == 1, result
    assert _ticket(rt, tid)["Queue"]["Name"] == "Complaints-Archive" and _comments(rt, tid) == 1


def test_an_operator_requeues_a_ticket_and_it_is_done_again_audited(
    rt: RequestTracker, dialer: Any, tmp_path: Path
) -> None:
    """Reopened after an unhappy call; a person fixes it and resolves it again in Complaints; the
    operator asks for a redo: a second call (a new attempt key), closed and archived, one close comment."""
    from openpyxl import load_workbook

    tid = _resolved(rt, "13800000006", dialer, "unsatisfied")
    dialer.app.state.dialer.script("13800000006", ["unsatisfied", "satisfied"])
    first = _run(rt, tmp_path, dialer, "autoclose")
    assert first.counts.get("reopened") == 1, first
    with _root(rt) as client:
        answer = client.put(f"ticket/{tid}", json={"Queue": "Complaints", "Status": "resolved"})
        assert answer.status_code == 200, answer.text
    untouched = _run(rt, tmp_path, dialer, "autoclose")
    assert untouched.counts.get("already_handled") == 1 and not untouched.counts.get("called"), untouched
    redo = _run(rt, tmp_path, dialer, "autoclose", params={"recheck": str(tid)})
    assert redo.counts.get("requeued") == 1 and redo.counts.get("archived") == 1, redo
    assert _ticket(rt, tid)["Queue"]["Name"] == "Complaints-Archive"
    assert _comments(rt, tid) == 2  # the reopen comment of the first call, the close comment of the second
    actions = list(load_workbook(redo.outputs["report"])["Actions"].iter_rows(values_only=True))
    assert any(a[1] == "requeued" and "from state reopened" in a[2] for a in actions), actions


def test_a_human_editing_between_read_and_write_wins(
    rt: RequestTracker, dialer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent types the customer's name right after the bot read the ticket: RT refuses the bot's
    stale write (If-Match, 412), the bot reads again and fills only what is still empty."""
    from backroom.bots.systems.helpdesk.rt import RTHelpdesk

    tid = _create(rt, "客户姓名：王芳，手机13800138001，本月话费多扣了30元。")
    original = RTHelpdesk.get
    edited: list[int] = []

    async def get_then_a_human_types(self: RTHelpdesk, ticket_id: int) -> Any:
        record = await original(self, ticket_id)
        if not edited:
            edited.append(ticket_id)
            with _root(rt) as client:
                answer = client.put(f"ticket/{ticket_id}", json={"CustomFields": {"CustomerName": "王芳芳"}})
                assert answer.status_code == 200, answer.text
        return record

    monkeypatch.setattr(RTHelpdesk, "get", get_then_a_human_types)
    result = _run(rt, tmp_path, dialer, "fill")
    assert edited == [tid] and result.counts.get("filled") == 1, result
    shown = _ticket(rt, tid)["cf"]
    assert shown["CustomerName"] == "王芳芳"  # the human's value, not overwritten
    assert (shown["Mobile"], shown["Category"]) == ("13800138001", "billing") and _comments(rt, tid) == 1

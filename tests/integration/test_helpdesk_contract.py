"""One contract suite for the helpdesk kind, run against every backend (RT REST2 and the browser).

Whatever the backend, the tickets bot relies on the same promises: a ticket reads the same, a
search finds what it names, a write returns the version the helpdesk *confirmed*, a write over
someone else's change is refused as :class:`TicketChanged` (a business error) and never applied,
and a missing ticket is :class:`TicketNotFound`. The sandbox helpdesk serves both the REST API and
the web pages, so one world checks both backends against the same data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.systems.base import open_system
from backroom.bots.systems.helpdesk.base import Helpdesk, TicketChanged, TicketNotFound
from tests.fixtures.tickets import ENV, TicketsWorld

T = TypeVar("T")

BACKENDS = [
    pytest.param("rt-rest", id="rt-rest"),
    pytest.param("browser", id="browser", marks=[pytest.mark.browser, pytest.mark.slow]),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "browser":
        request.getfixturevalue("chromium_available")
    return str(request.param)


def _with_desk(world: TicketsWorld, backend: str, work: Callable[[Helpdesk], Awaitable[T]]) -> T:
    from backroom.bots.sdk.testing import make_context
    from backroom.sandbox.demo_tickets import HELPDESK_PROFILE

    systems = world.systems()
    if backend == "browser":
        systems["helpdesk"] = {
            "kind": "browser",
            "url": world.helpdesk.url,
            "username": "bot",
            "password": "env:HD_PASSWORD",
            "timeout": 10,
            "profile": HELPDESK_PROFILE,
        }
    ctx = make_context(world.tmp, "tickets", systems=systems, environ={**ENV, "HD_PASSWORD": "bot-pass"})

    async def go() -> T:
        desk = open_system(ctx, "helpdesk", Helpdesk)
        try:
            return await work(desk)
        finally:
            await desk.aclose()

    try:
        return asyncio.run(go())
    finally:
        ctx.close()


def _two_tickets(world: TicketsWorld) -> tuple[int, int]:
    desk = world.desk
    new = desk.create(subject="网速慢", queue=2, creator="agent01", content="客户反映网速慢。手机：13711112222。")
    done = desk.create(subject="已处理", queue=2, creator="agent01", content="无", status="resolved")
    return new.id, done.id


def test_a_ticket_reads_the_same_on_every_backend(make_tickets_world: Any, backend: str) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    new, _resolved = _two_tickets(world)

    async def work(desk: Helpdesk) -> Any:
        return await desk.get(new), await desk.search("Status = 'new'"), await desk.text(new)

    record, found, text = _with_desk(world, backend, work)
    assert (record.id, record.subject, record.status, record.queue) == (new, "网速慢", "new", "Complaints")
    assert record.etag, "a read must carry the version a later write is checked against"
    assert [t.id for t in found] == [new]  # the resolved one is not found
    assert "13711112222" in text


def test_a_write_returns_the_confirmed_version(make_tickets_world: Any, backend: str) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    new, _ = _two_tickets(world)

    async def work(desk: Helpdesk) -> Any:
        before = await desk.get(new)
        etag = await desk.update(new, {"CustomFields": {"Mobile": "13711112222"}}, if_match=before.etag)
        after = await desk.get(new)
        await desk.comment(new, "bot: filled Mobile")
        return before, etag, after, await desk.history(new)

    before, etag, after, history = _with_desk(world, backend, work)
    assert etag and etag != before.etag and etag == after.etag
    assert after.field_value("Mobile") == "13711112222" == world.desk.tickets[new].cf["Mobile"]
    assert any(e.type == "Comment" and "filled Mobile" in e.content for e in history)


def test_a_write_over_someone_elses_change_is_refused(make_tickets_world: Any, backend: str) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    new, _ = _two_tickets(world)

    async def work(desk: Helpdesk) -> Any:
        stale = await desk.get(new)
        world.desk.update(new, {"Priority": 5}, "agent02")  # a person changes it meanwhile
        with pytest.raises(TicketChanged) as info:
            await desk.update(new, {"CustomFields": {"Mobile": "13700000000"}}, if_match=stale.etag)
        return info.value

    error = _with_desk(world, backend, work)
    assert isinstance(error, BusinessError) and not isinstance(error, ApplicationError)
    assert "Mobile" not in world.desk.tickets[new].cf  # never applied


def test_a_missing_ticket_is_a_business_error(make_tickets_world: Any, backend: str) -> None:
    world: TicketsWorld = make_tickets_world(tickets=0)
    _two_tickets(world)

    async def work(desk: Helpdesk) -> Any:
        with pytest.raises(TicketNotFound) as info:
            await desk.get(999)
        return info.value

    assert not isinstance(_with_desk(world, backend, work), ApplicationError)

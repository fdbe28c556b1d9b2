"""``backroom check --online`` for RT: log in and verify what the bot's configuration expects of RT.

Each problem is one line naming the thing (queue, custom field, value, status) and what to do.
``needs`` keys (all optional): ``queues`` (names), ``custom_fields`` (name -> allowed values the bot
will write, or None for free text), ``read_fields`` (only read), ``statuses`` (statuses the bot sets
or searches for).
REST2 does not list a lifecycle's statuses: for RT's stock lifecycle ``default`` they are known
(:data:`DEFAULT_LIFECYCLE`); for a custom lifecycle the check says it could not verify them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import ApplicationError, TransientError
from backroom.bots.systems.helpdesk.base import TicketNotFound

if TYPE_CHECKING:
    from backroom.bots.systems.helpdesk.rt import RTHelpdesk

__all__ = ["check_rt"]


async def check_rt(desk: RTHelpdesk, needs: dict[str, Any]) -> list[str]:
    """Every problem found; an empty list when RT offers all the bot needs."""
    from backroom.bots.systems.helpdesk.rt import DEFAULT_LIFECYCLE, _RTForbidden

    problems: list[str] = []
    try:
        desk._json(await desk._call("GET", "/REST/2.0/queues/all", params={"per_page": 1}))
    except (ApplicationError, TransientError, TicketNotFound) as exc:
        return [f"cannot use RT at {desk.base_url} as the configured user: {exc}"]
    wanted_cfs: dict[str, list[str] | None] = dict(needs.get("custom_fields") or {})
    read_only = [f for f in needs.get("read_fields") or [] if f not in wanted_cfs]
    statuses = [s for s in needs.get("statuses") or [] if s]
    cf_ids: dict[str, str] = {}
    for queue in needs.get("queues") or []:
        try:
            data = desk._json(await desk._call("GET", f"/REST/2.0/queue/{queue}"))
        except (TicketNotFound, _RTForbidden):
            problems.append(f"queue {queue!r}: RT has no such queue, or the bot's user lacks SeeQueue on it")
            continue
        except ApplicationError as exc:
            problems.append(f"queue {queue!r}: {exc}")
            continue
        on_queue = {cf.get("name"): str(cf.get("id")) for cf in data.get("TicketCustomFields") or []}
        for name in [*wanted_cfs, *read_only]:
            if name not in on_queue:
                problems.append(
                    f"custom field {name!r} is not applied to queue {queue!r} (or the bot lacks SeeCustomField)"
                )
        cf_ids.update(on_queue)
        lifecycle = data.get("Lifecycle") or "default"
        if lifecycle == "default":
            for status in statuses:
                if status not in DEFAULT_LIFECYCLE:
                    problems.append(
                        f"status {status!r} is not in queue {queue!r}'s lifecycle 'default'"
                        f" ({', '.join(DEFAULT_LIFECYCLE)}); set the status in config or give the queue a lifecycle"
                    )
        elif statuses:
            problems.append(
                f"queue {queue!r} uses lifecycle {lifecycle!r}: RT's REST2 does not list its statuses, so"
                f" {', '.join(statuses)} could not be verified"
            )
    for name, values in wanted_cfs.items():
        if name not in cf_ids:
            continue
        try:
            cf = desk._json(await desk._call("GET", f"/REST/2.0/customfield/{cf_ids[name]}"))
        except ApplicationError as exc:
            problems.append(f"custom field {name!r}: cannot read its definition ({exc}); grant SeeCustomField on it")
            continue
        kind = str(cf.get("Type") or "")
        if values is not None and kind in ("Select", "Combobox", "Autocomplete"):
            listed = await _values(desk, cf_ids[name])
            missing = [v for v in values if v not in listed]
            if missing and kind == "Select":
                problems.append(
                    f"custom field {name!r} (Select) lacks the value(s) {', '.join(missing)} the bot writes;"
                    f" RT offers {', '.join(listed) or 'none'}"
                )
        if values is None and kind == "Select":
            problems.append(f"custom field {name!r} is a Select list, but the bot writes free text into it")
    return problems


async def _values(desk: RTHelpdesk, cf_id: str) -> list[str]:
    data = desk._json(await desk._call("GET", f"/REST/2.0/customfield/{cf_id}/values", params={"per_page": 100}))
    return [str(item.get("name")) for item in data.get("items") or []]

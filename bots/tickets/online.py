"""What the tickets bot's configuration expects of its helpdesk, for ``backroom check --online``.

Derived from the configuration alone, so a check before the first run finds what the first run
would trip over: a queue named in a query that does not exist, a custom field not applied to the
queue, a category the Select list lacks, a close status the queue's lifecycle does not have.
"""

from __future__ import annotations

import re
from typing import Any

from backroom.bots.tickets.config import TicketsConfig

__all__ = ["helpdesk_needs"]

_QUEUE = re.compile(r"\bQueue\s*=\s*'([^']+)'", re.IGNORECASE)
_STATUS = re.compile(r"\bStatus\s*=\s*'([^']+)'", re.IGNORECASE)


def helpdesk_needs(config: TicketsConfig) -> dict[str, Any]:
    """``queues``, ``custom_fields`` (field -> values written, None for free text), ``read_fields``,
    ``statuses`` (searched for or set), ``set_statuses`` (only those the bot sets)."""
    fill, close = config.fill, config.autoclose
    queues = [*_QUEUE.findall(fill.query), *_QUEUE.findall(close.query), close.human_queue]
    if close.archive.action == "queue":
        queues.append(close.archive.queue)
    written: dict[str, list[str] | None] = {cf: None for cf in fill.fields.values()}
    category = fill.fields.get("category")
    if category:
        written[category] = sorted(fill.category_rules)
    if fill.regulator_field:
        written[fill.regulator_field] = ["yes"]
    if fill.review_field:
        written[fill.review_field] = None
    if close.archive.field:
        written[close.archive.field] = None
    read = [close.phone_field, close.category_field, close.amount_field, close.vip_field, *close.escalation_fields]
    set_statuses = ["open", close.closed_status]
    if close.archive.action == "status":
        set_statuses.append(close.archive.status)
    statuses = [*_STATUS.findall(fill.query), *_STATUS.findall(close.query), *set_statuses]
    return {
        "queues": list(dict.fromkeys(queues)),
        "custom_fields": written,
        "read_fields": [f for f in dict.fromkeys(read) if f and f not in written],
        "statuses": list(dict.fromkeys(statuses)),
        "set_statuses": list(dict.fromkeys(set_statuses)),
    }

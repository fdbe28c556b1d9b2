"""Records the sandbox systems share: the same customers from a seed, kept in ``updated_at`` order.

Billing and the CRM are generated from one list of people (:func:`people`), so a migration between
them has real matches; :class:`Collection` serves REST-style cursor pages and ``updated_since``
increments with ``updated_at`` strictly increasing, as the bots that read them expect.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import json
import random
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["EPOCH", "Collection", "people", "stamp"]

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO text, so that text order is time order."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def people(seed: int, count: int) -> list[dict[str, Any]]:
    """The same customers for every sandbox built with this seed (billing and CRM agree on them)."""
    from faker import Faker

    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed + 1)
    rng = random.Random(seed)
    out = []
    for i in range(1, count + 1):
        english = rng.random() < 0.1
        fake = en if english else zh
        out.append(
            {
                "customer_no": f"C{i:06d}",
                "name": fake.name(),
                "phone": zh.phone_number(),
                "email": en.email() if english else f"{zh.user_name()}@{rng.choice(['qq.com', '163.com', 'sina.com'])}",
                "city": zh.city_name(),
                "address": zh.address().replace("\n", " "),
                "created_at": stamp(EPOCH + dt.timedelta(minutes=i)),
            }
        )
    return out


class Collection:
    """Records kept in ``(updated_at, id)`` order, for cursor pages and ``updated_since`` filters."""

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        for rec in records:
            self.records[rec[self.id_field]] = rec
        self.order = sorted((r["updated_at"], k) for k, r in self.records.items())

    def put(self, rec: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
        with self.lock:
            rid = rec[self.id_field]
            old = self.records.get(rid)
            if old is not None:
                i = bisect.bisect_left(self.order, (old["updated_at"], rid))
                del self.order[i]
            latest = self.order[-1][0] if self.order else stamp(EPOCH)
            moment = stamp(now or dt.datetime.now(dt.UTC))
            if moment <= latest:  # keep updated_at strictly increasing even if the clock stalls
                moment = stamp(dt.datetime.fromisoformat(latest) + dt.timedelta(microseconds=1))
            rec["updated_at"] = moment
            self.records[rid] = rec
            bisect.insort(self.order, (moment, rid))
            return rec

    def page(self, limit: int, cursor: str | None, since: str | None) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            if cursor:
                after = tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))
                start = bisect.bisect_right(self.order, after)
            elif since:
                start = bisect.bisect_right(self.order, (_norm_since(since), "\uffff"))
            else:
                start = 0
            keys = self.order[start : start + limit]
            items = [dict(self.records[k]) for _, k in keys]
            more = start + limit < len(self.order)
        nxt = base64.urlsafe_b64encode(json.dumps(list(keys[-1])).encode()).decode() if keys and more else None
        return items, nxt


def _norm_since(since: str) -> str:
    moment = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return stamp(moment)

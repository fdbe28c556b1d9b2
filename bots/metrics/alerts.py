"""Alert hygiene: an ongoing anomaly is announced once, and its end is announced too.

Each alert has a key — rule, source, dimensions — and a row in ``metrics_alerts``. A run reconciles
what it found with what is open:

* found and not open            → opened, to be announced as **new**;
* found and open                → **ongoing**: last_seen moves on, nothing is announced again
  (unless the earlier announcement never got out, in which case it is announced now);
* open, not found, but the series was judged in this window (enough volume) → **recovered**;
* open, not found, and not judged (no data, below the volume guard) → left open: silence is not
  recovery.

``announced`` is set only after the message is delivered (:meth:`AlertBook.mark_announced`), so a
failed delivery is retried by the next run instead of being lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from backroom.bots.metrics.store import SCHEMA, alerts_table
from backroom.bots.sdk.db import upgrade

__all__ = ["AlertBook", "Reconciled", "alert_key"]


def alert_key(rule: str, source: str, dims: str) -> str:
    return f"{rule}|{source}|{dims}"


@dataclass
class Reconciled:
    new: list[dict[str, Any]] = field(default_factory=list)
    ongoing: list[dict[str, Any]] = field(default_factory=list)
    recovered: list[dict[str, Any]] = field(default_factory=list)


class AlertBook:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, SCHEMA)

    def open_alerts(self) -> dict[str, dict[str, Any]]:
        t = alerts_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.status == "open")).mappings().all()
        return {r["key"]: dict(r) for r in rows}

    def reconcile(
        self,
        found: Mapping[str, dict[str, Any]],
        judged: Iterable[tuple[str, str, str]],
        now: dt.datetime,
        *,
        dry_run: bool = False,
    ) -> Reconciled:
        """Bring the table in line with ``found`` (key -> detail); see the module docstring."""
        t = alerts_table
        judged_keys = {alert_key(*j) for j in judged}
        current = self.open_alerts()
        out = Reconciled()
        with self.engine.begin() as conn:
            for key, detail in found.items():
                if key in current:
                    row = current[key]
                    target = out.ongoing if row["announced"] else out.new
                    target.append({**detail, "key": key, "opened_at": row["opened_at"].isoformat()})
                    if not dry_run:
                        conn.execute(update(t).where(t.c.key == key).values(last_seen_at=now, detail=detail))
                    continue
                out.new.append({**detail, "key": key, "opened_at": now.isoformat()})
                if dry_run:
                    continue
                exists = conn.execute(select(t.c.key).where(t.c.key == key)).first()
                values = {
                    "status": "open",
                    "announced": False,
                    "recovery_announced": False,
                    "opened_at": now,
                    "last_seen_at": now,
                    "closed_at": None,
                    "detail": detail,
                }
                if exists:
                    conn.execute(update(t).where(t.c.key == key).values(**values))
                else:
                    conn.execute(insert(t).values(key=key, **values))
            for key, row in current.items():
                if key in found or key not in judged_keys:
                    continue
                out.recovered.append(
                    {
                        **row["detail"],
                        "key": key,
                        "opened_at": row["opened_at"].isoformat(),
                        "was_announced": bool(row["announced"]),
                    }
                )
                if not dry_run:
                    conn.execute(update(t).where(t.c.key == key).values(status="closed", closed_at=now))
        return out

    def mark_announced(self, keys: Iterable[str], *, recovery: bool = False) -> None:
        t = alerts_table
        column = "recovery_announced" if recovery else "announced"
        keys = list(keys)
        if not keys:
            return
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.key.in_(keys)).values(**{column: True}))

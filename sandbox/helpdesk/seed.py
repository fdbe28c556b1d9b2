"""Deterministic complaint tickets for the sandbox helpdesk (same seed, same tickets)."""

from __future__ import annotations

import datetime as dt
import random

from backroom.sandbox.helpdesk.model import Helpdesk

__all__ = ["seed_tickets"]


def seed_tickets(
    desk: Helpdesk, count: int, seed: int = 1, *, resolved_share: float = 0.5, filled_share: float = 0.3
) -> None:
    """Fill ``desk`` with ``count`` complaint tickets generated deterministically from ``seed``."""
    from backroom.sandbox.helpdesk_texts import generate_texts

    rng = random.Random(seed)
    now = desk.now()
    texts = generate_texts(count, seed=seed, base=now - dt.timedelta(days=3))
    for item in texts:
        created = now - dt.timedelta(days=3, minutes=rng.randrange(0, 600))
        labels = item.labels
        resolved = rng.random() < resolved_share
        cf: dict[str, str] = {}
        if resolved or rng.random() < filled_share:
            cf = {
                "Category": labels["category"],
                "CustomerName": labels.get("name", ""),
                "Mobile": labels.get("mobile", ""),
                "Amount": str(labels.get("amount", "") or ""),
                "Regulator": "yes" if labels.get("urgent") else "",
            }
        ticket = desk.create(
            subject=item.subject,
            queue=2,
            content=item.text,
            creator="agent01",
            requestor=f"customer{rng.randrange(10**6)}@example.cn",
            cf=cf,
            created=created,
        )
        if resolved:
            with desk.lock:
                ticket.status = "resolved"
                ticket.resolved = created + dt.timedelta(hours=rng.randrange(1, 40))
                ticket.last_updated = ticket.resolved
                ticket.owner = "agent01"

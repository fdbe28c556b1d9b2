"""The audit log: who did what to which bot or run, from where, and how it ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from backroom.schedules.history.engine import Store, utcnow
from backroom.schedules.history.models import AuditEntry

__all__ = ["AuditLog"]


class AuditLog(Store):
    """Appends and reads audit entries; their retention is set apart from the runs' (admin-set)."""

    def audit(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        source: str = "",
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.session() as s, s.begin():
            s.add(
                AuditEntry(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    target=target,
                    source=source,
                    outcome=outcome,
                    detail=detail or {},
                )
            )

    def audit_log(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        with self.session() as s:
            return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))

    def prune_audit(self, before: dt.datetime) -> int:
        """Delete audit entries older than ``before``; how many went."""
        with self.session() as s, s.begin():
            return s.execute(delete(AuditEntry).where(AuditEntry.at < before)).rowcount or 0

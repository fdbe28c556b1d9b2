"""Backroom's own database: the runs, the scheduler's state and the audit log.

    models.py           the tables, all on one ``Base`` (made and changed by ``schedules.migrations``)
    engine.py           process identity, the Store base (which migrates the tables on open)
    runs.py             RunStore: run records, log lines, artifacts, retention
    scheduler_state.py  SchedulerState: fire claims, seen files, job digests, pause state, owner lock
                        (fencing token, lease end), leases of the processes supervising runs
    audit.py            AuditLog: who did what, from where
    trigger_state.py    TriggerState: messages claimed by mailbox triggers, condition evaluations

:class:`History` is all three stores on one engine, for the runner and the console that use them
together; a tool that needs only one may construct that store alone.
Statuses and triggers are :mod:`schedules.status`.
"""

from __future__ import annotations

from backroom.schedules.history.audit import AuditLog
from backroom.schedules.history.engine import Store, make_engine, owner_alive, process_owner, utcnow
from backroom.schedules.history.models import (
    Artifact,
    AuditEntry,
    Base,
    BotState,
    Fire,
    JobDefinition,
    LogLine,
    ProcessLease,
    Run,
    SeenFile,
    UTCDateTime,
)
from backroom.schedules.history.runs import RunPage, RunStore
from backroom.schedules.history.scheduler_state import Fence, OwnerLost, SchedulerState
from backroom.schedules.history.trigger_state import TriggerState
from backroom.schedules.status import ACTIVE, FINISHED, STATUSES

__all__ = [
    "ACTIVE",
    "FINISHED",
    "STATUSES",
    "Artifact",
    "AuditEntry",
    "AuditLog",
    "Base",
    "BotState",
    "Fence",
    "Fire",
    "History",
    "JobDefinition",
    "LogLine",
    "OwnerLost",
    "ProcessLease",
    "Run",
    "RunPage",
    "RunStore",
    "SchedulerState",
    "SeenFile",
    "Store",
    "TriggerState",
    "UTCDateTime",
    "make_engine",
    "owner_alive",
    "process_owner",
    "utcnow",
]


class History(RunStore, SchedulerState, TriggerState, AuditLog):
    """The four stores on one engine; one per process, safe to share between threads."""

"""The words a run record is made of: its status and what triggered it.

Both are ``str`` enums, so they compare equal to (and are stored as) the same strings as before:
``RunStatus.SUCCEEDED == "succeeded"``. Every module that needs a status or a group of them takes it
from here; nothing else keeps its own list.

    queued ─► running ─► succeeded | with_warnings | failed | timed_out | cancelled
                   └───► interrupted   (the process that ran it died; set on the next start)
    skipped            (a fire that was not run: missed beyond its grace, coalesced, or over
                        max_instances — visible in history, never silent)

``with_warnings`` is a run that finished its work but left something for a person: rejected inputs,
failed audits, items to review (:mod:`schedules.attention` decides from its counts). It is a success
for chains, mail filing and exit codes, but never shown as plain green: no silent green.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE", "BAD", "FINISHED", "OK", "STATUSES", "TRIGGERS", "RunStatus", "Trigger"]


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WITH_WARNINGS = "with_warnings"  # finished, but left rejects, failed audits or items for review
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    @property
    def active(self) -> bool:
        """Not ended yet: a queued or running run."""
        return self in ACTIVE

    @property
    def bad(self) -> bool:
        """Ended in a way someone should look at (the exit code is non-zero, failure notices go out)."""
        return self in BAD

    @property
    def ok(self) -> bool:
        """Finished its work: succeeded, with or without warnings."""
        return self in OK


class Trigger(StrEnum):
    """What queued a run."""

    SCHEDULE = "schedule"
    MANUAL = "manual"  # ``backroom run`` and the console's run button
    API = "api"
    FILE = "file"
    MAIL = "mail"  # a message in a bot's mailbox ([bots.NAME.mail])
    CONDITION = "condition"  # a bot's condition came to hold ([bots.NAME.when])
    QUEUE = "queue"  # items wait in the queue the bot consumes
    CHAIN = "chain"
    RETRY = "retry"
    REQUEUE = "requeue"  # an interrupted run of an idempotent bot, started again on the next start


STATUSES: tuple[RunStatus, ...] = tuple(RunStatus)
ACTIVE: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED: tuple[RunStatus, ...] = tuple(s for s in RunStatus if s not in ACTIVE)
OK: tuple[RunStatus, ...] = (RunStatus.SUCCEEDED, RunStatus.WITH_WARNINGS)
BAD: tuple[RunStatus, ...] = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.INTERRUPTED)
TRIGGERS: tuple[Trigger, ...] = tuple(Trigger)

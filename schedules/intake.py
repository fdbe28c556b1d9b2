"""Intake: which fires become runs. A pure function of the fires, the bots' settings and a clock.

APScheduler hands the runner every fire time it reached, late ones included (its own misfire
handling is off because it drops fires silently). For each job, :func:`decide_fires`:

    earlier fires of one batch ── skipped, "coalesced" (the latest one runs instead): the 100 latest
                                  one record each, any older ones one record together (count, range)
    latest fire later than the bot's misfire_grace ── skipped, "missed by N s"
    the bot already has max_instances runs active (counting those queued in this batch) ── skipped
    otherwise ── queued

Nothing here touches the database or reads the time: the runner passes ``now`` from its clock and
records what comes back, so the rules are tested by moving a clock, not by sleeping.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["COALESCED_KEPT", "FirePolicy", "QueueFire", "SkipFire", "decide_fires"]

COALESCED_KEPT = 100  # coalesced fires recorded one by one per job and batch; older ones share one record


@dataclass(frozen=True)
class FirePolicy:
    """What intake needs to know of a scheduled job: its bot and that bot's limits."""

    bot: str
    grace: float  # seconds a fire may be late and still run
    max_instances: int = 1


@dataclass(frozen=True)
class QueueFire:
    job_id: str
    bot: str
    fire_time: dt.datetime


@dataclass(frozen=True)
class SkipFire:
    """A fire that will not run. ``count`` > 1: it stands for that many fires, ``fire_time`` to ``last``."""

    job_id: str
    bot: str
    fire_time: dt.datetime
    reason: str
    count: int = 1
    last: dt.datetime | None = None


def decide_fires(
    batch: Sequence[tuple[str, Sequence[dt.datetime]]],
    policies: Mapping[str, FirePolicy],
    active: Mapping[str, int],
    now: dt.datetime,
) -> list[QueueFire | SkipFire]:
    """Decide every fire of ``batch`` (job id, fire times); jobs not in ``policies`` are ignored.

    ``active`` counts each bot's queued and running runs; fires queued earlier in the same batch
    count too. Decisions come in batch order, a job's skips before its queued fire.
    """
    decisions: list[QueueFire | SkipFire] = []
    claimed: collections.Counter[str] = collections.Counter()
    for job_id, given in batch:
        policy = policies.get(job_id)
        if policy is None or not given:
            continue
        times = sorted(t.astimezone(dt.UTC) for t in given)
        latest = times[-1]
        older, kept = times[: -COALESCED_KEPT - 1], times[-COALESCED_KEPT - 1 : -1]
        if older:
            reason = (
                f"coalesced {len(older)} fires from {older[0].isoformat()} to {older[-1].isoformat()}: "
                f"the fire at {latest.isoformat()} runs instead"
            )
            decisions.append(SkipFire(job_id, policy.bot, older[0], reason, count=len(older), last=older[-1]))
        for earlier in kept:
            reason = f"coalesced: the fire at {latest.isoformat()} runs instead"
            decisions.append(SkipFire(job_id, policy.bot, earlier, reason))
        late = (now - latest).total_seconds()
        if late > policy.grace:
            reason = f"missed by {late:.0f} s, beyond misfire_grace of {policy.grace:.0f} s"
            decisions.append(SkipFire(job_id, policy.bot, latest, reason))
            continue
        if active.get(policy.bot, 0) + claimed[policy.bot] >= policy.max_instances:
            reason = f"previous run still active (max_instances={policy.max_instances})"
            decisions.append(SkipFire(job_id, policy.bot, latest, reason))
            continue
        claimed[policy.bot] += 1
        decisions.append(QueueFire(job_id, policy.bot, latest))
    return decisions

"""What the API and the pages both show: bots with their state, next fire times, success rates.

Kept apart from the HTTP layers so the pages and the API cannot disagree about a run's status,
a bot's next run or its success rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backroom.schedules.history import Run, utcnow
from backroom.schedules.runner import Runner
from backroom.schedules.status import ACTIVE, BAD
from backroom.schedules.triggers import describe_schedule, parse_schedule

__all__ = ["BotRow", "bot_rows", "next_fires", "schedule_words"]


def schedule_words(runner: Runner, bot: str) -> list[tuple[str, str, str | None]]:
    """(job id, words, calendar) for each schedule of ``bot``; empty when it only runs on demand."""
    out = []
    for spec in runner.specs.values():
        if spec.bot == bot:
            out.append(
                (spec.job_id, describe_schedule(spec.schedule, runner.settings.timezone, spec.calendar), spec.calendar)
            )
    return out


def next_fires(runner: Runner, now: dt.datetime | None = None) -> dict[str, dt.datetime | None]:
    """job id → next fire time. From the job store while scheduling, else computed from config."""
    store = getattr(runner, "store", None)
    scheduler = getattr(runner, "scheduler", None)
    if store is not None and scheduler is not None and scheduler.running:
        states = store.job_states()
        return {
            job_id: (dt.datetime.fromtimestamp(states[job_id], dt.UTC) if states.get(job_id) is not None else None)
            for job_id in runner.specs
        }
    now = now or utcnow()
    out: dict[str, dt.datetime | None] = {}
    for job_id, spec in runner.specs.items():
        if runner.is_paused(spec.bot):
            out[job_id] = None
            continue
        try:
            trigger = parse_schedule(spec.schedule, runner.settings.zone, spec.calendar)
            out[job_id] = trigger.get_next_fire_time(None, now) if trigger is not None else None
        except ValueError:
            out[job_id] = None
    return out


@dataclass
class BotRow:
    name: str
    summary: str
    last: Run | None
    next_fire: dt.datetime | None
    ok: int
    finished: int
    paused: bool
    scheduled: bool

    @property
    def rate(self) -> float | None:
        return self.ok / self.finished if self.finished else None

    @property
    def state(self) -> str:
        return self.last.status if self.last else "never"

    @property
    def sort_key(self) -> tuple[int, str]:
        if self.last and self.last.status in BAD:
            rank = 0
        elif self.last and self.last.status in ACTIVE:
            rank = 1
        elif self.rate is not None and self.rate < 1:
            rank = 2
        else:
            rank = 3
        return (rank, self.name)


def bot_rows(runner: Runner, now: dt.datetime | None = None) -> list[BotRow]:
    """Every known bot with its last run, next run and 7-day success, failures first."""
    now = now or utcnow()
    names = sorted(runner.bots)
    last = runner.history.last_runs(names)
    rates = runner.history.success_rates(now - dt.timedelta(days=7))
    upcoming = runner.next_fire_by_bot(next_fires(runner, now))
    scheduled = {spec.bot for spec in runner.specs.values()}
    rows = [
        BotRow(
            name=name,
            summary=getattr(runner.bots[name], "summary", ""),
            last=last.get(name),
            next_fire=upcoming.get(name),
            ok=rates.get(name, (0, 0))[0],
            finished=rates.get(name, (0, 0))[1],
            paused=runner.is_paused(name),
            scheduled=name in scheduled,
        )
        for name in names
    ]
    rows.sort(key=lambda r: r.sort_key)
    return rows

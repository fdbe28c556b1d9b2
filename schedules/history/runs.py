"""The store of runs: run records, their log lines and artifacts, and their retention."""

from __future__ import annotations

import datetime as dt
import json
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update

from backroom.schedules.history.engine import Store, owner_alive, process_owner, utcnow
from backroom.schedules.history.models import Artifact, LogLine, ProcessLease, Run
from backroom.schedules.outcome import RunOutcome
from backroom.schedules.status import ACTIVE, FINISHED, RunStatus, Trigger

__all__ = ["RunPage", "RunStore", "new_run", "supervising"]

_NEWEST_PER_BOT = (
    "SELECT (SELECT r.id FROM backroom_runs r WHERE r.bot = b.bot AND r.status <> 'skipped' "
    "ORDER BY r.queued_at DESC LIMIT 1) FROM {names} AS b"
)
_NAMES_AS_ROWS = {
    "postgresql": "(SELECT unnest(CAST(:names AS text[])) AS bot)",
    "sqlite": "(SELECT value AS bot FROM json_each(:names))",
}


@dataclass
class RunPage:
    runs: list[Run]
    next_cursor: str | None
    total: int | None = None


def new_run(
    bot: str,
    trigger: str,
    *,
    params: dict | None = None,
    job_id: str | None = None,
    triggered_by: str | None = None,
    scheduled_for: dt.datetime | None = None,
    attempt: int = 1,
    parent_run_id: str | None = None,
    dry_run: bool = False,
    status: RunStatus = RunStatus.QUEUED,
    error: str | None = None,
    owner: str | None = None,
) -> Run:
    """A run record not yet added to a session (a finished status also sets ``finished_at``)."""
    now = utcnow()
    return Run(
        id=uuid.uuid4().hex,
        bot=bot,
        job_id=job_id,
        trigger=trigger,
        triggered_by=triggered_by,
        params=params or {},
        status=status,
        attempt=attempt,
        parent_run_id=parent_run_id,
        dry_run=dry_run,
        scheduled_for=scheduled_for,
        queued_at=now,
        finished_at=now if status in FINISHED else None,
        error=error,
        counts={},
        outputs={},
        transient=False,
        cancel_requested=False,
        owner=owner or process_owner(),
    )


def _owner_alive(owner: str | None, leases: dict[str, dt.datetime], now: dt.datetime) -> bool:
    """Whether the process ``owner`` (host:pid) still supervises its runs (see ``interrupt_orphans``)."""
    if not owner:
        return False
    here = owner.rpartition(":")[0] == socket.gethostname()
    if here and not owner_alive(owner):
        return False  # a dead pid on this host is gone at once, lease or not
    if owner in leases:
        return leases[owner] > now  # a live pid too: a frozen serve's, or a reused one
    return here


def supervising(owner: str | None, leases: dict[str, dt.datetime], now: dt.datetime) -> bool:
    """Whether ``owner`` still supervises its runs, as a sweep judges it (``backroom workers`` shows it)."""
    return _owner_alive(owner, leases, now)


def _log_rows(run_id: str, lines: Iterable[Sequence[Any]]) -> list[LogLine]:
    return [LogLine(run_id=run_id, at=at, level=level, logger=name, message=msg) for at, level, name, msg in lines]


class RunStore(Store):
    """Reads and writes run records. Methods are short transactions; safe to share between threads."""

    def create_run(
        self,
        bot: str,
        *,
        trigger: str,
        params: dict[str, Any] | None = None,
        job_id: str | None = None,
        triggered_by: str | None = None,
        scheduled_for: dt.datetime | None = None,
        attempt: int = 1,
        parent_run_id: str | None = None,
        dry_run: bool = False,
        status: RunStatus = RunStatus.QUEUED,
        error: str | None = None,
        owner: str | None = None,
    ) -> Run:
        run = new_run(
            bot,
            trigger,
            params=params,
            job_id=job_id,
            triggered_by=triggered_by,
            scheduled_for=scheduled_for,
            attempt=attempt,
            parent_run_id=parent_run_id,
            dry_run=dry_run,
            status=status,
            error=error,
            owner=owner,
        )
        with self.session() as s, s.begin():
            s.add(run)
        return run

    def create_retry(self, run: Run) -> Run:
        """The next attempt of a failed ``run``: same bot, parameters and job, linked to it."""
        return self.create_run(
            run.bot,
            trigger=Trigger.RETRY,
            params=run.params,
            job_id=run.job_id,
            attempt=run.attempt + 1,
            parent_run_id=run.id,
            triggered_by=run.triggered_by,
            dry_run=run.dry_run,
        )

    def get_run(self, run_id: str) -> Run | None:
        """The run with id ``run_id``, or the one whose id starts with it (6 to 31 characters).

        The prefix is matched literally: ``%`` and ``_`` are escaped, not LIKE wildcards, so
        ``______`` finds no run rather than the first one. A prefix two runs share finds none.
        """
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None and 6 <= len(run_id) < 32:
                found = list(s.scalars(select(Run).where(Run.id.startswith(run_id, autoescape=True)).limit(2)))
                run = found[0] if len(found) == 1 else None
            return run

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            s.execute(update(Run).where(Run.id == run_id).values(**values))

    def mark_running(self, run_id: str, run_dir: str, owner: str | None = None) -> bool:
        """queued → running; False if the run is no longer queued (cancelled meanwhile)."""
        with self.session() as s, s.begin():
            result = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
                .values(status=RunStatus.RUNNING, started_at=utcnow(), run_dir=run_dir, owner=owner or process_owner())
            )
            return result.rowcount == 1

    def mark_running_within(
        self, run_id: str, run_dir: str, owner: str, bot: str, max_total: int, max_bot: int
    ) -> bool | None:
        """queued → running if the cluster has room: fewer than ``max_total`` runs running in all, and
        fewer than ``max_bot`` of ``bot``. True: marked; None: no room now; False: no longer queued.

        The counts and the mark are one transaction under a transaction-level advisory lock
        (PostgreSQL), so two workers deciding at once cannot both take the last place.
        """
        with self.session() as s, s.begin():
            s.execute(text("select pg_advisory_xact_lock(7247003)"))
            running = dict(
                s.execute(select(Run.bot, func.count()).where(Run.status == RunStatus.RUNNING).group_by(Run.bot)).all()
            )
            if sum(running.values()) >= max_total or running.get(bot, 0) >= max_bot:
                still_queued = s.scalar(select(Run.status).where(Run.id == run_id)) == RunStatus.QUEUED
                return None if still_queued else False
            result = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
                .values(status=RunStatus.RUNNING, started_at=utcnow(), run_dir=run_dir, owner=owner)
            )
            return result.rowcount == 1

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """The latest progress of a running run (label, done, total), for the console."""
        self.update_run(run_id, progress=progress)

    def finish_run(self, run_id: str, outcome: RunOutcome) -> None:
        """Record the outcome, the last log lines and the artifacts together (one transaction)."""
        now = utcnow()
        with self.session() as s, s.begin():
            run = s.get(Run, run_id)
            if run is None:
                return
            if outcome.logs:
                s.add_all(_log_rows(run_id, outcome.logs))
            if outcome.artifacts:
                s.execute(delete(Artifact).where(Artifact.run_id == run_id))
                s.add_all(Artifact(run_id=run_id, name=name, size=size) for name, size in outcome.artifacts)
            run.status = outcome.status
            run.finished_at = now
            if run.started_at:
                run.duration_s = (now - run.started_at).total_seconds()
            for key, value in outcome.record().items():
                setattr(run, key, value)

    def request_cancel(self, run_id: str) -> Run | None:
        """Ask for a run to stop. A queued run is cancelled at once; a running one by its supervisor."""
        with self.session() as s, s.begin():
            run = s.get(Run, run_id)
            if run is None:
                return None
            if run.status == RunStatus.QUEUED:
                run.status = RunStatus.CANCELLED
                run.finished_at = utcnow()
                run.error = "cancelled before it started"
            elif run.status == RunStatus.RUNNING:
                run.cancel_requested = True
            return run

    def cancel_requested(self, run_id: str) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def list_runs(
        self,
        *,
        bot: str | None = None,
        status: str | Sequence[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """Newest first, keyset-paginated: ``cursor`` is the last page's ``next_cursor``."""
        query = select(Run)
        if bot:
            query = query.where(Run.bot == bot)
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            query = query.where(Run.status.in_(statuses))
        if since:
            query = query.where(Run.queued_at >= since)
        if until:
            query = query.where(Run.queued_at < until)
        if cursor:
            stamp, _, last_id = cursor.partition("|")
            at = dt.datetime.fromisoformat(stamp)
            query = query.where(or_(Run.queued_at < at, and_(Run.queued_at == at, Run.id < last_id)))
        query = query.order_by(Run.queued_at.desc(), Run.id.desc()).limit(limit + 1)
        with self.session() as s:
            rows = list(s.scalars(query))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = f"{last.queued_at.isoformat()}|{last.id}"
        return RunPage(rows, next_cursor)

    def active_counts(self) -> dict[str, int]:
        """bot → its runs queued or running, in every process (one grouped count, not the rows)."""
        with self.session() as s:
            rows = s.execute(select(Run.bot, func.count()).where(Run.status.in_(ACTIVE)).group_by(Run.bot)).all()
        return {bot: n for bot, n in rows}

    def active_runs(self) -> list[Run]:
        with self.session() as s:
            return list(s.scalars(select(Run).where(Run.status.in_(ACTIVE)).order_by(Run.queued_at)))

    def last_runs(self, bots: Iterable[str]) -> dict[str, Run]:
        """The newest non-skipped run of each bot, by one index seek per bot.

        A GROUP BY over every run grows with history (about 350 ms for 200 bots and 100,000 runs);
        walking the (bot, queued_at) index backwards once per bot does not. On PostgreSQL and SQLite
        the names go in as one parameter (an array, a JSON list) to a correlated subquery; elsewhere
        each bot is one small query.
        """
        names = list(dict.fromkeys(bots))
        if not names:
            return {}
        dialect = self.engine.dialect.name
        with self.session() as s:
            if dialect in _NAMES_AS_ROWS:
                param: object = names if dialect == "postgresql" else json.dumps(names)
                query = text(_NEWEST_PER_BOT.format(names=_NAMES_AS_ROWS[dialect]))
                ids = [i for i in s.scalars(query, {"names": param}) if i]
            else:
                ids = [
                    i
                    for name in names
                    if (
                        i := s.scalar(
                            select(Run.id)
                            .where(Run.bot == name, Run.status != RunStatus.SKIPPED)
                            .order_by(Run.queued_at.desc())
                            .limit(1)
                        )
                    )
                ]
            found: dict[str, Run] = {}
            for begin in range(0, len(ids), 500):
                for run in s.scalars(select(Run).where(Run.id.in_(ids[begin : begin + 500]))):
                    found[run.bot] = run
            return found

    def success_rates(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        """bot → (succeeded, finished) since ``since``, skipped runs left out."""
        with self.session() as s:
            rows = s.execute(
                select(Run.bot, Run.status, func.count())
                .where(Run.queued_at >= since, Run.status.in_(FINISHED), Run.status != RunStatus.SKIPPED)
                .group_by(Run.bot, Run.status)
            ).all()
        rates: dict[str, tuple[int, int]] = {}
        for bot, status, count in rows:
            ok, total = rates.get(bot, (0, 0))
            rates[bot] = (ok + (count if RunStatus(status).ok else 0), total + count)
        return rates

    def interrupt_orphans(
        self, now: dt.datetime | None = None, *, startup: bool = True, queued: bool = True
    ) -> list[Run]:
        """Runs left running/queued by a process that is gone become ``interrupted``; those runs.

        A process is gone when its lease (``backroom_process_leases``) has expired — on any host:
        a serve frozen past its lease, or crashed on a host that came back under another name, is
        gone. On this host a dead pid is gone at once. A process without a lease row (an older
        release's) is judged by its pid on this host and is gone on any other. At ``startup``
        the runs of this process's own host:pid are a previous incarnation's (a container's pid 1
        again) and are interrupted too, queued ones apart; later sweeps leave them alone.
        ``queued=False`` leaves every queued run alone: with the procrastinate backend a queued run
        waits in PostgreSQL, owned by no process.
        """
        changed = []
        me = process_owner()
        now = now or utcnow()
        with self.session() as s, s.begin():
            leases = dict(s.execute(select(ProcessLease.owner, ProcessLease.expires_at)).all())
            statuses = ACTIVE if queued else [RunStatus.RUNNING]
            for run in s.scalars(select(Run).where(Run.status.in_(statuses))):
                if run.owner == me:
                    if not startup or run.status == RunStatus.QUEUED:
                        continue
                elif _owner_alive(run.owner, leases, now):
                    continue
                run.status = RunStatus.INTERRUPTED
                run.finished_at = utcnow()
                run.error = f"the process supervising this run ({run.owner}) stopped before it finished"
                changed.append(run)
        return changed

    # -- logs and artifacts ---------------------------------------------------------------------
    def append_logs(self, run_id: str, lines: Sequence[Sequence[Any]]) -> None:
        """Add log lines, each (at, level, logger, message) — a :class:`~schedules.outcome.LogEntry`."""
        if not lines:
            return
        with self.session() as s, s.begin():
            s.add_all(_log_rows(run_id, lines))

    def logs(self, run_id: str, after_id: int = 0, limit: int = 5000, max_bytes: int | None = None) -> list[LogLine]:
        """A page of ``run_id``'s log lines after ``after_id``: at most ``limit`` lines and, with
        ``max_bytes``, no more message text than that (but always at least one line, so a reader that
        asks again after the last id it got always moves on)."""
        with self.session() as s:
            lines = list(
                s.scalars(
                    select(LogLine)
                    .where(LogLine.run_id == run_id, LogLine.id > after_id)
                    .order_by(LogLine.id)
                    .limit(limit)
                )
            )
        if max_bytes is None:
            return lines
        total = 0
        for index, line in enumerate(lines):
            total += len(line.message.encode("utf-8", "surrogatepass"))
            if total > max_bytes and index > 0:
                return lines[:index]
        return lines

    def set_artifacts(self, run_id: str, items: Sequence[tuple[str, int]]) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(Artifact).where(Artifact.run_id == run_id))
            s.add_all(Artifact(run_id=run_id, name=name, size=size) for name, size in items)

    def artifacts(self, run_id: str) -> list[Artifact]:
        with self.session() as s:
            return list(s.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.name)))

    # -- retention ------------------------------------------------------------------------------
    def prunable(self, before: dt.datetime) -> list[Run]:
        """Finished runs queued before ``before``: what :meth:`prune` would delete."""
        with self.session() as s:
            return list(s.scalars(select(Run).where(Run.queued_at < before, Run.status.in_(FINISHED))))

    def prune(self, before: dt.datetime) -> list[Run]:
        """Delete finished runs queued before ``before`` (with logs and artifacts rows); return them."""
        with self.session() as s, s.begin():
            old = list(s.scalars(select(Run).where(Run.queued_at < before, Run.status.in_(FINISHED))))
            ids = [r.id for r in old]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                s.execute(delete(LogLine).where(LogLine.run_id.in_(chunk)))
                s.execute(delete(Artifact).where(Artifact.run_id.in_(chunk)))
                s.execute(delete(Run).where(Run.id.in_(chunk)))
        return old

"""Condition triggers: a query polled at an interval starts its bot when the condition comes to hold.

    every ``every`` ── SQL on a ``kind = "sql"`` system, GET on an HTTP system + a JSONPath ``select``,
        │              or the latest interval of a ``metric`` in the metrics bot's store
        │ rows (SQL) or matches (JSONPath; a match that is an object is a row of its fields)
        ▼
    holds = there are rows, and the first value passes ``above`` / ``below`` when they are set
        │
        ▼
    start when it comes to hold (edge, not level) ── or, with ``key``, when the key values differ from
        those of the last start (the same complaints never start the escalation twice) ── and not
        within ``cooldown`` of the last start (a start held back by the cool-down happens after it)

Each evaluation's outcome (holds, first value, row count, or the error) and the last start are kept
in ``backroom_conditions``, so a restart neither forgets an edge nor repeats a start, and the console
shows them. An evaluation that fails changes nothing but its error: an outage is not a fall and rise.
The clock is injected: tests move it instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings
from backroom.schedules.history import Run
from backroom.schedules.history.models import ConditionState
from backroom.schedules.settings import WhenSettings
from backroom.schedules.watcher import TriggerWatcher

__all__ = ["ConditionWatcher", "Evaluation", "condition_problems", "evaluate"]

log = logging.getLogger(__name__)

MAX_ROWS = 1000  # rows read per evaluation; a condition is a question, not an export


@dataclass
class Evaluation:
    """What one evaluation found: the rows, the first value, whether the condition holds."""

    holds: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    value: Any = None


def plain(value: Any) -> Any:
    """A JSON value for a database or JSON value: integral Decimals become ints, others exact strings."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _sql_rows(when: WhenSettings, system: SystemSettings, secret: Callable[[str], str], engines: dict) -> list[dict]:
    from sqlalchemy import text

    from backroom.bots.systems.sql.alchemy import make_engine

    problem = sql_problem(when.sql or "")
    if problem:
        raise ConfigError(f"condition query refused: {problem}")
    name = when.system or ""
    engine = engines.get(name)
    if engine is None:
        engine = engines[name] = make_engine(system, secret)
    with engine.connect() as conn:  # never committed: rolled back when it closes
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION READ ONLY"))
        result = conn.execute(text(when.sql or ""))
        return [{k: plain(v) for k, v in row._mapping.items()} for row in result.fetchmany(MAX_ROWS)]


def _http_rows(when: WhenSettings, system: SystemSettings, secret: Callable[[str], str]) -> list[dict]:
    from jsonpath_ng.ext import parse

    from backroom.bots.sdk.http import make_client

    with make_client(system, secret) as client:
        response = client.get(when.get or "")
        response.raise_for_status()
        try:
            body = response.json()
        except ValueError as exc:
            raise ValueError(f"{when.get} answered {response.status_code} but not with JSON: {exc}") from None
    rows = []
    for match in parse(when.select or "$").find(body)[:MAX_ROWS]:
        value = plain(match.value)
        rows.append(dict(value) if isinstance(value, dict) else {"value": value})
    return rows


def _metric_rows(when: WhenSettings, engine: Any) -> list[dict]:
    """The samples of the latest interval of ``when.metric`` (value first), from the metrics bot's store."""
    from sqlalchemy import func, select

    from backroom.bots.metrics.store import samples_table as t
    from backroom.bots.systems.metric_sources.base import dims_key

    where = [t.c.metric == when.metric]
    if when.source:
        where.append(t.c.source == when.source)
    if when.dims is not None:
        where.append(t.c.dims == dims_key(when.dims))
    with engine.connect() as conn:
        latest = conn.scalar(select(func.max(t.c.interval_start)).where(*where))
        if latest is None:
            return []
        rows = conn.execute(
            select(t.c.value, t.c.source, t.c.dims, t.c.interval_start)
            .where(*where, t.c.interval_start == latest)
            .order_by(t.c.source, t.c.dims)
            .limit(MAX_ROWS)
        ).all()
    return [{k: plain(v) for k, v in row._mapping.items()} for row in rows]


def evaluate(
    when: WhenSettings,
    systems: dict[str, SystemSettings],
    secret: Callable[[str], str],
    engines: dict | None = None,
    store: Any = None,
) -> Evaluation:
    """Run the condition's query once. Raises on an unknown system, a failed query or request.

    ``store`` is Backroom's own database (an engine or URL), where a ``metric`` condition reads.
    """
    if when.metric is not None:
        from backroom.bots.sdk.db import make_engine

        engine = make_engine(store) if isinstance(store, str) else store
        if engine is None:
            raise ConfigError("a metric condition needs Backroom's database (the metrics bot's store)")
        return _decide(when, _metric_rows(when, engine))
    system = systems.get(when.system or "")
    if system is None:
        raise ConfigError(f"system {when.system!r} is not configured (known: {', '.join(sorted(systems)) or 'none'})")
    rows = (
        _sql_rows(when, system, secret, engines if engines is not None else {})
        if when.sql
        else _http_rows(when, system, secret)
    )
    return _decide(when, rows)


def _decide(when: WhenSettings, rows: list[dict]) -> Evaluation:
    """Whether ``rows`` make the condition hold: there are rows, and the first value passes the thresholds."""
    value = next(iter(rows[0].values()), None) if rows else None
    holds = bool(rows)
    if holds and (when.above is not None or when.below is not None):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"above/below need a number as the first value, got {value!r}") from None
        holds = (when.above is None or number > when.above) and (when.below is None or number < when.below)
    return Evaluation(holds, rows, value)


def key_of(when: WhenSettings, found: Evaluation) -> str | None:
    """SHA-256 of the ``key`` columns over all rows (as a set), or None without ``key``."""
    if not when.key:
        return None
    values = sorted({json.dumps([row.get(k) for k in when.key], sort_keys=True, default=str) for row in found.rows})
    return hashlib.sha256("\n".join(values).encode()).hexdigest()


def params_of(when: WhenSettings, found: Evaluation) -> dict[str, Any]:
    """The run's parameters: ``count``, ``rows``, ``value``, ``COLUMN`` (first row) or ``COLUMN[]`` (all rows)."""
    params: dict[str, Any] = {}
    first = found.rows[0] if found.rows else {}
    for param, source in when.params.items():
        if source == "count":
            params[param] = len(found.rows)
        elif source == "rows":
            params[param] = found.rows
        elif source == "value":
            params[param] = found.value
        elif source.endswith("[]"):
            params[param] = [row.get(source[:-2]) for row in found.rows]
        else:
            params[param] = first.get(source)
    return params


def sql_problem(sql: str) -> str | None:
    """Why ``sql`` is not one reading query, or None (checked by ``backroom check`` and before every run)."""
    words = sql.strip().rstrip(";").split(None, 1)
    if not words or words[0].lower() not in ("select", "with"):
        return "must be one SELECT (or WITH ... SELECT) query: a condition only reads"
    if ";" in sql.strip().rstrip(";"):
        return "must be a single statement (found ';' inside)"
    return None


def condition_problems(when: WhenSettings, systems: dict[str, SystemSettings]) -> list[tuple[str, str]]:
    """(key, problem) for what ``backroom check`` can tell without running anything."""
    problems = []
    system = systems.get(when.system or "")
    if when.metric is not None:
        pass  # the metrics store is Backroom's own database
    elif system is None:
        problems.append(("system", f"unknown system {when.system!r}; known: {', '.join(sorted(systems)) or 'none'}"))
    elif when.sql is not None and system.kind != "sql":
        problems.append(
            ("system", f"an SQL condition needs a system of kind 'sql', {when.system!r} is {system.kind!r}")
        )
    elif when.get is not None and not (system.url or "").startswith(("http://", "https://")):
        problems.append(("system", f"an HTTP condition needs a system with an http(s) url; {when.system!r} has none"))
    if when.sql is not None:
        problem = sql_problem(when.sql)
        if problem:
            problems.append(("sql", problem))
    if when.select is not None:
        from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
        from jsonpath_ng.ext import parse

        try:
            parse(when.select)
        except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
            problems.append(("select", f"not a JSONPath expression: {exc}"))
    return problems


class ConditionWatcher(TriggerWatcher):
    """Evaluates each bot's condition when due and starts the bot on its edge (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._engines: dict[str, Any] = {}

    def watched(self) -> dict[str, WhenSettings]:
        return {name: b.when for name, b in self.settings.bots.items() if b.enabled and b.when is not None}

    def start(self) -> None:
        if not self.watched():
            return
        self._thread = threading.Thread(target=self._loop, name="condition-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        for engine in self._engines.values():
            engine.dispose()

    def _loop(self) -> None:
        tick = max(0.2, min(1.0, min(w.every for w in self.watched().values())))
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("condition watcher")
            self._stop.wait(tick)

    def poll_once(self) -> list[Run]:
        """Evaluate every condition that is due by the clock; the runs started."""
        started = []
        for bot, when in self.watched().items():
            if self.is_paused(bot):
                continue
            run = self.evaluate_bot(bot, when)
            if run is not None:
                started.append(run)
        return started

    def evaluate_bot(self, bot: str, when: WhenSettings, *, force: bool = False) -> Run | None:
        """Evaluate one bot's condition if due (or ``force``); start it on the edge; keep the outcome."""
        now = self.clock()
        state = self.history.condition_state(bot) or ConditionState(bot=bot, holds=False)
        if not force and state.evaluated_at is not None and (now - state.evaluated_at).total_seconds() < when.every:
            return None
        state.evaluated_at = now
        try:
            found = evaluate(when, self.settings.systems, self.secret, self._engines, self.history.engine)
        except Exception as exc:
            state.error = self._resolver.redactor.redact(f"{type(exc).__name__}: {exc}")  # secrets and personal data
            self.history.save_condition(state)
            log.warning("condition of %s could not be evaluated: %s", bot, state.error)
            return None
        state.error = None
        state.value = {"value": found.value, "rows": len(found.rows), "holds": found.holds}
        key = key_of(when, found)
        if not found.holds:
            fire = False
        elif key is not None:
            fire = key != state.started_key
        else:
            fire = not state.holds
        holds = found.holds
        run = None
        if fire and state.started_at is not None and (now - state.started_at).total_seconds() < when.cooldown:
            state.value["cooling_down_until"] = (state.started_at + dt.timedelta(seconds=when.cooldown)).isoformat()
            holds = state.holds  # the edge is kept for when the cool-down ends
        elif fire:
            run = self.submit(bot, params_of(when, found), f"condition:{bot}")
            if run is not None:
                state.started_key, state.started_at, state.run_id = key, now, run.id
        state.holds = holds
        self.history.save_condition(state)
        return run

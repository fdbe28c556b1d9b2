"""What travels between a run's supervisor and its child process: a payload in, typed messages out.

    supervisor ── RunPayload ─────────────────────────────► child (at start)
    supervisor ◄── LogLine | Progress | Dropped | Finished | Failed ── child (while it runs)
    supervisor ── CancelRequest ──────────────────────────► child (a polite stop)

Everything is a frozen dataclass of plain values, pickled over a ``multiprocessing`` pipe. This
module imports only the standard library: the child loads it from the pre-warmed forkserver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CancelRequest",
    "ChildMessage",
    "Dropped",
    "Failed",
    "Finished",
    "LogLine",
    "Progress",
    "RunPayload",
]


@dataclass(frozen=True, slots=True)
class RunPayload:
    """Everything a run's process needs to build the bot's Context; no database objects."""

    run_id: str
    bot: str
    run_dir: str
    home: str
    database_url: str
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    secret_refs: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    dry_run: bool = False
    attempt: int = 1
    notify: tuple[str, ...] = ()
    # the run's whole environment (minimal: see schedules.runenv), never serve's
    environ: dict[str, str] = field(default_factory=dict)
    bot_modules: tuple[str, ...] = ()
    secret_values: dict[str, str] = field(default_factory=dict)  # keyring reference -> value, resolved by serve
    secret_env: tuple[str, ...] = ()  # the variables of ``environ`` that hold secrets (redacted from the start)
    run_as: tuple[str, int, int] | None = None  # (user, uid, gid) the run's process becomes before the bot loads
    log_max_lines: int = 20_000
    log_line_max_bytes: int = 8192
    roots: dict[str, str] = field(default_factory=dict)  # the bot's roots by role; params are re-confined


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log record of the bot, already redacted."""

    at: dt.datetime
    level: str
    logger: str
    text: str


@dataclass(frozen=True, slots=True)
class Progress:
    label: str
    done: int
    total: int | None


@dataclass(frozen=True, slots=True)
class Finished:
    """The bot returned: its Result, as JSON values."""

    status: str
    summary: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    descendants: bool = True  # False: the run's process (a subreaper) leaves no process behind


@dataclass(frozen=True, slots=True)
class Failed:
    """The bot raised (``cancelled`` when it stopped because it was asked to)."""

    error: str
    traceback: str
    transient: bool = False
    cancelled: bool = False
    descendants: bool = True  # as in Finished


@dataclass(frozen=True, slots=True)
class Dropped:
    """Log lines the child left out past its cap (sent once, before its result): counted, not sent."""

    lines: int
    bytes: int


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """Parent → child: stop at the next ``ctx.check_cancel()``."""


ChildMessage = LogLine | Progress | Finished | Failed | Dropped

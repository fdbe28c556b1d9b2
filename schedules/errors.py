"""Every error the runner package raises, under one root.

    RunnerError                      catch this to catch anything ``backroom.schedules`` raises on purpose
     ├── InvalidConfig               the configuration has problems (``problems`` lists every one)
     ├── BotNotFound (LookupError)   no bot of that name is installed or listed in ``bot_modules``
     ├── ParamsInvalid (ValueError)  a run's parameters failed the bot's Params model (``errors``)
     ├── RunnerBusy                  another live runner owns the job store
     └── UnsafeBind (ValueError)     the console would listen beyond loopback with nobody able to log in

The builtin second bases are kept where callers (and third-party code) already catch them; they are
never a second *Backroom* branch, so ``except RunnerError`` and ``except ValueError`` stay honest.
Errors of bots and adapters live in :mod:`backroom.bots.sdk.errors`; those of the console's web
layer (``Denied``, ``LoginRequired``) are HTTP control flow in :mod:`schedules.console.state`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BotNotFound", "InvalidConfig", "ParamsInvalid", "RunnerBusy", "RunnerError", "UnsafeBind"]


class RunnerError(Exception):
    """Root of the errors raised by the runner, its CLI and its console."""


class InvalidConfig(RunnerError):
    """The configuration has problems; ``problems`` lists every one of them (``ConfigProblem``)."""

    def __init__(self, problems: list[Any]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


class BotNotFound(RunnerError, LookupError):
    """No bot called ``name``; ``known`` lists the ones that exist."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        self.known = list(known or [])
        super().__init__(f"unknown bot {name!r}; known bots: {', '.join(self.known) or 'none'}")


class ParamsInvalid(RunnerError, ValueError):
    """Parameters for a run failed the bot's Params model; ``errors`` say which field and why."""

    def __init__(self, bot: str, errors: list[dict[str, Any]]) -> None:
        self.bot = bot
        self.errors = errors
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(f"invalid parameters for {bot}: {text}")


class RunnerBusy(RunnerError):
    """Another live runner owns the job store."""


class UnsafeBind(RunnerError, ValueError):
    """The console was asked to listen beyond loopback with nobody able to log in."""

"""What each bot contributes to ``backroom demo``.

Every bot area ships ``sandbox/demo_<bot>.py`` with ``prepare(workdir: Path) -> DemoPart``: it starts
the sandbox systems the bot works on (loopback, free ports), puts any input files under
``workdir``, and returns the config tables that point the bot at them. ``backroom demo`` merges the
parts into one config, runs each bot once through the runner, and stops the servers at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backroom.sandbox.server import RunningServer

__all__ = ["DemoPart"]


@dataclass
class DemoPart:
    bot: str  # the bot's name
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)  # [systems.NAME] tables
    bot_table: dict[str, Any] = field(default_factory=dict)  # [bots.<bot>]: schedule, calendar, config
    params: dict[str, Any] = field(default_factory=dict)  # parameters for the demo's one run
    env: dict[str, str] = field(default_factory=dict)  # values behind the env: secret references
    servers: list[RunningServer] = field(default_factory=list)  # stopped by the demo at the end
    description: str = ""  # one line shown in the demo's summary

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

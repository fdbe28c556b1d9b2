"""How a run ended, as execution reports it and the runner records it: one frozen value.

:class:`RunOutcome` is the hand-over between :mod:`schedules.execution` (which supervises the child
and never writes history) and the runner (the only writer of history). It carries everything the
final write needs: the status and the bot's result, the log lines not yet flushed, the last
progress, and the files in the run's ``artifacts`` folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from backroom.schedules.status import RunStatus

__all__ = ["ArtifactFile", "LogEntry", "RunOutcome", "artifact_files"]


class LogEntry(NamedTuple):
    """One log line of a run, as stored."""

    at: dt.datetime
    level: str
    logger: str
    message: str


class ArtifactFile(NamedTuple):
    """A file a run left in its ``artifacts`` folder (name relative to it, size in bytes)."""

    name: str
    size: int


@dataclass(frozen=True)
class RunOutcome:
    status: RunStatus
    summary: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    transient: bool = False
    progress: dict[str, Any] | None = None
    logs: tuple[LogEntry, ...] = ()
    artifacts: tuple[ArtifactFile, ...] = ()

    def record(self) -> dict[str, Any]:
        """The run columns this outcome sets (logs and artifacts are rows of their own)."""
        values: dict[str, Any] = {
            "summary": self.summary,
            "counts": self.counts,
            "outputs": self.outputs,
            "error": self.error,
            "traceback": self.traceback,
            "transient": self.transient,
        }
        if self.progress is not None:
            values["progress"] = self.progress
        return values


def artifact_files(run_dir: Path) -> tuple[ArtifactFile, ...]:
    """Every file under ``run_dir/artifacts``, sorted by name."""
    artifacts_dir = run_dir / "artifacts"
    if not artifacts_dir.is_dir():
        return ()
    return tuple(
        ArtifactFile(str(path.relative_to(artifacts_dir)), path.stat().st_size)
        for path in sorted(artifacts_dir.rglob("*"))
        if path.is_file()
    )

"""The runner's own upkeep: pruning run history, run folders and the audit log past their retention.

Runs (with their log lines and artifact rows) go after ``retention_days``, their folders under
``runs_dir`` with them; audit entries after ``audit_retention_days`` (set apart, usually longer: the
audit log is what an admin answers questions from). Each pruning is itself an audit entry. The
control loop calls :meth:`Maintenance.run_if_due`; ``backroom prune`` calls :meth:`Maintenance.prune`.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backroom.schedules.history import History, Run
from backroom.schedules.settings import Settings

__all__ = ["Maintenance", "PruneReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneReport:
    runs_before: dt.datetime
    audit_before: dt.datetime
    runs: int
    folders: int
    audit: int
    dry_run: bool = False


class Maintenance:
    """Prunes on a clock: once when first due, then every ``prune_interval``."""

    def __init__(self, settings: Settings, history: History, clock: Callable[[], dt.datetime]) -> None:
        self.settings = settings
        self.history = history
        self.clock = clock
        self.last_pruned: dt.datetime | None = None

    def due(self) -> bool:
        interval = self.settings.prune_interval
        if interval <= 0:
            return False
        return self.last_pruned is None or (self.clock() - self.last_pruned).total_seconds() >= interval

    def run_if_due(self) -> PruneReport | None:
        if not self.due():
            return None
        self.last_pruned = self.clock()
        return self.prune()

    def prune(self, *, actor: str = "runner", source: str = "maintenance", dry_run: bool = False) -> PruneReport:
        """Delete what is past its retention (``dry_run``: only count it); audited unless a dry run."""
        now = self.clock()
        runs_before = now - dt.timedelta(days=self.settings.retention_days)
        audit_before = now - dt.timedelta(days=self.settings.audit_retention_days)
        doomed = self.history.prunable(runs_before)
        if dry_run:
            return PruneReport(runs_before, audit_before, len(doomed), 0, 0, dry_run=True)
        # Folders first, rows second: a stop in between leaves rows pointing at nothing, which the
        # next pruning deletes; never folders that no row can find again.
        folders = sum(self._remove_folder(run) for run in doomed)
        deleted = self.history.prune(runs_before)
        seen = {run.id for run in doomed}
        folders += sum(self._remove_folder(run) for run in deleted if run.id not in seen)
        audit = self.history.prune_audit(audit_before)
        self._remove_empty_folders()
        report = PruneReport(runs_before, audit_before, len(deleted), folders, audit)
        if not (report.runs or report.audit) and actor == "runner":
            return report  # the daily pass found nothing: no entry, so the audit log stays about people
        log.info("pruned %d run(s), %d folder(s), %d audit entries", report.runs, report.folders, report.audit)
        self.history.audit(
            actor,
            "prune",
            "history",
            source=source,
            detail={
                "runs": report.runs,
                "folders": report.folders,
                "audit": report.audit,
                "runs_before": runs_before.isoformat(),
                "audit_before": audit_before.isoformat(),
            },
        )
        return report

    def _remove_folder(self, run: Run) -> int:
        """Remove the run's folder if it lies under ``runs_dir``; 1 when one was removed."""
        if not run.run_dir:
            return 0
        folder = Path(run.run_dir)
        root = self.settings.runs_path.resolve()
        if folder.is_dir() and folder.resolve().is_relative_to(root):
            shutil.rmtree(folder, ignore_errors=True)
            return 1
        return 0

    def _remove_empty_folders(self) -> None:
        """Empty day/month/year folders left behind under ``runs_dir`` (never a run's own folder)."""
        root = self.settings.runs_path
        if not root.is_dir():
            return
        dated = (p for depth in ("*/*/*", "*/*", "*") for p in root.glob(depth) if p.is_dir())
        for folder in dated:  # days before months before years
            if not any(folder.iterdir()):
                folder.rmdir()

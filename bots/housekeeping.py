"""The housekeeping bot: prune run history and artifacts older than the retention period.

It is the first real bot and the example the others copy: a Params model, a Config model, work done
in small idempotent steps, progress, a Result with counts. It touches only Backroom's own database
and the runs folder, so it is safe to re-run at any time.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import MetaData, Table, delete, select
from sqlalchemy.exc import InvalidRequestError

from backroom.bots.sdk.bot import Bot, NoConfig, Params, Result
from backroom.bots.sdk.context import Context

__all__ = ["Housekeeping"]


class HousekeepingParams(Params):
    """``retention_days`` defaults to the runner's ``retention_days`` setting, passed by the schedule."""

    retention_days: int = Field(default=90, ge=1, description="delete finished runs older than this many days")
    runs_dir: str = Field(default="var/runs", description="where run folders live (relative to home)")


class Housekeeping(Bot[HousekeepingParams]):
    name = "housekeeping"
    summary = "Prune run history, logs and artifacts older than the retention period"
    Params = HousekeepingParams
    Config = NoConfig
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context, params: HousekeepingParams) -> Result:
        cutoff = ctx.now() - dt.timedelta(days=params.retention_days)
        runs_root = Path(params.runs_dir)
        if not runs_root.is_absolute():
            runs_root = ctx.home / runs_root
        tables = _history_tables(ctx.engine)
        if tables is None:
            return Result(summary="no run history yet", counts={"runs_deleted": 0})
        runs, logs, artifacts, audit = tables
        old = (
            runs.c.queued_at < cutoff.replace(tzinfo=None)
            if ctx.engine.dialect.name == "sqlite"
            else runs.c.queued_at < cutoff
        ) & runs.c.status.in_(_FINISHED)
        with ctx.engine.connect() as conn:
            doomed = conn.execute(select(runs.c.id, runs.c.run_dir).where(old)).all()
        if ctx.dry_run:
            ctx.log.info("dry run: %d run(s) older than %s would be deleted", len(doomed), cutoff.date())
            return Result(summary=f"{len(doomed)} run(s) would be deleted", counts={"would_delete": len(doomed)})
        folders = 0
        with ctx.progress("pruning runs", total=len(doomed)) as bar:
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                ids = [row.id for row in chunk]
                # Folders first, rows second: a kill in between leaves rows pointing at nothing,
                # which the next run deletes; never folders that no row can find again.
                for row in chunk:
                    folder = Path(row.run_dir) if row.run_dir else None
                    if folder and folder.is_dir() and folder.resolve().is_relative_to(runs_root.resolve()):
                        shutil.rmtree(folder, ignore_errors=True)
                        folders += 1
                with ctx.engine.begin() as conn:
                    conn.execute(delete(logs).where(logs.c.run_id.in_(ids)))
                    conn.execute(delete(artifacts).where(artifacts.c.run_id.in_(ids)))
                    conn.execute(delete(runs).where(runs.c.id.in_(ids)))
                bar.advance(len(chunk))
        with ctx.engine.begin() as conn:
            stamp = cutoff.replace(tzinfo=None) if ctx.engine.dialect.name == "sqlite" else cutoff
            audited = conn.execute(delete(audit).where(audit.c.at < stamp)).rowcount
        if runs_root.is_dir():  # empty day/month/year folders left behind
            for folder in sorted((p for p in runs_root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(folder.iterdir()):
                    folder.rmdir()
        ctx.log.info("pruned %d run(s) and %d folder(s) older than %s", len(doomed), folders, cutoff.date())
        return Result(
            summary=f"pruned {len(doomed)} run(s) older than {params.retention_days} days",
            counts={"runs_deleted": len(doomed), "folders_deleted": folders, "audit_deleted": audited},
        )


_FINISHED = ("succeeded", "failed", "timed_out", "cancelled", "interrupted", "skipped")


def _history_tables(engine: Any) -> tuple[Table, Table, Table, Table] | None:
    """The runner's history tables, by reflection: bots do not import the runner (see DESIGN.md)."""
    meta = MetaData()
    names = ["backroom_runs", "backroom_run_logs", "backroom_artifacts", "backroom_audit"]
    try:
        meta.reflect(engine, only=names)
    except InvalidRequestError:
        return None
    return tuple(meta.tables[n] for n in names)  # type: ignore[return-value]

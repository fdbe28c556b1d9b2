"""``backroom worker`` and ``backroom workers`` (registered on the main command by :func:`register`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from backroom.schedules.history.runs import supervising
from backroom.schedules.settings import DEFAULT_CONFIG, Settings
from backroom.schedules.status import RunStatus

__all__ = ["register", "worker_rows"]


def worker_rows(history: Any, settings: Settings, now: dt.datetime) -> list[dict[str, Any]]:
    """Every process that supervises runs (workers, serve, ``backroom run``): lease, alive, the queues
    it takes (a worker's, as it advertised them with its heartbeat; "*" all), its runs.

    Alive as the leader judges it when it sweeps: a lease not yet expired, and on this host a pid
    that still exists (a worker killed with -9 shows as gone before its lease ends).
    """
    from backroom.schedules.distributed.queue import queue_for  # procrastinate only when asked

    leases = history.process_leases()
    capabilities = history.process_capabilities()
    running: dict[str, list[Any]] = {}
    for run in history.active_runs():
        if run.owner and run.status == RunStatus.RUNNING:
            running.setdefault(run.owner, []).append(run)
    rows = []
    for owner in sorted(set(leases) | set(running)):
        rows.append(
            {
                "process": owner,
                "lease_ends": leases.get(owner),
                "alive": supervising(owner, leases, now),
                "queues": capabilities.get(owner) or "",
                "runs": [f"{r.bot} {r.id[:8]} ({queue_for(settings, r.bot)})" for r in running.get(owner, [])],
            }
        )
    return rows


ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="configuration file", envvar="BACKROOM_CONFIG")]


def worker(
    config: ConfigOption = DEFAULT_CONFIG,
    queues: Annotated[str | None, typer.Option(help="comma-separated queues it can take (default: all)")] = None,
    concurrency: Annotated[int | None, typer.Option(help="runs at once (default: worker_concurrency)")] = None,
) -> None:
    """Take runs from the procrastinate queue and execute them ([execution] backend = "procrastinate")."""
    from backroom.schedules import cli as main_cli
    from backroom.schedules.distributed.worker import Worker

    main_cli._setup_logging()
    settings, bots = main_cli._load(config)
    if settings.execution.backend != "procrastinate":
        main_cli.err_console.print('[red]backroom worker needs [execution] backend = "procrastinate"[/]')
        raise typer.Exit(main_cli.EXIT_USAGE)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    Worker(settings, queues=names, concurrency=concurrency, bots=bots).run()


def _relative(when: dt.datetime, now: dt.datetime) -> str:
    """A lease end as seconds from now: short enough that the table fits an 80-column terminal."""
    seconds = (when - now).total_seconds()
    return f"in {seconds:.0f} s" if seconds >= 0 else f"{-seconds:.0f} s ago"


def workers(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """List the processes that execute runs: the queues they take, their lease (heartbeat), their runs."""
    from backroom.schedules import cli as main_cli
    from backroom.schedules.history import utcnow

    settings, _ = main_cli._load(config, full_check=False)
    history = main_cli._history(settings)
    table = Table("process", "queues", "lease ends", "alive", "current runs")
    now = utcnow()
    for row in worker_rows(history, settings, now):
        ends = _relative(row["lease_ends"], now) if row["lease_ends"] else "-"
        table.add_row(
            row["process"], row["queues"] or "-", ends, "yes" if row["alive"] else "no", ", ".join(row["runs"]) or "-"
        )
    out = main_cli.console if main_cli.console.is_terminal else Console(width=200)  # piped: nothing cut off
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``workers`` to the ``backroom`` command."""
    app.command()(worker)
    app.command()(workers)

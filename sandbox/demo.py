"""``backroom demo``: the whole toolkit working on the sandbox systems, on a fresh machine.

Each bot area contributes ``sandbox/demo_<bot>.py`` (see :mod:`sandbox.demo_base`). The demo starts
their systems on loopback, writes one config that points every bot at them (``<workdir>/backroom.toml``,
a real config you can read and reuse), checks it like ``backroom check`` would, runs each bot once
through the real runner (child processes, history, artifacts), prints what each did and where its
report is, and — unless ``--once`` — leaves the console running until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import pkgutil
import shutil
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w
from rich.console import Console
from rich.table import Table

from backroom.schedules.durations import format_duration
from backroom.schedules.errors import InvalidConfig
from backroom.schedules.status import Trigger

__all__ = ["run_demo", "write_toml"]

log = logging.getLogger(__name__)


def write_toml(data: dict[str, Any]) -> str:
    """The demo's config as TOML, written by ``tomli-w`` so every string is escaped as TOML requires.

    TOML has no null, so keys whose value is None are left out (at any depth); values TOML has no type
    for (paths, for one) are written as their text.
    """
    return tomli_w.dumps(_plain(data))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, (str, bool, int, float, dt.date, dt.time, Decimal)):
        return value
    return str(value)


def _demo_modules() -> list[Any]:
    import backroom.sandbox

    modules = []
    for info in pkgutil.iter_modules(backroom.sandbox.__path__):
        if info.name.startswith("demo_") and info.name != "demo_base":
            modules.append(importlib.import_module(f"backroom.sandbox.{info.name}"))
    return modules


def run_demo(workdir: Path, *, once: bool, port: int = 8600, out: Console | None = None) -> int:
    """Returns the exit code: 0 when every bot succeeded."""
    import os

    from backroom.schedules.check import load_checked
    from backroom.schedules.discovery import discover
    from backroom.schedules.runner import Runner
    from backroom.schedules.triggers import describe_schedule

    out = out or Console()
    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir / "runs", ignore_errors=True)
        (workdir / "backroom.db").unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)

    parts = []
    with out.status("starting the sandbox systems…"):
        for module in _demo_modules():
            try:
                parts.append(module.prepare(workdir))
            except Exception as exc:
                out.print(f"[red]could not prepare {module.__name__}: {exc}[/]")
                log.exception("demo part %s", module.__name__)
    try:
        config: dict[str, Any] = {
            "timezone": "Asia/Shanghai",
            "database": f"sqlite:///{workdir / 'backroom.db'}",
            "home": str(workdir),
            "runs_dir": "runs",
            "max_parallel_runs": 2,
            "notify": {"console_url": f"http://127.0.0.1:{port}"},
            "systems": {},
            "bots": {},
        }
        for part in parts:
            config["systems"].update(part.systems)
            config["bots"][part.bot] = part.bot_table
            os.environ.update(part.env)
        path = workdir / "backroom.toml"
        path.write_text(
            "# written by `backroom demo`: every bot pointed at the sandbox systems\n" + write_toml(config),
            encoding="utf-8",
        )
        try:
            settings = load_checked(path)
        except InvalidConfig as exc:
            out.print(f"[red]the demo's own config is invalid:[/]\n{exc}")
            return 2
        bots = discover(settings.bot_modules)
        runner = Runner(settings, bots=bots)
        runner.start(schedule=True, watch=False)
        try:
            return _run_all(runner, parts, settings, out, once, port, describe_schedule)
        finally:
            runner.shutdown(wait=False)
    finally:
        for part in parts:
            part.stop()


def _run_all(
    runner: Any, parts: list[Any], settings: Any, out: Console, once: bool, port: int, describe_schedule: Any
) -> int:
    todo = [(part.bot, part.params, part.description) for part in parts]
    started = {}
    for bot, params, _ in todo:
        if bot not in runner.bots:
            out.print(f"[yellow]skipping {bot}: bot not installed[/]")
            continue
        started[bot] = runner.trigger(bot, params, actor="demo", trigger=Trigger.MANUAL)
    with out.status("running every bot once…"):
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            states = {b: runner.history.get_run(r.id).status for b, r in started.items()}
            if all(s not in ("queued", "running") for s in states.values()):
                break
            time.sleep(0.3)
    table = Table("bot", "status", "time", "what it did", title="Backroom demo: every bot, once", show_lines=True)
    details = Table(box=None, pad_edge=False)
    details.add_column("bot")
    details.add_column("schedule it would follow")
    details.add_column("report", overflow="fold")
    failed = 0
    for bot, _, description in todo:
        if bot not in started:
            continue
        run = runner.history.get_run(started[bot].id)
        bot_settings = settings.bots.get(bot)
        schedule = describe_schedule(bot_settings.schedule, settings.timezone, bot_settings.calendar)
        artifacts = runner.history.artifacts(run.id)
        report = "-"
        if artifacts and run.run_dir:
            preferred = [a for a in artifacts if a.name.endswith((".xlsx", ".html", ".pdf"))] or artifacts
            report = str(Path(run.run_dir) / "artifacts" / preferred[0].name)
            if len(artifacts) > 1:
                report += f"  (+{len(artifacts) - 1} more)"
        style = {"succeeded": "green", "with_warnings": "dark_orange"}.get(run.status, "red")
        if run.status not in ("succeeded", "with_warnings"):  # warnings: finished, with work left for people
            failed += 1
        what = run.summary or run.error or description
        table.add_row(bot, f"[{style}]{run.status}[/]", format_duration(run.duration_s), what)
        details.add_row(bot, schedule, report)
    out.print(table)
    out.print(details)
    out.print(f"config: {settings.source}   history: backroom --config {settings.source} history")
    if once:
        return 1 if failed else 0
    from backroom.schedules.cli import serve_console

    with contextlib.suppress(KeyboardInterrupt):
        serve_console(runner, "127.0.0.1", port, threading.Event())
    return 1 if failed else 0

"""The ``backroom`` command: list, run, serve, history, show, pause, resume, cancel, prune, check, demo, ocr, db.

Exit codes a shell script can rely on:

    0  the command did what it was asked (for ``run``: the run succeeded)
    1  the run failed (failed, interrupted)
    2  bad usage or invalid configuration (nothing was started)
    3  the run timed out
    4  the run was cancelled (Ctrl-C during ``run`` cancels the run)
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backroom.schedules.errors import InvalidConfig
from backroom.schedules.migrations.cli import db_app
from backroom.schedules.settings import DEFAULT_CONFIG, Settings
from backroom.schedules.status import RunStatus

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Backroom: scheduled back-office bots.")
console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_CANCELLED = 0, 1, 2, 3, 4
STATUS_EXIT = {
    RunStatus.SUCCEEDED: EXIT_OK,
    RunStatus.WITH_WARNINGS: EXIT_OK,
    RunStatus.FAILED: EXIT_FAILED,
    RunStatus.INTERRUPTED: EXIT_FAILED,
    RunStatus.TIMED_OUT: EXIT_TIMEOUT,
    RunStatus.CANCELLED: EXIT_CANCELLED,
}
STATUS_STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.WITH_WARNINGS: "dark_orange",
    RunStatus.FAILED: "red",
    RunStatus.TIMED_OUT: "red",
    RunStatus.INTERRUPTED: "yellow",
    RunStatus.CANCELLED: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.QUEUED: "blue",
    RunStatus.SKIPPED: "dim",
}

app.add_typer(db_app, name="db")  # backroom db current | upgrade

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="configuration file", envvar="BACKROOM_CONFIG")]


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _load(config: Path, *, full_check: bool = True) -> tuple[Settings, dict[str, Any]]:
    from backroom.schedules.check import check_settings
    from backroom.schedules.discovery import discover
    from backroom.schedules.settings import load_settings

    try:
        settings = load_settings(config)
    except InvalidConfig as exc:
        _print_problems(exc)
        raise typer.Exit(EXIT_USAGE) from None
    bots = discover(settings.bot_modules)
    if full_check:
        problems = check_settings(settings, bots)
        if problems:
            _print_problems(InvalidConfig(problems))
            raise typer.Exit(EXIT_USAGE)
    return settings, bots


def _print_problems(exc: InvalidConfig) -> None:
    err_console.print(f"[bold red]Invalid configuration[/] — {len(exc.problems)} problem(s); nothing was started:")
    for problem in exc.problems:
        err_console.print(f"  • {problem}", markup=False, highlight=False)


def _parse_params(values: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err_console.print(f"[red]--param expects KEY=VALUE, got {escape(repr(item))}[/]")
            raise typer.Exit(EXIT_USAGE)
        if value[:1] in "[{":
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        params[key] = value
    return params


def _history(settings: Settings) -> Any:
    from backroom.schedules.history import History

    return History(settings.database_url)


@app.command("list")
def list_bots(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Bots, their schedules in words, and whether they are paused."""
    from backroom.schedules.triggers import describe_schedule

    settings, bots = _load(config, full_check=False)
    paused = _history(settings).paused_bots()
    table = Table("bot", "summary", "schedule", "state")
    for name, cls in bots.items():
        bot = settings.bots.get(name)
        schedule = describe_schedule(bot.schedule, settings.timezone, bot.calendar) if bot else "not configured"
        if bot and bot.watch:
            schedule += f"; on files in {bot.watch.folder}"
        state = "paused" if name in paused else ("disabled" if bot and not bot.enabled else "active")
        table.add_row(name, cls.summary, schedule, state)
    console.print(table)


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    online: Annotated[bool, typer.Option("--online", help="also log in to each system a bot uses")] = False,
) -> None:
    """Validate the configuration; report every problem with file, table and key."""
    settings, _bots = _load(config)
    scheduled = sum(1 for b in settings.bots.values() if b.schedule)
    console.print(
        f"[green]OK[/] {config}: {len(settings.bots)} bot(s) configured, {scheduled} scheduled, "
        f"{len(settings.systems)} system(s)"
    )
    if online:
        _check_online(settings, _bots)


def _check_online(settings: Settings, bots: dict[str, Any]) -> None:
    """``check --online``: each bot that declares ``online_needs`` has its systems opened and verified."""
    from backroom.bots.sdk.secrets import SecretResolver
    from backroom.bots.systems.base import check_online

    uses: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, bot in settings.bots.items():
        needs = getattr(bots.get(name), "online_needs", None)
        if needs is not None and bot.enabled:
            uses.update(needs(bots[name].Config.model_validate(bot.config)))
    results = check_online(dict(settings.systems), uses, SecretResolver().resolve)
    bad = 0
    for system, problems in results.items():
        if problems is None:
            console.print(f"  {system}: not checked (its backend cannot check itself online)", markup=False)
        elif not problems:
            console.print(f"  {system}: online OK", markup=False)
        for problem in problems or []:
            bad += 1
            err_console.print(f"  • {system}: {problem}", markup=False, highlight=False)
    for system in sorted(set(settings.systems) - set(results)):
        console.print(f"  {system}: not checked (no configured bot declares what it needs there)", markup=False)
    bad += _check_triggers_online(settings)
    if bad:
        raise typer.Exit(EXIT_USAGE)


def _check_triggers_online(settings: Settings) -> int:
    """Each ``when`` condition evaluated once and each mailbox logged in to once; the number of problems."""
    from backroom.schedules.check import online_trigger_checks

    bad = 0
    for where, found, ok in online_trigger_checks(settings):
        if ok:
            console.print(f"  {where}: {found}", markup=False, highlight=False)
        else:
            bad += 1
            err_console.print(f"  • {where}: {found}", markup=False, highlight=False)
    return bad


@app.command()
def run(
    bot: str,
    param: Annotated[list[str], typer.Option("--param", "-p", help="KEY=VALUE, repeatable")] = [],  # noqa: B006
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report what would change, change nothing")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run a bot now, in the foreground, with live progress. Ctrl-C cancels the run."""
    from backroom.schedules.errors import ParamsInvalid
    from backroom.schedules.runner import Runner

    settings, bots = _load(config)
    if bot not in bots:
        err_console.print(f"[red]unknown bot {bot!r}[/]; known bots: {', '.join(bots)}")
        raise typer.Exit(EXIT_USAGE)
    if dry_run and not bots[bot].supports_dry_run:
        err_console.print(f"[red]{bot} does not support --dry-run[/]")
        raise typer.Exit(EXIT_USAGE)
    given = _parse_params(param)
    runner = Runner(settings, bots=bots)

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, Any] = {}
    started: list[Any] = []

    def on_started(record: Any) -> None:
        started.append(record)
        console.print(f"[bold]{bot}[/] run [cyan]{record.id[:8]}[/] started" + (" (dry run)" if dry_run else ""))
        progress.start()

    def on_progress(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    def on_log(level: str, text: str) -> None:
        if level in ("WARNING", "ERROR", "CRITICAL") or os.environ.get("BACKROOM_VERBOSE"):
            style = "red" if level in ("ERROR", "CRITICAL") else "yellow"
            progress.console.print(f"[{style}]{level}[/] {escape(text)}", highlight=False)

    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_sig: int, _frame: Any) -> None:
        progress.console.print("[yellow]cancelling the run…[/]")
        if started:
            runner.executor.cancel(started[0].id)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        finished, outcome = runner.run_in_foreground(
            bot,
            given,
            actor=_actor(),
            source="cli",
            dry_run=dry_run,
            on_started=on_started,
            on_progress=on_progress,
            on_log=on_log,
        )
    except ParamsInvalid as exc:
        err_console.print(f"[red]invalid parameters for {bot}:[/]")
        for e in exc.errors:
            err_console.print(f"  • {e['field']}: {e['message']}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        progress.stop()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    _print_outcome(finished, outcome.traceback)
    raise typer.Exit(STATUS_EXIT.get(finished.status, EXIT_FAILED))


def _print_outcome(run: Any, tb: str | None = None) -> None:
    from backroom.schedules.durations import format_duration

    style = STATUS_STYLE.get(run.status, "white")
    console.print(
        f"[{style}]{run.status}[/] in {format_duration(run.duration_s)} — {escape(run.summary or run.error or '')}",
        highlight=False,
    )
    if run.counts:
        console.print("  " + ", ".join(f"{k}: {v}" for k, v in run.counts.items()), markup=False, highlight=False)
        from backroom.schedules.counts import attention_phrases

        lang = "zh-CN" if os.environ.get("LANG", "").lower().startswith("zh") else "en"
        needs = attention_phrases(run.counts, lang)
        if needs:  # no silent green: say what was left for people, in words
            label, sep = ("待处理：", "；") if lang == "zh-CN" else ("needs attention: ", "; ")
            console.print(f"  [dark_orange]{label}{escape(sep.join(needs))}[/]", highlight=False)
    if run.run_dir:
        console.print(f"  artifacts: {Path(run.run_dir) / 'artifacts'}", markup=False, highlight=False)
    if tb and run.status == RunStatus.FAILED and os.environ.get("BACKROOM_VERBOSE"):
        err_console.print(tb, markup=False, highlight=False)


@app.command()
def history(
    bot: Annotated[str | None, typer.Argument(help="only this bot")] = None,
    status: Annotated[str | None, typer.Option(help="only runs with this status")] = None,
    limit: Annotated[int, typer.Option(help="how many runs")] = 20,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Recent runs, newest first."""
    from backroom.schedules.durations import format_duration

    settings, _ = _load(config, full_check=False)
    store = _history(settings)
    store.interrupt_orphans(startup=False)  # a `backroom run` killed outside serve: its pid is gone
    page = store.list_runs(bot=bot, status=status, limit=limit)
    table = Table("run", "bot", "trigger", "status", "queued (local)", "duration", "summary")
    for run in page.runs:
        local = run.queued_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S")
        style = STATUS_STYLE.get(run.status, "white")
        table.add_row(
            run.id[:8],
            run.bot,
            run.trigger,
            f"[{style}]{run.status}[/]",
            local,
            format_duration(run.duration_s),
            (run.summary or run.error or "")[:80],
        )
    console.print(table)


@app.command()
def show(run_id: str, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """One run: parameters, result, error, log lines and artifacts."""
    settings, _ = _load(config, full_check=False)
    store = _history(settings)
    store.interrupt_orphans(startup=False)  # a `backroom run` killed outside serve: its pid is gone
    run = store.get_run(run_id)
    if run is None:
        err_console.print(f"[red]no run {escape(repr(run_id))}[/]")
        raise typer.Exit(EXIT_USAGE)
    console.print(
        f"[bold]{run.bot}[/] run {run.id}  trigger={run.trigger}  by={run.triggered_by or '-'}  attempt={run.attempt}"
    )
    _print_outcome(run)
    console.print(f"  params: {json.dumps(run.params, ensure_ascii=False)}", markup=False, highlight=False)
    if run.error:
        console.print(f"[red]error:[/] {escape(run.error)}", highlight=False)
    if run.traceback:
        console.print(run.traceback, markup=False, highlight=False)
    console.rule("log")
    for line in store.logs(run.id):
        local = line.at.astimezone(settings.zone).strftime("%H:%M:%S")
        console.print(f"{local} {line.level:<7} {line.message}", markup=False, highlight=False)
    artifacts = store.artifacts(run.id)
    if artifacts:
        console.rule("artifacts")
        for art in artifacts:
            console.print(f"  {art.name}  ({art.size:,} bytes)", highlight=False)


def _set_paused(bot: str, paused: bool, config: Path) -> None:
    settings, bots = _load(config, full_check=False)
    if bot not in bots:
        err_console.print(f"[red]unknown bot {bot!r}[/]")
        raise typer.Exit(EXIT_USAGE)
    store = _history(settings)
    store.set_paused(bot, paused, _actor())
    store.audit(_actor(), "pause" if paused else "resume", bot, source="cli")
    console.print(f"{bot} {'paused' if paused else 'resumed'} (a running `backroom serve` applies it within a second)")


@app.command()
def pause(bot: str, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Stop a bot's schedules from firing (survives restarts) until it is resumed."""
    _set_paused(bot, True, config)


@app.command()
def resume(bot: str, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Let a paused bot's schedules fire again, from now on (missed fires are not caught up)."""
    _set_paused(bot, False, config)


@app.command()
def cancel(run_id: str, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Cancel a queued or running run (its supervisor stops it within seconds)."""
    settings, _ = _load(config, full_check=False)
    store = _history(settings)
    run = store.request_cancel(run_id)
    if run is None:
        err_console.print(f"[red]no run {escape(repr(run_id))}[/]")
        raise typer.Exit(EXIT_USAGE)
    store.audit(_actor(), "cancel", run.bot, source="cli", detail={"run_id": run.id})
    console.print(f"cancel requested for run {run.id[:8]} ({run.bot}, was {run.status})")


@app.command()
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would go, delete nothing")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Prune now what is past retention: runs with their folders, and old audit entries (audited)."""
    from backroom.schedules.history import utcnow
    from backroom.schedules.maintenance import Maintenance

    settings, _ = _load(config, full_check=False)
    report = Maintenance(settings, _history(settings), utcnow).prune(actor=_actor(), source="cli", dry_run=dry_run)
    if dry_run:
        console.print(f"{report.runs} run(s) older than {settings.retention_days} days would be deleted")
        return
    console.print(
        f"pruned {report.runs} run(s) and {report.folders} folder(s) older than {settings.retention_days} days, "
        f"{report.audit} audit entries older than {settings.audit_retention_days} days"
    )


@app.command()
def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    host: Annotated[str | None, typer.Option(help="console address (default from config: 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="console port")] = None,
    no_console: Annotated[bool, typer.Option("--no-console", help="run schedules only, no web console")] = False,
) -> None:
    """Run the scheduler (and the web console) until stopped. Refuses to start on invalid config."""
    from backroom.schedules.console.app import check_bind
    from backroom.schedules.distributed.runner import make_runner
    from backroom.schedules.errors import RunnerBusy, UnsafeBind

    _setup_logging()
    settings, bots = _load(config)
    bind_host = host or settings.console.host
    if not no_console:
        try:
            check_bind(bind_host, settings)
        except UnsafeBind as exc:
            err_console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(EXIT_USAGE) from None
    runner = make_runner(settings, bots)
    try:
        runner.start()
    except RunnerBusy as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(EXIT_USAGE) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if no_console:
            console.print(f"runner started with {len(runner.specs)} scheduled job(s); Ctrl-C stops it")
            while not stop.wait(1):
                pass
        else:
            serve_console(
                runner, host or settings.console.host, port if port is not None else settings.console.port, stop
            )
    except KeyboardInterrupt:
        pass
    finally:
        runner.shutdown(wait=False)


def serve_console(runner: Any, host: str, port: int, stop: threading.Event) -> None:
    """Serve the web console for ``runner`` until ``stop`` is set or Ctrl-C."""
    try:
        from backroom.schedules.console.app import create_app
    except ImportError:
        console.print("[yellow]web console not available; running schedules only[/]")
        while not stop.wait(1):
            pass
        return
    import uvicorn

    app_ = create_app(runner)
    # uvicorn would believe X-Forwarded-For from any loopback peer; the console decides that itself,
    # from console.trusted_proxies only (schedules/console/guard.py).
    config = uvicorn.Config(app_, host=host, port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    watcher = threading.Thread(target=lambda: (stop.wait(), setattr(server, "should_exit", True)), daemon=True)
    watcher.start()
    console.print(f"console on http://{host}:{port}  —  Ctrl-C stops Backroom")
    server.run()


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@app.command("hash-password")
def hash_password() -> None:
    """Print an argon2 hash of a password (read from the terminal) for [[console.users]]."""
    from argon2 import PasswordHasher

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    console.print(PasswordHasher().hash(password), highlight=False)


@app.command()
def setup(
    check_only: Annotated[bool, typer.Option("--check", help="only report what is missing")] = False,
) -> None:
    """Install what Backroom needs outside Python: a Chromium for Playwright, CJK fonts."""
    from backroom.schedules.setup import ensure_system_packages

    raise typer.Exit(ensure_system_packages(check_only=check_only, out=console))


@app.command()
def demo(
    once: Annotated[bool, typer.Option("--once", help="run every bot once and exit (non-zero if any failed)")] = False,
    workdir: Annotated[Path, typer.Option(help="where the demo writes its config, data and runs")] = Path("var/demo"),
    port: Annotated[int, typer.Option(help="console port when not --once")] = 8600,
) -> None:
    """Start the sandbox systems, run every bot once on them, show the results (and the console)."""
    import importlib.util

    if importlib.util.find_spec("faker") is None:
        console.print("[red]the demo needs the sandbox's extra packages: pip install 'backroom[demo]'[/red]")
        raise typer.Exit(2)
    from backroom.sandbox.demo import run_demo

    raise typer.Exit(run_demo(workdir, once=once, port=port, out=console))


@app.command()
def ocr(
    paths: Annotated[list[Path], typer.Argument(help="image/PDF files or folders")],
    engine: Annotated[str, typer.Option(help="rapid | paddle | tesseract")] = "rapid",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Read receipts and invoices: type and every field with its confidence."""
    from backroom.ocr.cli import ocr_command

    raise typer.Exit(ocr_command(paths, engine, as_json))


def _register_distributed() -> None:
    from backroom.schedules.distributed.cli import register

    register(app)


_register_distributed()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

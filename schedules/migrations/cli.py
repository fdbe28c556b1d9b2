"""``backroom db``: show and apply the migrations of Backroom's own database.

Every start applies them anyway (History on open, each bot's store on first use); these commands let
an operator do it before a deployment, and see where a database stands. The schemas are those the
installed packages register in the ``backroom.schemas`` entry-point group, the runner's first.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backroom.schedules.settings import DEFAULT_CONFIG

__all__ = ["db_app"]

db_app = typer.Typer(no_args_is_help=True, help="Backroom's own database: migration state and upgrades.")
console = Console()
err_console = Console(stderr=True)

EXIT_USAGE = 2

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="configuration file", envvar="BACKROOM_CONFIG")]
UrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="database to use instead of the configuration's", show_default=False),
]


def _database_url(config: Path, url: str | None) -> str:
    if url:
        return url
    from backroom.schedules.errors import InvalidConfig
    from backroom.schedules.settings import load_settings

    try:
        return load_settings(config).database_url
    except InvalidConfig as exc:
        err_console.print(f"[bold red]Invalid configuration[/] — {len(exc.problems)} problem(s):")
        for problem in exc.problems:
            err_console.print(f"  • {problem}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


@db_app.command("current")
def show_current(config: ConfigOption = DEFAULT_CONFIG, database_url: UrlOption = None) -> None:
    """Each schema's revision in the database, and the newest this installation knows."""
    from backroom.bots.sdk.db import current, head, make_engine, registered_schemas

    engine = make_engine(_database_url(config, database_url))
    table = Table("schema", "database", "newest", "state")
    try:
        for schema in registered_schemas():
            have, newest = current(engine, schema), head(schema)
            state = "up to date" if have == newest else ("not created yet" if have is None else "upgrade pending")
            table.add_row(schema.name, have or "—", newest, state)
    finally:
        engine.dispose()
    console.print(table)


@db_app.command("upgrade")
def upgrade_all(config: ConfigOption = DEFAULT_CONFIG, database_url: UrlOption = None) -> None:
    """Create or migrate every schema's tables to the newest revision (safe to run again)."""
    from backroom.bots.sdk.db import current, make_engine, registered_schemas, upgrade
    from backroom.schedules.history import History

    url = _database_url(config, database_url)
    engine = make_engine(url)
    changed: dict[str, list[str | None]] = {}
    table = Table("schema", "was", "now")
    try:
        for schema in registered_schemas():
            before = current(engine, schema)
            after = upgrade(engine, schema)
            table.add_row(schema.name, before or "—", after)
            if before != after:
                changed[schema.name] = [before, after]
        if changed:
            History(engine).audit(_actor(), "db-upgrade", "database", source="cli", detail=changed)
    finally:
        engine.dispose()
    console.print(table)
    console.print(f"{len(changed)} schema(s) upgraded" if changed else "every schema was already up to date")


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"

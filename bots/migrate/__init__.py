"""The migrate bot: move records between systems safely, repeatably and fast.

Migrations are declared in ``[bots.migrate.config.migrations.NAME]`` (see
:mod:`bots.migrate.config`); a run picks one by name::

    backroom run migrate --param name=bills_to_crm [--dry-run]

Importing this package stays cheap: SQLAlchemy reflection, openpyxl and Playwright are imported
inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from backroom.bots.migrate.config import Config, Migration
from backroom.bots.sdk.bot import Bot, Params, Result
from backroom.bots.sdk.errors import ConfigError

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Config", "Migrate", "MigrateParams", "Migration"]


class MigrateParams(Params):
    name: str = Field(
        default="", description="which migration of [bots.migrate.config.migrations] to run ('' = the only one)"
    )
    full: bool = Field(default=False, description="ignore the incremental cursor and read everything")
    max_batches: int = Field(default=0, ge=0, description="stop after this many batches (0 = all)")
    verify: bool = Field(
        default=False,
        description="read everything, compare with what the target holds, repair it and list target rows "
        "the source no longer has",
    )
    drop_rejects: str = Field(
        default="",
        description="pending rejects to give up: keys as in the rejects file, comma-separated, or 'all'",
    )


class Migrate(Bot[MigrateParams, Config]):
    name = "migrate"
    summary = "Move records between systems (SQL, REST, files, web forms): incremental, resumable, proved"
    Params = MigrateParams
    Config = Config
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context[Config], params: MigrateParams) -> Result:
        from backroom.bots.migrate.engine import run_migration

        config = ctx.config
        name = params.name or (next(iter(config.migrations)) if len(config.migrations) == 1 else "")
        mig = config.migrations.get(name)
        if mig is None:
            known = ", ".join(sorted(config.migrations)) or "none"
            raise ConfigError(f"no migration named {name!r} in [bots.migrate.config.migrations] (known: {known})")
        return run_migration(
            ctx,
            name,
            mig,
            full=params.full,
            limit_batches=params.max_batches,
            verify=params.verify,
            drop_rejects=params.drop_rejects,
        )

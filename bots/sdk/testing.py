"""Building a :class:`Context` without the runner, for tests and notebooks."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from backroom.bots.sdk.context import Context
from backroom.bots.sdk.paths import ROOT_NAMES, Roots
from backroom.bots.sdk.secrets import SecretResolver
from backroom.bots.sdk.system import SystemSettings

__all__ = ["make_context", "make_params"]

P = TypeVar("P", bound=BaseModel)


def make_context(
    tmp_path: Path,
    bot: str = "test",
    *,
    systems: Mapping[str, SystemSettings | Mapping[str, Any]] | None = None,
    config: BaseModel | None = None,
    environ: Mapping[str, str] | None = None,
    notify_targets: Sequence[str] = (),
    clock: Callable[[], dt.datetime] | None = None,
    database_url: str | None = None,
    dry_run: bool = False,
    timezone: str = "Asia/Shanghai",
    roots: Roots | None = None,
) -> Context:
    """A context rooted in ``tmp_path`` with a SQLite state database there.

    Without ``config``, the context carries the defaults of ``bot``'s config model (found in the
    ``backroom.bots`` entry-point group), as the runner would for an empty ``[bots.NAME.config]``.
    Without ``roots``, every root is ``tmp_path`` itself: a test may put its files anywhere in it,
    and nothing outside it is reachable.
    """
    run_dir = tmp_path / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    resolved = {
        name: s if isinstance(s, SystemSettings) else SystemSettings.model_validate(dict(s))
        for name, s in (systems or {}).items()
    }
    return Context(
        run_id=run_dir.name,
        bot=bot,
        run_dir=run_dir,
        database_url=database_url or f"sqlite:///{tmp_path / 'backroom.db'}",
        systems=resolved,
        config=config if config is not None else _default_config(bot),
        secrets=SecretResolver(environ=environ),
        notify_targets=notify_targets,
        clock=clock,
        logger=logging.getLogger(f"backroom.test.{bot}"),
        dry_run=dry_run,
        home=tmp_path,
        timezone=timezone,
        roots=roots if roots is not None else Roots(dict.fromkeys(ROOT_NAMES, Path(tmp_path))),
    )


def make_params(model: type[P], ctx: Context, **values: Any) -> P:
    """``model`` validated as the runner validates it: file parameters confined under ``ctx.roots``."""
    return model.model_validate(values, context={"roots": ctx.roots})


def _default_config(bot: str) -> BaseModel | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="backroom.bots", name=bot):
        return ep.load().Config()
    return None

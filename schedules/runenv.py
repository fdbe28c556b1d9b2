"""What a run's process is given: a minimal environment and only the secrets its bot references.

Why not serve's environment: it holds every console token and every system's secret, and a bot (or a
file it was tricked into reading, such as ``/proc/self/environ``) must see only its own. So a run gets

* ``PATH``, the locale (``LANG``, ``LC_ALL``, ``LC_CTYPE``) and ``TZ`` from serve, and the few
  tool locations named in ``run_env``;
* ``HOME``: ``run_home`` when configured, else the run's own folder;
* :data:`RUN_ID_VARIABLE`: the run's id, a marker that every process the run starts inherits (a
  ``setsid`` grandchild too), by which :mod:`schedules.leftovers` finds what outlived the run;
* the secrets its bot references (in the systems it uses, its config and its notify targets),
  resolved here, in serve: an ``env:`` reference becomes that variable of the run's environment,
  a ``keyring:`` one travels as a value in the payload (a run never asks the keyring itself).

The forkserver that forks every run is itself started with :func:`base_environ` only, since a
process's ``/proc/self/environ`` shows the environment it was *started* with, whatever it sets later.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backroom.bots.sdk.errors import MissingSecretError
from backroom.bots.sdk.secrets import SecretResolver, is_secret_ref, parse_ref
from backroom.schedules.settings import BotSettings, Settings

__all__ = [
    "BASE_VARIABLES",
    "RUN_ID_VARIABLE",
    "RunSecrets",
    "base_environ",
    "referenced_secrets",
    "resolve_secrets",
    "run_environ",
]

#: what every run (and the forkserver) takes from serve's environment
BASE_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
RUN_ID_VARIABLE = "BACKROOM_RUN_ID"


def base_environ(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of :data:`BASE_VARIABLES` that ``source`` (serve's environment) sets."""
    source = os.environ if source is None else source
    return {name: source[name] for name in BASE_VARIABLES if name in source}


def _strings_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings_in(item)


def _refs_in(value: Any) -> Iterable[str]:
    return (text for text in _strings_in(value) if is_secret_ref(text))


def referenced_secrets(settings: Settings, bot: str, systems: Iterable[str]) -> list[str]:
    """Every secret reference a run of ``bot`` may resolve: in the systems it uses (``systems``, and
    any system its config names under whatever key, as ``portal = "bank"`` does; whole tables: token,
    password, a username or URL given by reference, options), its config, its notify targets. In the
    order found, each once."""
    bot_settings = settings.bots.get(bot, BotSettings())
    named = [text for text in _strings_in(bot_settings.config) if text in settings.systems]
    found: list[str] = []
    for name in dict.fromkeys([*systems, *named]):
        system = settings.systems.get(name)
        if system is not None:
            found.extend(_refs_in(system.model_dump(mode="json")))
    found.extend(_refs_in(bot_settings.config))
    found.extend(_refs_in(bot_settings.notify))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class RunSecrets:
    """The secrets of one run, resolved in serve: ``env:`` ones as variables, ``keyring:`` ones as values."""

    environ: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    def all_values(self) -> list[str]:
        """Every resolved value, for the supervisor's redactor."""
        return [*self.environ.values(), *self.values.values()]


def resolve_secrets(refs: Iterable[str], resolver: SecretResolver) -> RunSecrets:
    """Resolve ``refs``; one that is not set is left out (the run fails naming it when it asks for it)."""
    environ: dict[str, str] = {}
    values: dict[str, str] = {}
    for ref in refs:
        try:
            value = resolver.resolve(ref)
        except MissingSecretError:
            continue
        scheme, name, _ = parse_ref(ref)
        if scheme == "env":
            environ[name] = value
        else:
            values[ref] = value
    return RunSecrets(environ, values)


def run_environ(
    settings: Settings,
    run_id: str,
    run_dir: Path,
    secrets: RunSecrets,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of one run's process (see the module docstring)."""
    source = os.environ if source is None else source
    environ = base_environ(source)
    environ.update({name: source[name] for name in settings.run_env if name in source})
    environ.update(secrets.environ)
    if "PLAYWRIGHT_BROWSERS_PATH" not in environ and "HOME" in source:
        # Playwright looks for its own browsers under HOME, which a run does not share with serve
        browsers = Path(source["HOME"]) / ".cache" / "ms-playwright"
        if browsers.is_dir():
            environ["PLAYWRIGHT_BROWSERS_PATH"] = str(browsers)
    environ["HOME"] = str(settings.run_home_path or run_dir)
    environ[RUN_ID_VARIABLE] = run_id
    return environ

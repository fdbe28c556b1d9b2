"""Finding bots: the ``backroom.bots`` entry-point group and the modules named by ``bot_modules``.

Backroom's own bots register in the same entry-point group as a company's (``pyproject.toml``), so
there is one way in and no list of SDK modules to skip. Bot modules must import heavy libraries
(OCR models, browsers) inside functions, so that listing bots stays fast.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Sequence
from importlib.metadata import entry_points

from backroom.bots.sdk.bot import Bot
from backroom.schedules.errors import BotNotFound

__all__ = ["BotNotFound", "discover", "get_bot"]

log = logging.getLogger(__name__)


def _bots_in_module(module: object) -> list[type[Bot]]:
    found = []
    for _, obj in inspect.getmembers(module, inspect.isclass):
        owner = getattr(module, "__name__", "")
        defined_here = obj.__module__ == owner or obj.__module__.startswith(owner + ".")
        if issubclass(obj, Bot) and obj is not Bot and getattr(obj, "name", None) and defined_here:
            found.append(obj)
    return found


_PACKAGE_CACHE: dict[str, dict[str, type[Bot]]] = {}


def discover(extra_modules: Sequence[str] = (), *, fresh: bool = False) -> dict[str, type[Bot]]:
    """All bots by name. A bot module that fails to import is logged and left out.

    ``extra_modules`` are importable module names holding bots that are not packaged with an entry
    point (config key ``bot_modules``). The bots of entry points are
    looked up once per process (``fresh=True`` looks again): each run's process inherits them from
    the pre-warmed forkserver instead of scanning every installed distribution again.
    """
    if fresh or "base" not in _PACKAGE_CACHE:
        _PACKAGE_CACHE["base"] = _package_and_entry_point_bots()
    result = dict(_PACKAGE_CACHE["base"])
    for name in extra_modules:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001
            log.exception("could not import bot module %s (from bot_modules)", name)
            continue
        for cls in _bots_in_module(module):
            result[cls.name] = cls
    return dict(sorted(result.items()))


def _package_and_entry_point_bots() -> dict[str, type[Bot]]:
    result: dict[str, type[Bot]] = {}
    for ep in entry_points(group="backroom.bots"):
        try:
            obj = ep.load()
        except Exception:
            log.exception("could not load bot entry point %s", ep.name)
            continue
        if inspect.isclass(obj) and issubclass(obj, Bot):
            result[obj.name] = obj
        else:
            for cls in _bots_in_module(obj):
                result[cls.name] = cls
    return dict(sorted(result.items()))


def get_bot(name: str, extra_modules: Sequence[str] = ()) -> type[Bot]:
    found = discover(extra_modules)
    if name not in found:
        raise BotNotFound(name, list(found))
    return found[name]

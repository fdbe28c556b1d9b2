"""One error tree for ``backroom.bots``: business and application errors are disjoint, and every
public error class is drawn in ``bots/sdk/errors.py``'s docstring."""

from __future__ import annotations

import importlib
import pkgutil
import re

import backroom.bots
from backroom.bots.sdk import errors
from backroom.bots.sdk.errors import ApplicationError, BotError, BusinessError


def _error_classes() -> list[type[BotError]]:
    for info in pkgutil.walk_packages(backroom.bots.__path__, "backroom.bots."):
        importlib.import_module(info.name)
    found: list[type[BotError]] = []
    todo: list[type[BotError]] = [BotError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c not in found and c.__module__.startswith("backroom.bots"))
    return found


def test_no_error_is_both_business_and_application() -> None:
    classes = _error_classes()
    both = [c.__qualname__ for c in classes if issubclass(c, BusinessError) and issubclass(c, ApplicationError)]
    assert both == []


def test_the_adapters_data_errors_are_business_errors() -> None:
    from backroom.bots.systems.dialer.base import DoNotCall
    from backroom.bots.systems.helpdesk.base import HelpdeskError, TicketChanged, TicketNotFound

    for cls in (TicketNotFound, TicketChanged, DoNotCall):
        assert issubclass(cls, BusinessError) and not issubclass(cls, ApplicationError)
    assert not issubclass(TicketNotFound, HelpdeskError)


def test_every_public_error_is_drawn_in_the_tree() -> None:
    drawn = errors.__doc__ or ""
    public = {c.__name__ for c in _error_classes() if not c.__name__.startswith("_")}
    missing = sorted(name for name in public if not re.search(rf"(─ |^    ){name}\b", drawn, re.MULTILINE))
    assert missing == []

"""The one ``kind → class`` registry every adapter kind is chosen through.

A *kind* is a role another system plays for a bot (``helpdesk``, ``dialer``, ``bank-portal``,
``form``, ``sql``, ``metric-source``...). Each kind has one interface, an abstract base class in
``systems/<kind>/base.py``, and one class per *backend* (``rt-rest``, ``browser``...). Config names
the backend: ``[systems.NAME] kind = "rt-rest"``; the bot names the kind it needs. This module
maps the pair to a class, checks that the class implements the kind's interface, and says which
backends exist when the config names one that does not.

Backroom's own backends are listed here by import path (imported only when chosen, so an unused
browser backend costs nothing). Other distributions add backends through the entry-point group
``backroom.systems``: the entry's name is ``"<kind>:<backend>"``, its value ``"module:Class"``::

    [project.entry-points."backroom.systems"]
    "helpdesk:zendesk" = "acme_backroom.zendesk:ZendeskHelpdesk"

A bot that owns a kind of its own (the migrate bot's record sources and targets) defines it with
:func:`define_kind`, giving its base class and built-in backends the same way.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from backroom.bots.sdk.errors import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "KindSpec",
    "backend_class",
    "backends",
    "define_kind",
    "kinds",
]

ENTRY_POINT_GROUP = "backroom.systems"

T = TypeVar("T")


@dataclass(frozen=True)
class KindSpec:
    """One kind: its interface and its built-in backends (``name -> "module:Class"``)."""

    name: str
    base: str  # "module:Class" of the abstract base class
    builtins: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)  # older config spellings -> backend


_S = "backroom.bots.systems"
_KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            "helpdesk",
            f"{_S}.helpdesk.base:Helpdesk",
            {"rt-rest": f"{_S}.helpdesk.rt:RTHelpdesk", "browser": f"{_S}.helpdesk.browser:BrowserHelpdesk"},
            {"rt": "rt-rest", "helpdesk-rt": "rt-rest", "helpdesk-browser": "browser"},
        ),
        KindSpec(
            "dialer",
            f"{_S}.dialer.base:Dialer",
            {"dialer-http": f"{_S}.dialer.http:HttpDialer"},
            {"dialer": "dialer-http"},
        ),
        KindSpec(
            "bank-portal",
            f"{_S}.bank_portal.base:BankPortal",
            {"browser": f"{_S}.bank_portal.browser:BrowserBankPortal"},
            {"bank-portal": "browser"},
        ),
        KindSpec(
            "accounts",
            f"{_S}.accounts.base:AccountDirectory",
            {"rt-rest": f"{_S}.accounts.rt:RtAccounts", "wecom": f"{_S}.accounts.wecom:WecomDirectory"},
        ),
        KindSpec("form", f"{_S}.form.base:FormAdapter", {"browser": f"{_S}.form.browser:LabelledForm"}),
        KindSpec(
            "sql",
            f"{_S}.sql.base:SqlDatabase",
            {"sql": f"{_S}.sql.alchemy:AlchemyDatabase"},
            {"sqlalchemy": "sql"},
        ),
        KindSpec(
            "metric-source",
            f"{_S}.metric_sources.base:MetricSource",
            {
                "json": f"{_S}.metric_sources.json_http:JsonSource",
                "prometheus": f"{_S}.metric_sources.prometheus:PrometheusSource",
                "sql": f"{_S}.metric_sources.sql:SqlSource",
                "files": f"{_S}.metric_sources.files:FilesSource",
                "dashboard": f"{_S}.metric_sources.dashboard:DashboardSource",
            },
        ),
    )
}


def define_kind(name: str, base: type, builtins: dict[str, str], aliases: dict[str, str] | None = None) -> None:
    """Add a kind owned outside ``systems/`` (idempotent: re-importing the owner is harmless)."""
    path = f"{base.__module__}:{base.__qualname__}"
    known = _KINDS.get(name)
    if known is not None and known.base != path:
        raise ConfigError(f"adapter kind {name!r} is already defined by {known.base}, not {path}")
    _KINDS[name] = KindSpec(name, path, dict(builtins), dict(aliases or {}))


def kinds() -> list[str]:
    """Every defined kind, sorted."""
    return sorted(_KINDS)


def _spec(kind: str) -> KindSpec:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown adapter kind {kind!r}; known kinds: {', '.join(kinds())}") from None


def _plugins(kind: str) -> dict[str, Any]:
    """Entry points of ``backroom.systems`` named ``<kind>:<backend>``, by backend."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        owner, _, backend = ep.name.partition(":")
        if owner == kind and backend:
            found[backend] = ep
    return found


def backends(kind: str) -> list[str]:
    """The backend names ``kind`` accepts in config (built-in and installed), sorted."""
    spec = _spec(kind)
    return sorted({*spec.builtins, *_plugins(kind)})


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def backend_class(kind: str, backend: str, *, where: str = "") -> type[Any]:
    """The class for ``backend`` of ``kind``, checked to implement the kind's interface.

    ``where`` names the config entry (``[systems.helpdesk]``) so the error points at the file.
    """
    spec = _spec(kind)
    name = spec.aliases.get(backend, backend)
    prefix = f"{where} " if where else ""
    if name in spec.builtins:
        cls = _load(spec.builtins[name])
        origin = spec.builtins[name]
    else:
        plugins = _plugins(kind)
        if name not in plugins:
            raise ConfigError(f"{prefix}kind {backend!r} is not a {kind} backend; known: {', '.join(backends(kind))}")
        cls = plugins[name].load()
        origin = plugins[name].value
    base = _load(spec.base)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"{origin} is registered as {kind} backend {name!r} but is not a {base.__qualname__}")
    return cls

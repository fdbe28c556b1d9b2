"""The one ``kind -> class`` registry: every backend checked against its kind's interface, clear
errors naming what exists, and third-party backends through the ``backroom.systems`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import backroom.bots.migrate.sources  # noqa: F401 - defines the records-source kind (parametrized below)
import backroom.bots.migrate.targets  # noqa: F401 - defines the records-target kind
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.sdk.testing import make_context
from backroom.bots.systems import registry
from backroom.bots.systems.base import open_system
from backroom.bots.systems.dialer.base import Dialer
from backroom.bots.systems.helpdesk.base import Helpdesk
from backroom.bots.systems.helpdesk.rt import RTHelpdesk


class FakeHelpdesk(Helpdesk):
    """A third-party backend, as another distribution would ship it."""

    def __init__(self, settings: SystemSettings, secret: Any) -> None:
        self.settings = settings

    async def search(self, query: str) -> list[Any]:
        return []

    async def get(self, ticket_id: int) -> Any:
        raise NotImplementedError

    async def update(self, ticket_id: int, changes: dict[str, Any], *, if_match: str | None = None) -> str | None:
        return None

    async def comment(self, ticket_id: int, text: str) -> None:
        return None

    async def history(self, ticket_id: int, *, with_content: bool = True) -> list[Any]:
        return []

    async def aclose(self) -> None:
        return None


class NotAHelpdesk:
    pass


def _plugins(monkeypatch: pytest.MonkeyPatch, **entries: str) -> None:
    eps = [EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP) for name, value in entries.items()]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == registry.ENTRY_POINT_GROUP else [])


@pytest.mark.parametrize("kind", registry.kinds())
def test_every_builtin_backend_implements_its_kind(kind: str) -> None:
    base = registry._load(registry._spec(kind).base)
    for backend in registry.backends(kind):
        cls = registry.backend_class(kind, backend)
        assert issubclass(cls, base) and not getattr(cls, "__abstractmethods__", None), (kind, backend)


def test_old_spellings_still_choose_the_same_backend() -> None:
    assert registry.backend_class("helpdesk", "rt") is RTHelpdesk
    assert registry.backend_class("helpdesk", "helpdesk-rt") is RTHelpdesk
    assert registry.backend_class("bank-portal", "bank-portal").__name__ == "BrowserBankPortal"


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        registry.backend_class("helpdesk", "zendesk", where="[systems.desk]")
    message = str(info.value)
    assert message.startswith("[systems.desk] kind 'zendesk' is not a helpdesk backend")
    assert "browser, rt-rest" in message


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ConfigError, match=r"unknown adapter kind 'fax'; known kinds: .*helpdesk"):
        registry.backend_class("fax", "any")


def test_entry_point_adds_a_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _plugins(monkeypatch, **{"helpdesk:fake": f"{__name__}:FakeHelpdesk", "dialer:other": f"{__name__}:NotAHelpdesk"})
    assert registry.backends("helpdesk") == ["browser", "fake", "rt-rest"]
    ctx = make_context(tmp_path, systems={"desk": {"kind": "fake", "url": "http://127.0.0.1:9"}})
    desk = open_system(ctx, "desk", Helpdesk)
    assert type(desk) is FakeHelpdesk and desk.settings.url == "http://127.0.0.1:9"


def test_a_class_that_does_not_implement_the_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _plugins(monkeypatch, **{"helpdesk:broken": f"{__name__}:NotAHelpdesk"})
    with pytest.raises(ConfigError, match=r"registered as helpdesk backend 'broken' but is not a Helpdesk"):
        registry.backend_class("helpdesk", "broken")


def test_a_system_of_another_kind_is_refused(tmp_path: Path) -> None:
    """The tickets bot's old in-bot kind check, now the registry's: a helpdesk is not a dialer."""
    ctx = make_context(tmp_path, systems={"desk": {"kind": "rt-rest", "url": "http://127.0.0.1:9"}})
    wanted = r"\[systems.desk\] kind 'rt-rest' is not a dialer backend; known: dialer-http"
    with pytest.raises(ConfigError, match=wanted):
        open_system(ctx, "desk", Dialer)


def test_define_kind_refuses_a_second_interface_for_a_name() -> None:
    with pytest.raises(ConfigError, match="already defined"):
        registry.define_kind("helpdesk", NotAHelpdesk, {})

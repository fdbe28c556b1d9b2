"""What every adapter built from a ``[systems.NAME]`` table has in common.

An adapter is made from the system's settings and a way to resolve secret references; nothing
else (no context, no runner). :func:`open_system` is how a bot gets one: it reads the table, asks
the registry for the class of the table's ``kind`` within the kind of system the bot needs, and
builds it. Browser adapters also receive the folder where they keep evidence of a failed step.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from backroom.bots.sdk.system import SystemSettings

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["SystemAdapter", "check_online", "open_system"]

A = TypeVar("A", bound="SystemAdapter")


class SystemAdapter(abc.ABC):  # noqa: B024 - a root without abstract methods; each kind adds its own
    """Root of the kinds' interfaces (helpdesk, dialer, bank portal, form, SQL)."""

    #: the registry's name of the kind this interface defines ("helpdesk", "dialer"...)
    KIND: ClassVar[str]

    @classmethod
    def from_settings(
        cls,
        settings: SystemSettings,
        secret: Callable[[str], str],
        *,
        evidence: Path | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> Self:
        """Build the adapter; backends that keep evidence, drive pages in the run's time zone or need more
        override this."""
        return cls(settings, secret)  # type: ignore[call-arg]

    def check_online(self, needs: dict[str, Any] | None = None) -> list[str] | None:
        """Contact the system and list every problem found, each named (``backroom check --online``).

        ``needs`` is what the bot using this system expects of it (queues, custom fields, statuses...;
        each kind documents its keys). An empty list means all was verified; ``None`` means this backend
        cannot check itself online yet, which the CLI reports as "not checked" rather than passing it.
        An adapter is used for one check only: it releases its connections when done.
        """
        return None


def open_system(ctx: Context[Any], system: str, kind: type[A]) -> A:
    """The adapter for ``[systems.<system>]`` as a ``kind`` (the kind's base class), checked.

    ``open_system(ctx, "helpdesk", Helpdesk)`` returns an :class:`RTHelpdesk` or a
    :class:`BrowserHelpdesk` as the table's ``kind`` says, typed as a ``Helpdesk``.
    """
    from backroom.bots.systems.registry import backend_class

    settings = ctx.system(system)
    cls = backend_class(kind.KIND, settings.kind, where=f"[systems.{system}]")
    adapter = cls.from_settings(settings, ctx.secret, evidence=ctx.artifacts_dir, timezone=ctx.timezone.key)
    assert isinstance(adapter, kind)
    return adapter


def check_online(
    systems: dict[str, SystemSettings], uses: dict[str, tuple[str, dict[str, Any]]], secret: Callable[[str], str]
) -> dict[str, list[str] | None]:
    """``backroom check --online``: open each system a bot uses and collect its problems.

    ``uses`` maps a ``[systems.NAME]`` to (the kind the bot needs, what it expects there), as a bot's
    ``online_needs(config)`` returns. A system that cannot be built (unknown backend, bad settings)
    is a problem of its own; ``None`` for a backend that cannot check itself online.
    """
    from backroom.bots.sdk.errors import BotError
    from backroom.bots.systems.registry import backend_class

    out: dict[str, list[str] | None] = {}
    for name, (kind, needs) in uses.items():
        settings = systems.get(name)
        if settings is None:
            out[name] = [f"[systems.{name}] is not configured"]
            continue
        try:
            cls = backend_class(kind, settings.kind, where=f"[systems.{name}]")
            adapter = cls.from_settings(settings, secret)
            out[name] = adapter.check_online(needs)
        except BotError as exc:
            out[name] = [str(exc)]
    return out

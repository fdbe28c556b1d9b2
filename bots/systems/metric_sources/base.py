"""What every metric source adapter takes and returns.

A source is configured as one entry of ``[[bots.metrics.config.sources]]``: a ``name``, a ``kind``
(``json``, ``prometheus``, ``sql``, ``files``, ``dashboard``), usually a ``system`` (a
``[systems.NAME]`` table with url and credentials) and kind-specific ``options`` validated by the
adapter's own ``Options`` model. An adapter's ``pull(ctx, source, window)`` is a coroutine returning
a :class:`PullResult`: the samples, the problems it skipped past (non-numeric cells...), and any
evidence files (a dashboard screenshot).

    MetricSourceError        the source could not be read at all (down, refused, bad answer)
    └── LayoutError          a page or file no longer has a column the mapping needs
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.bots.sdk.errors import ApplicationError

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = [
    "LayoutError",
    "MetricSource",
    "MetricSourceError",
    "PullResult",
    "Sample",
    "SourceConfig",
    "Window",
    "dims_key",
]


class MetricSourceError(ApplicationError):
    """A source could not be read; the message names the source and what went wrong."""


class LayoutError(MetricSourceError):
    """A dashboard table or file lacks a column the mapping names."""


def dims_key(dims: dict[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """Canonical text of a dimension set: JSON, sorted keys, no spaces, CJK kept as is."""
    items = dict(dims)
    return json.dumps({k: str(items[k]) for k in sorted(items)}, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Sample:
    """One value: ``metric`` of ``dims`` over [start, start + seconds), ``start`` aware."""

    metric: str
    dims: str  # dims_key(...)
    start: dt.datetime
    seconds: int
    value: float


@dataclass(frozen=True)
class Window:
    """The intervals wanted: those starting in [start, end), aware UTC."""

    start: dt.datetime
    end: dt.datetime


@dataclass
class PullResult:
    """What one pull brought back.

    ``stale`` names the parts of a source (a query, ``*`` for all of it) that delivered nothing
    usable, with the reason — an error, an empty answer, a scrape target that is down. A source
    with one stale query still delivers the others: one broken expression must not blank the rest.
    """

    samples: list[Sample] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    evidence: list[Path] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)


class SourceConfig(BaseModel):
    """One entry of ``[[bots.metrics.config.sources]]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    kind: str  # a backend of the registry's "metric-source" kind (json, prometheus, sql, files, dashboard)
    system: str | None = None  # [systems.NAME] for json, prometheus, dashboard (and sql, optional)
    timezone: str | None = None  # zone of naive times in the source; default: Backroom's zone
    # no value newer than this many minutes before the run: the source is "no data" (an alert)
    stale_after_minutes: float | None = Field(default=None, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from backroom.bots.systems.registry import backends

        known = backends(MetricSource.KIND)
        if value not in known:
            raise ValueError(f"unknown metric source kind {value!r}; known: {', '.join(known)}")
        return value


class MetricSource(abc.ABC):
    """One backend of the metric sources: its options model and how it pulls a window."""

    KIND: ClassVar[str] = "metric-source"
    #: the model ``options`` of a source of this kind must fit
    Options: ClassVar[type[BaseModel]]

    @abc.abstractmethod
    async def pull(self, ctx: Context[Any], source: SourceConfig, window: Window) -> PullResult:
        """The samples of ``window``; blocking backends do their work in a worker thread."""

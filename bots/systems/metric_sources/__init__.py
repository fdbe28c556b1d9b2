"""Metric source adapters, one module per backend, and :func:`pull_all` to read many at once.

``json`` (HTTP JSON APIs), ``prometheus`` (Prometheus HTTP API), ``sql`` (any SQLAlchemy URL),
``files`` (Excel/CSV dropped in a folder), ``dashboard`` (a web page read with Playwright). Each
backend is a :class:`MetricSource` with an ``Options`` model and ``async pull(ctx, source, window)``,
chosen by the source's ``kind`` through the adapter registry (so other distributions can add
``metric-source:<name>`` backends); the blocking ones (sql, files, dashboard) work in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.systems.metric_sources.base import (
    LayoutError,
    MetricSource,
    MetricSourceError,
    PullResult,
    Sample,
    SourceConfig,
    Window,
    dims_key,
)

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
    "adapter",
    "dims_key",
    "pull_all",
    "validate_options",
]


def adapter(kind: str) -> MetricSource:
    """The backend for ``kind``, from the registry (imported on demand: unused kinds cost nothing)."""
    from backroom.bots.systems.registry import backend_class

    return backend_class(MetricSource.KIND, kind, where="metric source")()


def validate_options(source: SourceConfig) -> None:
    """Check a source's ``options`` against its adapter's model; the error names the source."""
    from pydantic import ValidationError

    try:
        adapter(source.kind).Options.model_validate(source.options)
    except ValidationError as exc:
        raise ConfigError(f"metric source {source.name!r} ({source.kind}): bad options: {exc}") from exc


async def pull_all(
    ctx: Context[Any], sources: Sequence[SourceConfig], windows: Sequence[Window], *, limit: int = 64
) -> list[PullResult | BaseException]:
    """Pull every source concurrently (at most ``limit`` at once); a failure is returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def one(source: SourceConfig, window: Window) -> PullResult:
        async with gate:
            return await adapter(source.kind).pull(ctx, source, window)

    return await asyncio.gather(*(one(s, w) for s, w in zip(sources, windows, strict=True)), return_exceptions=True)

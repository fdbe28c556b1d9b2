"""Metric source adapters, one module per kind, and :func:`pull_all` to read many at once.

``json`` (HTTP JSON APIs), ``prometheus`` (Prometheus HTTP API), ``sql`` (any SQLAlchemy URL),
``files`` (Excel/CSV dropped in a folder), ``dashboard`` (a web page read with Playwright). Each
module has an ``Options`` model and ``async def pull(ctx, source, window) -> PullResult``; the
blocking kinds (sql, files, dashboard) do their work in a worker thread.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.systems.metric_sources.base import (
    LayoutError,
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
    "KINDS",
    "LayoutError",
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

KINDS = {
    "json": "json_http",
    "prometheus": "prometheus",
    "sql": "sql",
    "files": "files",
    "dashboard": "dashboard",
}


def adapter(kind: str) -> Any:
    """The adapter module for ``kind``; imported on demand so unused kinds cost nothing."""
    if kind not in KINDS:
        raise ConfigError(f"unknown metric source kind {kind!r}; known: {', '.join(KINDS)}")
    return importlib.import_module(f"{__name__}.{KINDS[kind]}")


def validate_options(source: SourceConfig) -> None:
    """Check a source's ``options`` against its adapter's model; the error names the source."""
    from pydantic import ValidationError

    try:
        adapter(source.kind).Options.model_validate(source.options)
    except ValidationError as exc:
        raise ConfigError(f"metric source {source.name!r} ({source.kind}): bad options: {exc}") from exc


async def pull_all(
    ctx: Context, sources: Sequence[SourceConfig], windows: Sequence[Window], *, limit: int = 64
) -> list[PullResult | BaseException]:
    """Pull every source concurrently (at most ``limit`` at once); a failure is returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def one(source: SourceConfig, window: Window) -> PullResult:
        async with gate:
            return await adapter(source.kind).pull(ctx, source, window)

    return await asyncio.gather(*(one(s, w) for s, w in zip(sources, windows, strict=True)), return_exceptions=True)

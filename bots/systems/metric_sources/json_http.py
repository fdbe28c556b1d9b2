"""JSON HTTP APIs: concurrent (httpx async), auth, cursor pagination, retries.

Authentication comes from the system: ``token`` (``Authorization: Bearer …``; the scheme is
``options.auth_scheme`` of the system) or ``username`` + ``password`` (HTTP basic).

Requests per source run concurrently — one stream per queue when ``queues`` is set — and sources
run concurrently with each other (see :func:`bots.systems.metric_sources.pull_all`), bounded by the
system's ``concurrency``. Retries on 429/5xx/connection errors (honouring ``Retry-After``) come from
:mod:`bots.systems.http`. Times with an offset are taken as given; naive times are in the source's
``timezone``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from backroom.bots.systems.metric_sources.base import MetricSource, MetricSourceError, PullResult, SourceConfig, Window
from backroom.bots.systems.metric_sources.values import RowOptions, rows_to_samples

if TYPE_CHECKING:
    import httpx

    from backroom.bots.sdk.context import Context

__all__ = ["JsonSource", "Options", "pull"]


class Options(RowOptions):
    path: str = "/api/v1/metrics"
    params: dict[str, str | int | float] = Field(default_factory=dict)  # fixed query parameters
    queues: list[str] = Field(default_factory=list)  # one request stream per queue, concurrently
    queue_param: str = "queue"
    start_param: str = "start"
    end_param: str = "end"
    items_key: str = "items"
    cursor_param: str = "cursor"
    next_key: str = "next_cursor"
    limit_param: str = "limit"
    page_size: int = Field(default=500, ge=1)
    max_pages: int = Field(default=10_000, ge=1)


async def _stream(client: httpx.AsyncClient, options: Options, params: dict[str, Any], where: str) -> list[dict]:
    import httpx

    items: list[dict] = []
    cursor: str | None = None
    for _ in range(options.max_pages):
        query = dict(params)
        if cursor:
            query[options.cursor_param] = cursor
        try:
            response = await client.get(options.path, params=query)
            response.raise_for_status()
            body = response.json()
        except httpx.HTTPStatusError as exc:
            raise MetricSourceError(
                f"{where}: GET {options.path} answered {exc.response.status_code} after retries"
            ) from exc
        except httpx.HTTPError as exc:
            raise MetricSourceError(f"{where}: {type(exc).__name__} calling {options.path}: {exc}") from exc
        except ValueError as exc:
            raise MetricSourceError(f"{where}: {options.path} did not answer JSON") from exc
        page = body.get(options.items_key) if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise MetricSourceError(f"{where}: answer has no list under {options.items_key!r}")
        items.extend(page)
        cursor = body.get(options.next_key)
        if not cursor:
            return items
    raise MetricSourceError(f"{where}: more than {options.max_pages} pages; raise max_pages or narrow the window")


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    if not source.system:
        raise MetricSourceError(f"{where}: kind 'json' needs 'system' naming a [systems.*] table")
    tz = ZoneInfo(source.timezone) if source.timezone else ctx.timezone
    base = {
        **options.params,
        options.start_param: window.start.isoformat(),
        options.end_param: window.end.isoformat(),
        options.limit_param: options.page_size,
    }
    system = ctx.system(source.system)
    extra: dict[str, Any] = {}
    if system.username and system.password and not system.token:  # HTTP basic auth
        import httpx

        extra["auth"] = httpx.BasicAuth(system.username, ctx.secret(system.password))
    async with ctx.async_http(source.system, **extra) as client:
        if options.queues:
            streams = [_stream(client, options, {**base, options.queue_param: q}, where) for q in options.queues]
        else:
            streams = [_stream(client, options, base, where)]
        pages = await asyncio.gather(*streams)
    rows = [item for page in pages for item in page]
    samples, issues = rows_to_samples(rows, options, tz, where)
    return PullResult(samples=samples, issues=issues)


class JsonSource(MetricSource):
    """HTTP JSON APIs (``kind = "json"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

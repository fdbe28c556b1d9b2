"""SQL queries on any SQLAlchemy URL (PostgreSQL, MySQL/MariaDB, SQLite, ...).

The query receives ``:start`` and ``:end`` (aware UTC datetimes; naive UTC for drivers and column
types that do not keep zones — see ``naive_utc``) and returns one row per interval and dimension;
columns are mapped like any other row source. The URL usually carries a password, so it is a
secret reference (``env:WFM_DB_URL``) or comes from ``[systems.NAME].url``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import Field

from backroom.bots.sdk.secrets import is_secret_ref
from backroom.bots.systems.metric_sources.base import MetricSource, MetricSourceError, PullResult, SourceConfig, Window
from backroom.bots.systems.metric_sources.values import RowOptions, check_columns, rows_to_samples

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Options", "SqlSource", "pull"]


class Options(RowOptions):
    url: str | None = None  # SQLAlchemy URL or a secret reference to one; else [systems.NAME].url
    query: str = Field(min_length=1)  # uses :start and :end
    naive_utc: bool = False  # bind :start/:end as naive UTC (for TIMESTAMP WITHOUT TIME ZONE columns)


def _pull_sync(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    options = Options.model_validate(source.options)
    where = f"source {source.name!r}"
    url = options.url or (ctx.system(source.system).url if source.system else None)
    if not url:
        raise MetricSourceError(f"{where}: kind 'sql' needs options.url or a system with a url")
    if is_secret_ref(url):
        url = ctx.secret(url)
    start, end = window.start, window.end
    if options.naive_utc:
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(options.query), {"start": start, "end": end})
            columns = list(result.keys())
            rows = [dict(r._mapping) for r in result]
    except SQLAlchemyError as exc:
        # the driver's message may quote the URL; keep only the error class and the first line
        first = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
        raise MetricSourceError(
            f"{where}: query failed: {type(exc).__name__}: {ctx.secrets.redactor.redact(first)}"
        ) from None
    finally:
        engine.dispose()
    check_columns(options, columns, f"{where} query result")
    tz = ZoneInfo(source.timezone) if source.timezone else ctx.timezone
    samples, issues = rows_to_samples(rows, options, tz, where)
    return PullResult(samples=samples, issues=issues)


async def pull(ctx: Context, source: SourceConfig, window: Window) -> PullResult:
    return await asyncio.to_thread(_pull_sync, ctx, source, window)


class SqlSource(MetricSource):
    """SQL queries on any SQLAlchemy URL (``kind = "sql"``)."""

    Options = Options

    async def pull(self, ctx: Context, source: SourceConfig, window: Window) -> PullResult:
        return await pull(ctx, source, window)

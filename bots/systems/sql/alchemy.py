"""SQL databases through SQLAlchemy: ``[systems.NAME] kind = "sql"`` with a SQLAlchemy URL.

The URL in config carries no password; ``password = "env:NAME"`` is resolved at run time and put
into the URL object (never into a string that could be logged). This module also holds the two
write paths the migrate bot chooses between: PostgreSQL ``COPY`` into a staging table, and plain
``executemany`` for every other dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.sql.base import SqlDatabase

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["AlchemyDatabase", "copy_rows", "is_postgres", "make_engine", "quote", "sql_url"]


class AlchemyDatabase(SqlDatabase):
    """Any database SQLAlchemy has a dialect for (PostgreSQL, MySQL/MariaDB, SQLite...)."""

    def __init__(self, settings: SystemSettings, secret: Callable[[str], str]) -> None:
        if not settings.url:
            raise ConfigError(f"SQL system of kind {settings.kind!r} has no url")
        self.settings, self._secret = settings, secret

    def engine(self) -> Engine:
        return make_engine(self.settings, self._secret)


def sql_url(system: SystemSettings, secret: Callable[[str], str]) -> Any:
    """The SQLAlchemy URL of ``system`` with its password (a secret reference) filled in."""
    from sqlalchemy.engine import make_url

    if not system.url:
        raise ConfigError(f"SQL system of kind {system.kind!r} has no url")
    url = make_url(system.url)
    if system.username:
        url = url.set(username=system.username)
    if system.password:
        url = url.set(password=secret(system.password))
    return url


def make_engine(system: SystemSettings, secret: Callable[[str], str]) -> Engine:
    """An engine for ``system``; pool pre-ping so a restarted database is noticed, not fatal."""
    from sqlalchemy import create_engine

    url = sql_url(system, secret)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": int(min(system.timeout, 30))}
    return create_engine(url, **kwargs)


def is_postgres(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def quote(conn: Connection | Engine, name: str) -> str:
    """Quote an identifier (optionally ``schema.table``) for the connection's dialect."""
    prep = conn.dialect.identifier_preparer
    return ".".join(prep.quote(part) for part in name.split("."))


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream ``rows`` into ``table`` with PostgreSQL ``COPY FROM STDIN`` (psycopg 3). Returns the count."""
    raw = conn.connection.driver_connection
    cols = ", ".join(quote(conn, c) for c in columns)
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {quote(conn, table)} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n

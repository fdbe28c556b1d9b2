"""Backroom's own database: one engine recipe, one aware-UTC column type, and schema migrations.

Everything Backroom keeps (run history, the scheduler's bookkeeping, checkpoints, each bot's state)
lives in one database — SQLite by default, PostgreSQL or MariaDB in production. This module is the
one place that knows how to open it and how to bring its tables up to date.

**Migrations: one Alembic history per owner of tables.** The runner's tables (``backroom_*``), the
SDK's checkpoints and each bot's state tables are separate :class:`Schema` objects. Each has its own
folder of revisions, shipped inside its own package, and its own version table
(``alembic_version`` for the runner, ``alembic_version_<name>`` for the others). We chose this over
one shared history (and over branches of one history in one version table) because bots are
plugins: a company's bots come in their own distribution, through the ``backroom.bots`` entry-point
group, and must be able to ship migrations for their tables without adding revisions to Backroom's
history. With one version table, a database that had ever seen a bot which is no longer installed
would hold a revision no loaded script knows, and every upgrade would stop on it; with one table per
owner, the histories never see each other, and a bot's tables are migrated by the bot's own code the
first time it touches them (where ``create_all`` used to run). ``backroom db upgrade`` upgrades
every schema registered in the ``backroom.schemas`` entry-point group.

**Databases of the previous release.** Releases before migrations created their tables with
``create_all(checkfirst=True)`` and have no version table. :func:`upgrade` recognises such a
database: when some of a schema's baseline tables exist but no revision is recorded, it checks that
those tables carry the baseline's columns, stamps the baseline when all of them are there, and then
upgrades. A baseline revision creates its tables only where missing, because the previous release
created some of them lazily (the owner lock only when a runner started), so a database of that
release may hold a part of them.

Alembic is configured in code (no ``alembic.ini`` at run time): revisions are plain modules in the
schema's folder with ``revision`` and ``down_revision``; they should state their DDL in full rather
than import the models, so that a later change of a model does not change an old revision.
Alembic is imported with this module, not on first use: the runner's forkserver preloads the SDK,
so a run's process finds it loaded instead of paying a third of a second for it.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from backroom.bots.sdk.errors import ApplicationError

__all__ = [
    "Schema",
    "SchemaError",
    "UTCDateTime",
    "baseline",
    "configure_sqlite",
    "current",
    "head",
    "make_engine",
    "registered_schemas",
    "upgrade",
]

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


class SchemaError(ApplicationError):
    """The database's tables are not what a schema's revisions expect (or cannot be brought there)."""


# -- one column type for instants ------------------------------------------------------------------
class UTCDateTime(TypeDecorator):
    """An instant: aware datetimes in, aware UTC datetimes out, naive input refused.

    ``timezone`` is the column's DDL: ``True`` (TIMESTAMP WITH TIME ZONE on PostgreSQL) for the
    runner's tables, ``False`` (plain TIMESTAMP, naive UTC stored) where a table was created that
    way. Values are converted to UTC before they are bound, and the zone is dropped wherever the
    column keeps none (SQLite, MariaDB, ``timezone=False``) so the stored wall time is always UTC;
    a value read back is UTC whether the driver returns it naive or aware in another zone.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=timezone)
        self.timezone = timezone

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to Backroom's database; times must be aware")
        value = value.astimezone(dt.UTC)
        keeps_zone = self.timezone and dialect.name == "postgresql"
        return value if keeps_zone else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# -- one engine recipe -----------------------------------------------------------------------------
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the one writer; NORMAL sync is safe under WAL; a busy timeout
    makes a second writer wait instead of failing; foreign keys are off in SQLite unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def configure_sqlite(engine: Engine) -> Engine:
    """Give a SQLite engine Backroom's pragmas (once); other engines are returned untouched.

    For engines built elsewhere (a test's ``create_engine``); :func:`make_engine` already does this.
    Pooled connections opened before are dropped so that every connection has the pragmas.
    """
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)
        engine.dispose()
    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for Backroom's own database, tuned for a job runner and its bots.

    SQLite: the pragmas of :func:`_sqlite_pragmas`, and one file shared across threads. Elsewhere:
    pre-ping (a database restart must not fail the next run) and a pool sized for the dispatcher.
    """
    if url.startswith("sqlite"):
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        return configure_sqlite(create_engine(url, connect_args=connect_args, **kwargs))
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


# -- migrations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schema:
    """The tables one owner (the runner, the SDK, a bot) keeps, and the folder of its revisions.

    ``location`` holds the revision modules; the oldest one is the baseline and must define
    ``tables(metadata) -> list[Table]``: the tables as the release before migrations created them.
    """

    name: str
    location: Path

    @property
    def version_table(self) -> str:
        return "alembic_version" if self.name == "backroom" else f"alembic_version_{self.name}"


@functools.cache
def _scripts(location: Path) -> ScriptDirectory:
    return ScriptDirectory(str(location), version_locations=[str(location)])


def baseline(schema: Schema) -> tuple[str, list[Any]]:
    """The baseline revision's id and its tables: the schema as the release before migrations made it."""
    scripts = _scripts(schema.location)
    bases = scripts.get_bases()
    if len(bases) != 1:
        raise SchemaError(f"schema {schema.name!r} needs exactly one baseline revision in {schema.location}")
    module = scripts.get_revision(bases[0]).module
    return bases[0], module.tables(MetaData())


def head(schema: Schema) -> str:
    """The newest revision of ``schema`` (its history is linear)."""
    heads = _scripts(schema.location).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"schema {schema.name!r} has {len(heads)} heads in {schema.location}; merge them")
    return heads[0]


def _context(conn: Connection, schema: Schema, **opts: Any) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"version_table": schema.version_table, **opts})


def current(engine: Engine, schema: Schema) -> str | None:
    """The revision the database records for ``schema``; None before its first migration."""
    with engine.connect() as conn:
        heads = _context(conn, schema).get_current_heads()
    return heads[0] if heads else None


_UP_TO_DATE: weakref.WeakKeyDictionary[Engine, set[Schema]] = weakref.WeakKeyDictionary()


def upgrade(engine: Engine, schema: Schema, revision: str = "head") -> str:
    """Bring ``schema``'s tables to ``revision``; return the revision now recorded.

    Called where the tables are first used (History, the runner, Checkpoint, each bot's store) and
    by ``backroom db upgrade``. Once an engine is at head for a schema, later calls in the process
    return at once. Concurrent callers (the runner, a worker and a run starting together on a new
    database) are serialised by a database lock, and each one after the first finds the work done.
    """
    target = head(schema) if revision == "head" else revision
    if revision == "head" and schema in _UP_TO_DATE.get(engine, ()):
        return target
    if current(engine, schema) != target:  # the usual case, a database already there, takes no lock
        with _migration_lock(engine, schema) as conn:
            _upgrade(conn, schema, target)
    if revision == "head":
        _UP_TO_DATE.setdefault(engine, set()).add(schema)
    return target


def _upgrade(conn: Connection, schema: Schema, target: str) -> None:
    scripts = _scripts(schema.location)
    recorded = _context(conn, schema).get_current_heads()
    if recorded == (target,):
        return
    unknown = [rev for rev in recorded if rev not in {s.revision for s in scripts.walk_revisions()}]
    if unknown:
        raise SchemaError(
            f"the database records revision {unknown[0]} of schema {schema.name!r}, which this installation "
            f"does not know (its newest is {head(schema)}): a newer Backroom has upgraded it; install that one"
        )

    def steps(rev: Any, _ctx: Any) -> Any:
        return scripts._upgrade_revs(target, rev)  # what alembic.command.upgrade runs

    context = _context(conn, schema, fn=steps, script=scripts)
    if not context.get_current_heads():
        _adopt_legacy(conn, schema, context)
    with Operations.context(context), context.begin_transaction():
        context.run_migrations()
    log.info("schema %s is at revision %s", schema.name, target)


def _adopt_legacy(conn: Connection, schema: Schema, context: MigrationContext) -> None:
    """A database of the release before migrations: check its tables, stamp the baseline if whole."""
    base, tables = baseline(schema)
    inspector = inspect(conn)
    present = [t for t in tables if inspector.has_table(t.name)]
    if not present:
        return  # a new database: the baseline creates everything
    for table in present:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            raise SchemaError(
                f"table {table.name} exists but lacks column(s) {', '.join(missing)} of schema "
                f"{schema.name!r}'s baseline {base}; it was not made by Backroom, or by a release this one "
                "cannot upgrade"
            )
    if len(present) == len(tables):
        context.stamp(_scripts(schema.location), base)
        log.info("schema %s: existing tables recognised, stamped at baseline %s", schema.name, base)
    # else: the baseline runs and creates only the tables that release had not made yet


@contextmanager
def _migration_lock(engine: Engine, schema: Schema) -> Iterator[Connection]:
    """One transaction that holds a database-wide lock from before the version is read to the end.

    PostgreSQL: an advisory lock named after the schema, released with the transaction (its DDL is
    transactional too). MariaDB: a named lock (GET_LOCK), taken before the transaction begins.
    SQLite: the write lock, taken up front by BEGIN IMMEDIATE — the driver would otherwise run DDL
    outside any transaction, and two callers would both find no version table and both create it.
    """
    key = f"backroom-migrate-{schema.name}"
    if engine.dialect.name == "sqlite":
        with _sqlite_write_lock(engine) as conn:
            yield conn
    elif engine.dialect.name in ("mysql", "mariadb"):
        with _mariadb_named_lock(engine, key) as conn:
            yield conn
    else:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})
            yield conn


@contextmanager
def _mariadb_named_lock(engine: Engine, key: str) -> Iterator[Connection]:
    """The named lock is the session's; the transaction starts only once it is held, so that its
    snapshot (REPEATABLE READ) already shows what the previous holder committed."""
    with engine.connect() as conn:
        got = conn.execute(text("SELECT GET_LOCK(:k, 120)"), {"k": key}).scalar()
        conn.commit()
        if got != 1:
            raise SchemaError(f"another process has held the migration lock {key!r} for two minutes")
        try:
            with conn.begin():
                yield conn
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:k)"), {"k": key})
            conn.commit()


@contextmanager
def _sqlite_write_lock(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        legacy = driver.isolation_level
        driver.isolation_level = None  # the driver begins nothing by itself; we say when
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to the busy timeout for other writers
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            driver.isolation_level = legacy


def registered_schemas() -> list[Schema]:
    """Every schema installed packages declare in the ``backroom.schemas`` entry-point group."""
    from importlib.metadata import entry_points

    found = []
    for ep in sorted(entry_points(group="backroom.schemas"), key=lambda e: (e.name != "backroom", e.name)):
        schema = ep.load()
        if not isinstance(schema, Schema):
            raise SchemaError(f"entry point {ep.name} = {ep.value} is not a backroom.bots.sdk.db.Schema")
        found.append(schema)
    return found

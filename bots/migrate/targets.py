"""Where records go. The SQL target is here; REST and browser-form targets in their own modules.

A target writes one batch and answers with an :class:`Outcome`: how many rows were inserted,
updated or left alone because nothing changed, which rows it refused (with the target's own
message), and the proof — counts and checksums of what was meant and of what the target holds.

SQL writes are transactional: the batch, its proof and the migration's position (a row in
``backroom_migrate_state`` *in the target database*) commit together, so a kill -9 at any moment
leaves either the whole batch with its position, or neither.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.proof import canonical, checksum, encode_position, key_of
from backroom.bots.sdk.errors import ApplicationError, ConfigError, TransientError
from backroom.bots.systems.registry import backend_class, define_kind

if TYPE_CHECKING:
    from backroom.bots.migrate.config import Migration, SqlTarget
    from backroom.bots.sdk.context import Context

__all__ = ["Outcome", "PendingChange", "ProofError", "SqlWriter", "TargetWriter", "open_target"]

STATE_TABLE = "backroom_migrate_state"
PENDING_TABLE = "backroom_migrate_pending"


class ProofError(ApplicationError):
    """What the target holds after a batch differs from what was written. Names the keys."""

    def __init__(self, message: str, keys: list[tuple[str, ...]]) -> None:
        super().__init__(message)
        self.keys = keys


@dataclass
class Outcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)  # (row, field, reason)
    diffs: list[tuple[tuple[str, ...], str, Any, Any]] = field(default_factory=list)  # dry-run: key, field, old, new
    proof: dict[str, Any] | None = None


@dataclass
class PendingChange:
    """How one batch changes the book of pending rejects (rows retried on every run until they pass).

    Keys are the *source* key values as JSON text (the engine re-reads the source by them).
    ``settled``: pending keys this batch carried (no longer pending unless rejected again);
    ``added``: source key → [label, field, reason] of rows rejected while mapping; rows the target
    refuses are added by :meth:`finish`, which needs ``source_key`` to find their source key.
    """

    settled: set[str] = field(default_factory=set)
    added: dict[str, list[str]] = field(default_factory=dict)
    source_key: Any = None  # callable(mapped row) -> source key JSON | None
    finished: bool = False

    def finish(self, out: Outcome, label: Any) -> None:
        """Add the target's refusals (once), so they are retried like mapping rejects."""
        if self.finished:
            return
        self.finished = True
        if self.source_key is None:
            return
        for row, fld, reason in out.rejected:
            skey = self.source_key(row)
            if skey is not None:
                self.added[skey] = [label(row), fld, reason]

    def empty(self) -> bool:
        return not self.settled and not self.added


class TargetWriter(abc.ABC):
    """Interface of a target: the kind ``records-target`` of the adapter registry."""

    transactional_state = False  # True: the position is committed with the batch in the target
    #: Set by :meth:`check_schema` where the target's schema is known: judges each mapped row.
    row_check: Any = None

    @classmethod
    @abc.abstractmethod
    def open(cls, ctx: Context, name: str, mig: Migration) -> TargetWriter:  # pragma: no cover - interface
        """Build the writer for migration ``name``'s target table."""

    @abc.abstractmethod
    def check_schema(self, fields: Sequence[str]) -> None:  # pragma: no cover - interface
        """Raise before any write if a mapped field has no column in the target."""

    def read_state(self) -> Any:
        return None

    def read_pending(self) -> dict[str, list[str]] | None:
        """Pending rejects kept in the target with the position; None: the engine keeps them."""
        return None

    def drop_pending(self, keys: Sequence[str]) -> None:
        """An operator gave these pending rejects up (only for targets that keep them)."""
        return None

    @abc.abstractmethod
    def write(
        self, rows: list[dict[str, Any]], position: Any, *, dry_run: bool, pending: PendingChange | None = None
    ) -> Outcome:  # pragma: no cover
        """Write one batch (and, if transactional, its position and pending rejects with it)."""

    def close(self) -> None:
        return None


def mismatches(
    sent: Sequence[dict[str, Any]],
    held: dict[tuple[str, ...], dict[str, Any]],
    columns: Sequence[str],
    key: Sequence[str],
) -> tuple[list[tuple[str, ...]], str]:
    """Keys that differ, and a text naming key, field, the value sent and the value read back."""
    bad: list[tuple[str, ...]] = []
    said: list[str] = []
    for row in sent:
        k = key_of(row, key)
        got = held.get(k)
        label = "/".join(k)
        if got is None:
            bad.append(k)
            said.append(f"key {label}: not found when read back")
            continue
        fields = [c for c in columns if canonical(got.get(c)) != canonical(row.get(c))]
        if fields:
            bad.append(k)
            said += [f"key {label} field {c}: sent {row.get(c)!r}, read back {got.get(c)!r}" for c in fields]
    return bad, "; ".join(said[:20]) or "no single row differs (the counts do)"


def column_at_fault(exc: BaseException, columns: Sequence[str], key: Sequence[str]) -> str:
    """The column a database names in its refusal (PostgreSQL's diagnostics, MySQL's message)."""
    import re

    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    named = getattr(diag, "column_name", None) if diag is not None else None
    if named in columns:
        return str(named)
    text = str(orig)
    for pattern in (
        r"[Cc]olumn '([^']+)'",  # MySQL: Data too long for column 'x' / Column 'x' cannot be null
        r"for column \"?([^\s\"']+)",
        r"Key \(([^)]+)\)=",  # PostgreSQL unique violation: Key (phone)=(...) already exists
        r'column "([^"]+)"',
        r"constraint failed: (?:\w+\.)?(\w+)",  # SQLite: NOT NULL/UNIQUE constraint failed: dst.phone
    ):
        found = re.search(pattern, text)
        if found:
            names = [n.strip().strip('"`') for n in found[1].split(",")]
            if all(n in columns for n in names):
                return ",".join(names)
    detail = getattr(diag, "constraint_name", None) if diag is not None else None
    for c in columns:  # MySQL duplicate entry: "for key 'uq_phone'" names the index; match a column in it
        in_name = rf"(^|[_.'\s]){re.escape(c)}($|[_'\s])"
        if (detail and re.search(in_name, str(detail))) or re.search(rf"for key '[^']*{in_name}", text):
            return c
    return ",".join(key)


def _is_integrity(exc: BaseException) -> bool:
    import sqlalchemy as sa

    return isinstance(exc, (sa.exc.IntegrityError, sa.exc.DataError))


class SqlWriter(TargetWriter):
    """Upsert/append/mirror into a table; PostgreSQL fast path, ``executemany`` elsewhere."""

    transactional_state = True

    @classmethod
    def open(cls, ctx: Context, name: str, mig: Migration) -> SqlWriter:
        return cls(ctx, mig.target, name, mig.key, mig.mode, mig.proof)  # type: ignore[arg-type]

    def __init__(self, ctx: Context, spec: SqlTarget, migration: str, key: Sequence[str], mode: str, proof: bool):
        import sqlalchemy as sa

        from backroom.bots.systems.base import open_system
        from backroom.bots.systems.sql.base import SqlDatabase

        self.engine = open_system(ctx, spec.system, SqlDatabase).engine()
        self.spec, self.migration, self.key, self.mode, self.proof = spec, migration, list(key), mode, proof
        schema, _, name = spec.table.rpartition(".")
        try:
            self.table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise ConfigError(f"target table {spec.table!r} does not exist on system {spec.system!r}") from None
        except sa.exc.OperationalError as exc:
            raise TransientError(f"target system {spec.system!r} unreachable: {exc.orig}") from None
        self.state = sa.Table(
            STATE_TABLE,
            sa.MetaData(),
            sa.Column("migration", sa.String(200), primary_key=True),
            sa.Column("position", sa.Text),
            sa.Column("batches", sa.Integer, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            schema=schema or None,
        )
        self.pending = sa.Table(
            PENDING_TABLE,
            sa.MetaData(),
            sa.Column("migration", sa.String(200), primary_key=True),
            sa.Column("source_key", sa.String(500), primary_key=True),  # MariaDB: a key ≤ 3072 bytes
            sa.Column("label", sa.Text),
            sa.Column("field", sa.Text),
            sa.Column("reason", sa.Text),
            sa.Column("since", sa.DateTime(timezone=True), nullable=False),
            schema=schema or None,
        )
        self.fast = spec.fast_path and self.engine.dialect.name == "postgresql"
        self.columns: list[str] = []
        self._staging = "_backroom_stg_" + hashlib.sha1(spec.table.encode()).hexdigest()[:10]

    # -- checks ------------------------------------------------------------------------------
    def check_schema(self, fields: Sequence[str]) -> None:
        have = {c.name for c in self.table.columns}
        missing = [f for f in fields if f not in have]
        if missing:
            raise ConfigError(
                f"target table {self.spec.table!r} has no column(s) {missing} (mapping refers to them); "
                f"it has {sorted(have)}"
            )
        self.columns = list(fields)
        from backroom.bots.migrate.schema_check import compile_checks

        self.row_check = compile_checks(self.table, self.columns, self.engine.dialect)
        if self.mode in ("upsert", "mirror") and not self._key_is_unique():
            raise ConfigError(
                f"target table {self.spec.table!r} has no primary key or unique constraint on {self.key}; "
                "upsert needs one"
            )

    def _key_is_unique(self) -> bool:
        import sqlalchemy as sa

        want = set(self.key)
        if {c.name for c in self.table.primary_key.columns} == want:
            return True
        insp = sa.inspect(self.engine)
        schema = self.table.schema
        for uc in insp.get_unique_constraints(self.table.name, schema=schema):
            if set(uc["column_names"]) == want:
                return True
        return any(
            ix.get("unique") and set(ix["column_names"]) == want
            for ix in insp.get_indexes(self.table.name, schema=schema)
        )

    # -- state ---------------------------------------------------------------------------------
    def read_state(self) -> Any:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(STATE_TABLE, schema=self.state.schema):
                return None
            row = conn.execute(sa.select(self.state.c.position).where(self.state.c.migration == self.migration)).first()
        return None if row is None or row[0] is None else json.loads(row[0])

    def reset_state(self) -> None:
        import sqlalchemy as sa

        with self.engine.begin() as conn:
            if sa.inspect(conn).has_table(STATE_TABLE, schema=self.state.schema):
                conn.execute(sa.delete(self.state).where(self.state.c.migration == self.migration))

    def read_pending(self) -> dict[str, list[str]]:
        import sqlalchemy as sa

        p = self.pending.c
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(PENDING_TABLE, schema=self.pending.schema):
                return {}
            found = conn.execute(
                sa.select(p.source_key, p.label, p.field, p.reason).where(p.migration == self.migration)
            ).all()
        return {r[0]: [r[1], r[2], r[3]] for r in found}

    def drop_pending(self, keys: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            self._delete_pending(conn, list(keys))

    def _delete_pending(self, conn: Any, keys: list[str]) -> None:
        import sqlalchemy as sa

        p = self.pending.c
        for i in range(0, len(keys), 1000):
            conn.execute(
                sa.delete(self.pending).where(p.migration == self.migration, p.source_key.in_(keys[i : i + 1000]))
            )

    def _save_pending(self, conn: Any, change: PendingChange | None, out: Outcome) -> None:
        """Pending rejects change in the batch's own transaction: a kill cannot lose one."""
        if change is None:
            return
        change.finish(out, lambda row: "/".join(key_of(row, self.key)))
        if change.empty():
            return
        self.pending.create(conn, checkfirst=True)
        self._delete_pending(conn, sorted(change.settled | set(change.added)))
        if change.added:
            now = dt.datetime.now(dt.UTC)
            conn.execute(
                self.pending.insert(),
                [
                    {
                        "migration": self.migration,
                        "source_key": k,
                        "label": v[0],
                        "field": v[1],
                        "reason": v[2],
                        "since": now,
                    }
                    for k, v in change.added.items()
                ],
            )

    def _save_state(self, conn: Any, position: Any) -> None:
        import sqlalchemy as sa

        self.state.create(conn, checkfirst=True)
        text = json.dumps(encode_position(position))
        now = dt.datetime.now(dt.UTC)
        done = conn.execute(
            sa.update(self.state)
            .where(self.state.c.migration == self.migration)
            .values(position=text, batches=self.state.c.batches + 1, updated_at=now)
        )
        if done.rowcount == 0:
            conn.execute(
                sa.insert(self.state).values(migration=self.migration, position=text, batches=1, updated_at=now)
            )

    # -- reading -------------------------------------------------------------------------------
    def _key_clause(self, keys: list[tuple[Any, ...]]) -> Any:
        import sqlalchemy as sa

        if len(self.key) == 1:
            return self.table.c[self.key[0]].in_([k[0] for k in keys])
        return sa.tuple_(*[self.table.c[k] for k in self.key]).in_(keys)

    def _existing(self, conn: Any, rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
        import sqlalchemy as sa

        if not rows:
            return {}
        keys = [tuple(r[k] for k in self.key) for r in rows]
        cols = [self.table.c[c] for c in self.columns]
        out = {}
        for i in range(0, len(keys), 5000):  # under every driver's bound-parameter limit
            found = conn.execute(sa.select(*cols).where(self._key_clause(keys[i : i + 5000]))).all()
            for rec in found:
                d = dict(zip(self.columns, rec, strict=True))
                out[key_of(d, self.key)] = d
        return out

    def all_keys(self) -> list[tuple[Any, ...]]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(*[self.table.c[k] for k in self.key]))]

    def count(self) -> int:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

    # -- writing -------------------------------------------------------------------------------
    def _classify(self, rows: list[dict[str, Any]], existing: dict[tuple[str, ...], dict[str, Any]], out: Outcome):
        inserts, updates = [], []
        for row in rows:
            old = existing.get(key_of(row, self.key))
            if old is None:
                inserts.append(row)
                continue
            changed = [c for c in self.columns if canonical(old.get(c)) != canonical(row.get(c))]
            if changed:
                updates.append(row)
                for c in changed:
                    out.diffs.append((key_of(row, self.key), c, old.get(c), row.get(c)))
            else:
                out.unchanged += 1
        return inserts, updates

    def write(
        self, rows: list[dict[str, Any]], position: Any, *, dry_run: bool, pending: PendingChange | None = None
    ) -> Outcome:
        import sqlalchemy as sa

        out = Outcome()
        if dry_run:
            with self.engine.connect() as conn:
                existing = {} if self.mode == "append" else self._existing(conn, rows)
            inserts, updates = self._classify(rows, existing, out)
            out.inserted, out.updated = len(inserts), len(updates)
            return out
        try:
            with self.engine.begin() as conn:
                if rows:
                    fell_back = False
                    try:
                        with conn.begin_nested():
                            self._write_all(conn, rows, out)
                    except Exception as exc:
                        if not _is_integrity(exc):
                            raise
                        out, fell_back = Outcome(), True
                        self._write_one_by_one(conn, rows, out)
                    if self.proof and self.mode != "append" and self.fast and not fell_back:
                        out.proof = self._prove_in_database(conn, len(rows))
                    elif self.proof and self.mode != "append":
                        written = [r for r in rows if not any(r is rej[0] for rej in out.rejected)]
                        out.proof = self._prove(conn, written)
                self._save_pending(conn, pending, out)
                self._save_state(conn, position)
        except ProofError:
            raise
        except sa.exc.OperationalError as exc:
            raise TransientError(f"target {self.spec.system!r} failed mid-batch (not committed): {exc.orig}") from None
        except sa.exc.InterfaceError as exc:
            raise TransientError(f"target {self.spec.system!r} connection lost mid-batch: {exc.orig}") from None
        return out

    def _write_all(self, conn: Any, rows: list[dict[str, Any]], out: Outcome) -> None:
        if self.fast:
            self._pg_fast(conn, rows, out)
            return
        if self.mode == "append":
            self._insert_many(conn, rows)
            out.inserted = len(rows)
            return
        inserts, updates = self._classify(rows, self._existing(conn, rows), out)
        out.diffs.clear()
        if inserts:
            self._insert_many(conn, inserts)
        if updates:
            self._update_many(conn, updates)
        out.inserted, out.updated = len(inserts), len(updates)

    def _insert_many(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        """MySQL/MariaDB: the driver's own multi-row INSERT (PyMySQL folds executemany into
        ``VALUES (...), (...)``), in this transaction, without SQLAlchemy's per-value processing."""
        if conn.dialect.name not in ("mysql", "mariadb") or conn.dialect.driver != "pymysql":
            conn.execute(self.table.insert(), rows)
            return
        from backroom.bots.systems.sql.alchemy import quote

        cols = self.columns
        sql = (
            f"INSERT INTO {quote(conn, self.spec.table)} ({', '.join(quote(conn, c) for c in cols)}) "
            f"VALUES ({', '.join(['%s'] * len(cols))})"
        )
        import sqlalchemy as sa

        dbapi_error = conn.dialect.loaded_dbapi.Error
        with conn.connection.driver_connection.cursor() as cur:
            for i in range(0, len(rows), 5000):
                params = [tuple(r[c] for c in cols) for r in rows[i : i + 5000]]
                try:
                    cur.executemany(sql, params)
                except dbapi_error as exc:  # as SQLAlchemy would raise it: IntegrityError, DataError...
                    raise sa.exc.DBAPIError.instance(sql, params[:1], exc, dbapi_error, dialect=conn.dialect) from exc

    def _update_many(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        import sqlalchemy as sa

        where = [self.table.c[k] == sa.bindparam(f"_k_{k}") for k in self.key]
        stmt = (
            sa.update(self.table)
            .where(*where)
            .values({c: sa.bindparam(f"_v_{c}") for c in self.columns if c not in self.key})
        )
        params = [
            {
                **{f"_k_{k}": r[k] for k in self.key},
                **{f"_v_{c}": r[c] for c in self.columns if c not in self.key},
            }
            for r in rows
        ]
        conn.execute(stmt, params)

    def _pg_fast(self, conn: Any, rows: list[dict[str, Any]], out: Outcome) -> None:
        """COPY into a session-local staging table, then one INSERT ... ON CONFLICT that skips equal rows."""
        from backroom.bots.systems.sql.alchemy import copy_rows

        cols = self.columns
        values = operator.itemgetter(*cols) if len(cols) > 1 else (lambda r: (r[cols[0]],))
        if self.mode == "append":
            copy_rows(conn, self.spec.table, cols, map(values, rows))
            out.inserted = len(rows)
            return
        self.prepare_staging(conn)
        copy_rows(conn, self._staging, cols, map(values, rows))
        self.merge_staging(conn, len(rows), out)

    def prepare_staging(self, conn: Any) -> str:
        """An empty session-local staging table with the target's columns, in unrounded types."""
        import sqlalchemy as sa

        from backroom.bots.systems.sql.alchemy import quote

        stg = self._staging
        wide = ", ".join(f"{quote(conn, c)} {self._wide_type(conn, c)}" for c in self.columns)
        conn.execute(sa.text(f"CREATE TEMP TABLE IF NOT EXISTS {stg} ({wide})"))
        conn.execute(sa.text(f"TRUNCATE {stg}"))
        return stg

    def staging_duplicates(self, conn: Any) -> list[tuple[Any, ...]]:
        """Keys that more than one staged row carries (the merge would pick one silently)."""
        import sqlalchemy as sa

        from backroom.bots.systems.sql.alchemy import quote

        keys = ", ".join(quote(conn, k) for k in self.key)
        sql = f"SELECT {keys} FROM {self._staging} GROUP BY {keys} HAVING count(*) > 1 LIMIT 20"
        return [tuple(r) for r in conn.execute(sa.text(sql)).all()]

    def merge_staging(self, conn: Any, sent: int, out: Outcome) -> None:
        """One INSERT ... ON CONFLICT from staging that rewrites only rows that differ."""
        import sqlalchemy as sa

        from backroom.bots.systems.sql.alchemy import quote

        cols = self.columns
        qcols = ", ".join(quote(conn, c) for c in cols)
        target, stg = quote(conn, self.spec.table), self._staging
        keys = ", ".join(quote(conn, k) for k in self.key)
        rest = [c for c in cols if c not in self.key]
        if rest:
            sets = ", ".join(f"{quote(conn, c)} = EXCLUDED.{quote(conn, c)}" for c in rest)
            mine = ", ".join(f"t.{quote(conn, c)}" for c in rest)
            theirs = ", ".join(f"EXCLUDED.{quote(conn, c)}" for c in rest)
            action = f"DO UPDATE SET {sets} WHERE ROW({mine}) IS DISTINCT FROM ROW({theirs})"
        else:
            action = "DO NOTHING"
        sql = (
            f"WITH w AS (INSERT INTO {target} AS t ({qcols}) SELECT {qcols} FROM {stg} "
            f"ON CONFLICT ({keys}) {action} RETURNING (xmax = 0) AS ins) "
            "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM w"
        )
        ins, upd = conn.execute(sa.text(sql)).one()
        out.inserted, out.updated = int(ins), int(upd)
        out.unchanged = sent - out.inserted - out.updated

    def _wide_type(self, conn: Any, column: str) -> str:
        """Staging keeps what was sent unrounded and untruncated, so proof can see what the target changed."""
        import sqlalchemy as sa

        kind = self.table.c[column].type
        if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
            return "numeric"
        if isinstance(kind, sa.String):
            return "text"
        return kind.compile(dialect=conn.dialect)

    def _hashable_row(self, conn: Any) -> bool:
        """Whether ``hash_record_extended`` (PostgreSQL 14+) can hash a row of the mapped columns'
        types: it hashes the values without printing them. A type without a hash function (json,
        xml, point) makes it fail, and the row's text is hashed instead. Probed once, in a savepoint."""
        import sqlalchemy as sa

        if self._hashable is None:
            self._hashable = False
            if conn.dialect.server_version_info >= (14,):
                nulls = ", ".join(f"NULL::{self.table.c[c].type.compile(dialect=conn.dialect)}" for c in self.columns)
                try:
                    with conn.begin_nested():
                        conn.execute(sa.text(f"SELECT hash_record_extended(ROW({nulls}), 0)"))
                    self._hashable = True
                except sa.exc.DBAPIError:
                    pass
        return self._hashable

    _hashable: bool | None = None

    def _prove_in_database(self, conn: Any, sent: int) -> dict[str, Any]:
        """Staging (what was sent) against the table (what it holds), compared inside PostgreSQL.

        Values are compared unrounded (a ``numeric(12,2)`` that turned 12.345 into 12.35 differs);
        the checksums are sums of 64-bit hashes of each row's text in the target's types: set-based,
        so no sort and no batch-long string (an md5 of ordered rows cost as much as the write).
        """
        import sqlalchemy as sa

        from backroom.bots.systems.sql.alchemy import quote

        q = lambda c: quote(conn, c)  # noqa: E731
        target, stg = quote(conn, self.spec.table), self._staging
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in self.key)
        first = q(self.key[0])
        order = ", ".join(f"s.{q(k)}" for k in self.key)
        t_row = ", ".join(f"t.{q(c)}" for c in self.columns)
        s_row = ", ".join(f"s.{q(c)}" for c in self.columns)
        s_cast = ", ".join(f"s.{q(c)}::{self.table.c[c].type.compile(dialect=conn.dialect)}" for c in self.columns)
        differs = f"t.{first} IS NULL OR ROW({t_row}) IS DISTINCT FROM ROW({s_row})"
        # The staging table has no statistics: the planner may hash-join it against a sequential
        # scan of the whole target, every batch (quadratic in the table's size). A batch's keys are
        # looked up by the target's unique index instead.
        conn.execute(sa.text("SET LOCAL enable_hashjoin = off"))
        conn.execute(sa.text("SET LOCAL enable_mergejoin = off"))
        if self._hashable_row(conn):  # hashes the values as they are: a third of the cost of their text
            s_hash, t_hash = f"hash_record_extended(ROW({s_cast}), 0)", f"hash_record_extended(ROW({t_row}), 0)"
        else:
            s_hash, t_hash = f"hashtextextended(ROW({s_cast})::text, 0)", f"hashtextextended(ROW({t_row})::text, 0)"
        n, found, bad, mine, theirs = conn.execute(
            sa.text(
                f"SELECT count(*), count(t.{first}), count(*) FILTER (WHERE {differs}), "
                f"sum({s_hash}), sum({t_hash}) FROM {stg} s LEFT JOIN {target} t ON {on}"
            )
        ).one()
        proof = {
            "source_count": int(n),
            "target_count": int(found),
            "source_checksum": format(int(mine or 0) % 2**64, "016x"),
            "target_checksum": format(int(theirs or 0) % 2**64, "016x"),
            "differing": int(bad),
        }
        if bad or n != sent or found != n:
            keys = conn.execute(
                sa.text(
                    f"SELECT {', '.join(f's.{q(k)}' for k in self.key)} FROM {stg} s LEFT JOIN {target} t ON {on} "
                    f"WHERE {differs} ORDER BY {order} LIMIT 20"
                )
            ).all()
            listed = [tuple(canonical(v) for v in k) for k in keys]
            cols = ", ".join(f"s.{q(c)}" for c in self.columns)
            sent_rows = [
                dict(zip(self.columns, r, strict=True))
                for r in conn.execute(
                    sa.text(
                        f"SELECT {cols} FROM {stg} s WHERE ({', '.join(f's.{q(k)}' for k in self.key)}) IN "
                        f"(SELECT {', '.join(f's.{q(k)}' for k in self.key)} FROM {stg} s LEFT JOIN {target} t "
                        f"ON {on} WHERE {differs} ORDER BY {order} LIMIT 20)"
                    )
                ).all()
            ]
            _, what = mismatches(sent_rows, self._existing(conn, sent_rows), self.columns, self.key)
            raise ProofError(
                f"proof failed on {self.spec.table}: {n} rows sent, {found} found, {bad} differ "
                f"(checksum {proof['source_checksum']} != {proof['target_checksum']}); keys that differ: {listed}; "
                f"{what}",
                listed,
            )
        return proof

    def _write_one_by_one(self, conn: Any, rows: list[dict[str, Any]], out: Outcome) -> None:
        """After a batch-level constraint failure: each row in its own savepoint, violators rejected."""
        for row in rows:
            single = Outcome()
            try:
                with conn.begin_nested():
                    if self.mode == "append":
                        conn.execute(self.table.insert(), [row])
                        single.inserted = 1
                    else:
                        inserts, updates = self._classify([row], self._existing(conn, [row]), single)
                        if inserts:
                            conn.execute(self.table.insert(), inserts)
                        if updates:
                            self._update_many(conn, updates)
                        single.inserted, single.updated = len(inserts), len(updates)
            except Exception as exc:
                if not _is_integrity(exc):
                    raise
                msg = str(getattr(exc, "orig", exc)).strip().splitlines()
                out.rejected.append(
                    (
                        row,
                        column_at_fault(exc, self.columns, self.key),
                        f"target refused the row: {' '.join(msg)[:500]}",
                    )
                )
                continue
            out.inserted += single.inserted
            out.updated += single.updated
            out.unchanged += single.unchanged

    def _prove(self, conn: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
        if conn.dialect.name in ("mysql", "mariadb"):
            quick = self._prove_on_server(conn, rows)
            if quick is not None:
                return quick
        held = self._existing(conn, rows)
        mine = checksum(rows, self.columns, self.key)
        theirs = checksum(held.values(), self.columns, self.key)
        proof = {
            "source_count": len(rows),
            "target_count": len(held),
            "source_checksum": mine,
            "target_checksum": theirs,
            "method": "rows read back",
        }
        if mine != theirs or len(held) != len(rows):
            bad, what = mismatches(rows, held, self.columns, self.key)
            raise ProofError(
                f"proof failed on {self.spec.table}: {len(rows)} rows written, {len(held)} read back, "
                f"checksum {mine} != {theirs}; keys that differ: {bad[:20]}; {what}",
                bad,
            )
        return proof

    def _prove_on_server(self, conn: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """MySQL/MariaDB: the batch's checksum computed by the server; None → compare row by row."""
        import sqlalchemy as sa

        from backroom.bots.migrate.mysql_proof import batch_checksum, formatters, server_sum_sql
        from backroom.bots.systems.sql.alchemy import quote

        fmts = formatters(self.table, self.columns)
        if fmts is None or not rows:
            return None
        mine = batch_checksum(rows, self.columns, fmts)
        agg = server_sum_sql([quote(conn, c) for c in self.columns])
        theirs, found = 0, 0
        keys = [tuple(r[k] for k in self.key) for r in rows]
        for i in range(0, len(keys), 5000):
            stmt = sa.select(sa.literal_column(agg), sa.func.count()).select_from(self.table)
            total, n = conn.execute(stmt.where(self._key_clause(keys[i : i + 5000]))).one()
            theirs, found = theirs + int(total or 0), found + int(n)
        if mine != theirs or found != len(rows):
            return None
        short = format(mine % 2**64, "016x")
        return {
            "source_count": len(rows),
            "target_count": found,
            "source_checksum": short,
            "target_checksum": short,
            "method": "server checksum",
        }

    def delete_keys(self, keys: list[tuple[Any, ...]], batch: int = 5000) -> int:
        import sqlalchemy as sa

        n = 0
        with self.engine.begin() as conn:
            for i in range(0, len(keys), batch):
                n += conn.execute(sa.delete(self.table).where(self._key_clause(keys[i : i + batch]))).rowcount
        return n

    def close(self) -> None:
        self.engine.dispose()


#: The migrate bot's record targets, chosen by the target table's ``kind`` through the registry.
define_kind(
    "records-target",
    TargetWriter,
    {
        "sql": f"{__name__}:SqlWriter",
        "rest": "backroom.bots.migrate.rest_target:RestWriter",
        "form": "backroom.bots.migrate.form_target:FormWriter",
    },
)


def open_target(ctx: Context, name: str, mig: Migration) -> TargetWriter:
    """The writer for migration ``name``'s ``target`` table, by its ``kind``."""
    cls = backend_class("records-target", mig.target.kind, where=f"migration {name!r} target")
    return cls.open(ctx, name, mig)

"""Where records come from: SQL (keyset batches), REST (cursor pages), Excel/CSV files.

Every source yields :class:`Batch` objects: source rows (dicts keyed by source column), the rows it
could not even read (malformed CSV lines) and the *position after this batch*. The engine stores
that position only once the batch is safely in the target, so a run killed anywhere resumes at the
first batch that did not land.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.config import FileSource, RestSource, SqlSource
from backroom.bots.migrate.links import next_link
from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.systems.registry import backend_class, define_kind

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Batch", "SourceReader", "open_source"]

REF = "__ref__"  # each row carries where it came from (file:line, or the key) for the rejects book


@dataclass
class Batch:
    rows: list[dict[str, Any]]
    position: Any
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, reason, raw)
    start: Any = None  # the position this batch started after (fingerprinted sources)
    fingerprint: str | None = None  # md5 of the source rows, computed by the source database
    skipped: int = 0  # rows not fetched because their fingerprint matched the last successful run
    retry: bool = False  # the pending rejects of earlier runs, read again by key
    vanished: list[str] = field(default_factory=list)  # pending keys the source no longer has


class SourceReader(abc.ABC):
    """Interface of a source: the kind ``records-source`` of the adapter registry."""

    #: True when the source can fingerprint batches so unchanged ones are skipped (SQL only).
    fingerprints: bool = False
    known: dict[str, list[Any]] | None = None
    #: True where two rows with one key in a batch cannot be ordered (SQL ties): both are rejected.
    #: False where the later row is the later version (lines of a file, pages of an API): it wins.
    duplicates_are_errors: bool = False

    @classmethod
    def open(cls, ctx: Context, spec: Any, key_columns: Sequence[str]) -> SourceReader:
        """Build the reader for ``spec``; readers that need the key columns override this."""
        return cls(ctx, spec)  # type: ignore[call-arg]

    @abc.abstractmethod
    def columns(self) -> list[str]:  # pragma: no cover - interface
        """The source's column names, for the schema-drift check before any write."""

    @abc.abstractmethod
    def batches(self, position: Any, size: int) -> Iterator[Batch]:  # pragma: no cover - interface
        """Batches of at most ``size`` rows, in cursor order, starting after ``position``."""

    def fetch_keys(self, keys: list[list[Any]]) -> list[dict[str, Any]] | None:
        """Source rows by key, for retrying pending rejects; None where the source cannot do it."""
        return None

    def close(self) -> None:
        return None


class SqlReader(SourceReader):
    """Keyset pagination ``WHERE (cursor, key) > (:last) ORDER BY cursor, key LIMIT n``.

    No OFFSET (which re-reads everything before it) and no long-lived server cursor (which a
    restart loses): each batch is one indexed query starting after the last committed position.
    """

    fingerprints = True
    duplicates_are_errors = True

    @classmethod
    def open(cls, ctx: Context, spec: Any, key_columns: Sequence[str]) -> SourceReader:
        return cls(ctx, spec, key_columns)

    def __init__(self, ctx: Context, spec: SqlSource, key_columns: Sequence[str]) -> None:
        import sqlalchemy as sa

        from backroom.bots.systems.base import open_system
        from backroom.bots.systems.sql.base import SqlDatabase

        self.engine = open_system(ctx, spec.system, SqlDatabase).engine()
        self.spec = spec
        if spec.table:
            schema, _, name = spec.table.rpartition(".")
            try:
                self.table: Any = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=self.engine)
            except sa.exc.NoSuchTableError:
                raise ConfigError(f"source table {spec.table!r} does not exist on system {spec.system!r}") from None
            except sa.exc.OperationalError as exc:
                raise TransientError(f"source system {spec.system!r} unreachable: {exc.orig}") from None
            self._names = [c.name for c in self.table.columns]
        else:
            with self.engine.connect() as conn:
                probe = conn.execute(sa.text(f"SELECT * FROM ({spec.query}) AS src WHERE 1 = 0"))
                self._names = list(probe.keys())
            self.table = sa.text(spec.query).columns(*[sa.column(n) for n in self._names]).subquery("src")
        order = ([spec.cursor] if spec.cursor else []) + [k for k in key_columns if k != spec.cursor]
        missing = [c for c in order if c not in self._names]
        if missing:
            raise ConfigError(
                f"source {spec.table or 'query'} has no column(s) {missing} needed for ordering "
                f"(cursor/key); it has {self._names}"
            )
        self.order = order
        self.key_columns = list(key_columns)

    def columns(self) -> list[str]:
        return list(self._names)

    #: {json(start position): [fingerprint, end position, rows]} of batches known to be in the target;
    #: set by the engine for a full re-read on PostgreSQL (see :meth:`_fingerprint`).
    known: dict[str, list[Any]] | None = None

    def _select(self, last: list[Any] | None, size: int) -> Any:
        import sqlalchemy as sa

        order_cols = [self.table.c[n] for n in self.order]
        sel = sa.select(*[self.table.c[n] for n in self._names]).order_by(*order_cols).limit(size)
        if last is not None:
            sel = sel.where(sa.tuple_(*order_cols) > sa.tuple_(*[sa.literal(v) for v in last]))
        return sel

    def _fingerprint(self, conn: Any, last: list[Any] | None, size: int) -> tuple[str | None, int]:
        """md5 over the batch's rows as text, computed by PostgreSQL: no row leaves the database."""
        import sqlalchemy as sa
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        sub = self._select(last, size).subquery("fp")
        text = sa.cast(sa.tuple_(*[sub.c[n] for n in self._names]), sa.Text)
        ordered = aggregate_order_by(sa.literal_column("','"), *[sub.c[n] for n in self.order])
        fp, n = conn.execute(sa.select(sa.func.md5(sa.func.string_agg(text, ordered)), sa.func.count())).one()
        return fp, int(n)

    def batches(self, position: Any, size: int) -> Iterator[Batch]:
        import json

        import sqlalchemy as sa

        from backroom.bots.migrate.proof import decode_position, encode_position

        idx = [self._names.index(n) for n in self.order]
        names = self._names
        last = list(position) if position else None
        fingerprinting = self.known is not None and self.engine.dialect.name == "postgresql"
        while True:
            start = json.dumps(encode_position(last))
            fp = None
            try:
                with self.engine.connect() as conn:
                    if fingerprinting:
                        fp, count = self._fingerprint(conn, last, size)
                        seen = (self.known or {}).get(start)
                        if seen and fp and seen[0] == fp and seen[2] == count:
                            last = decode_position(seen[1])
                            yield Batch([], list(last), start=start, fingerprint=fp, skipped=count)
                            if count < size:
                                return
                            continue
                    fetched = conn.execute(self._select(last, size)).all()
            except sa.exc.OperationalError as exc:
                raise TransientError(f"source {self.spec.system!r} failed while reading: {exc.orig}") from None
            if not fetched:
                return
            full_page = len(fetched) >= size
            tail = fetched[-1]
            last = [tail[i] for i in idx]
            if full_page:
                fetched = self._with_ties(fetched, last, idx)
            rows = [dict(zip(names, r, strict=True)) for r in fetched]
            yield Batch(rows, list(last), start=start, fingerprint=fp)
            if not full_page:
                return

    def _with_ties(self, fetched: list[Any], last: list[Any], idx: list[int]) -> list[Any]:
        """A full page whose last row ties others on every ordering column takes all of them.

        The next page starts strictly after ``last``; a source row equal to it on cursor *and*
        key (a duplicated key) that the LIMIT cut off would never be read. So every row equal to
        the last position joins this batch, where the engine sees the duplicate and rejects it.
        """
        import sqlalchemy as sa

        order_cols = [self.table.c[n] for n in self.order]
        tail = tuple(last)
        in_page = sum(1 for r in fetched if tuple(r[i] for i in idx) == tail)
        cond = sa.and_(*[c == sa.literal(v) for c, v in zip(order_cols, last, strict=True)])
        with self.engine.connect() as conn:
            ties = conn.execute(sa.select(sa.func.count()).select_from(self.table).where(cond)).scalar_one()
            if int(ties) <= in_page:
                return fetched
            extra = conn.execute(sa.select(*[self.table.c[n] for n in self._names]).where(cond)).all()
        return [r for r in fetched if tuple(r[i] for i in idx) != tail] + list(extra)

    def count(self) -> int:
        """How many rows the source has now (the cheap half of the deletion check)."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

    def key_rows(self, columns: Sequence[str]) -> Iterator[Sequence[Any]]:
        """Every source row's ``columns`` (those the key fields read) as tuples, streamed, not held at once."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=50_000).execute(
                sa.select(*[self.table.c[n] for n in columns])
            )
            for part in result.partitions():
                yield from part

    def fetch_keys(self, keys: list[list[Any]]) -> list[dict[str, Any]]:
        """The current source rows of these key values (pending rejects are retried from here)."""
        import sqlalchemy as sa

        cols = [self.table.c[n] for n in self.key_columns]
        out: list[dict[str, Any]] = []
        for i in range(0, len(keys), 1000):
            chunk = [tuple(k) for k in keys[i : i + 1000]]
            clause = cols[0].in_([k[0] for k in chunk]) if len(cols) == 1 else sa.tuple_(*cols).in_(chunk)
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(*[self.table.c[n] for n in self._names]).where(clause)).all()
            out += [dict(zip(self._names, r, strict=True)) for r in found]
        return out

    def close(self) -> None:
        self.engine.dispose()


def _origin(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def flatten(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns: ``{"project": {"id": 1}}`` → ``{"project.id": 1}``."""
    out: dict[str, Any] = {}
    for k, v in item.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}."))
        else:
            out[name] = v
    return out


class RestReader(SourceReader):
    """Pages of a REST collection, by cursor, offset, page number or ``Link`` header.

    Position: the ``since`` of this pass, where paging stands (cursor, offset or URL) and the
    largest cursor value seen. A pass that ends with fewer records than the source announced
    (``total_count``) raises instead of succeeding with part of the data.
    """

    def __init__(self, ctx: Context, spec: RestSource) -> None:
        self.ctx, self.spec = ctx, spec
        self.client = ctx.http(spec.system)

    def _get(self, params: dict[str, Any], url: str | None = None) -> Any:
        import httpx

        where = url or self.spec.path
        try:
            if url:
                resp = self.client.get(url)
            else:
                query = {**self.spec.params, **{k: v for k, v in params.items() if v is not None}}
                resp = self.client.get(self.spec.path, params=query)
        except httpx.HTTPError as exc:
            raise TransientError(f"source {self.spec.system!r} {where}: {exc}") from None
        if resp.status_code in (429, 500, 502, 503, 504):
            raise TransientError(f"source {self.spec.system!r} {where} answered {resp.status_code}")
        if resp.status_code in (401, 403):
            raise ConfigError(f"source {self.spec.system!r} refused the credentials ({resp.status_code})")
        resp.raise_for_status()
        return resp

    def _items(self, body: Any) -> list[dict[str, Any]]:
        items = body.get(self.spec.items_key) if isinstance(body, dict) else body
        if items is None:
            raise ConfigError(
                f"source {self.spec.system!r} {self.spec.path}: the answer has no {self.spec.items_key!r} "
                f"(it has {sorted(body) if isinstance(body, dict) else type(body).__name__}); set items_key"
            )
        return [flatten(i) for i in items]

    def columns(self) -> list[str]:
        resp = self._get({self.spec.limit_param: 1})
        items = self._items(resp.json())
        return sorted(items[0]) if items else []

    def batches(self, position: Any, size: int) -> Iterator[Batch]:
        spec = self.spec
        pos = dict(position or {})
        since, at, max_seen = pos.get("since"), pos.get("page"), pos.get("max_seen", pos.get("since"))
        read = int(pos.get("read", 0))
        announced: int | None = None
        while True:
            params: dict[str, Any] = {spec.limit_param: min(size, spec.page_size)}
            if spec.since_param and since:
                params[spec.since_param] = spec.since_format.format(since)
            url = None
            if spec.paging == "cursor":
                params[spec.cursor_param] = at
            elif spec.paging == "offset":
                params[spec.offset_param] = int(at or 0)
            elif spec.paging == "page":
                params[spec.page_param] = int(at or 1)
            elif at:
                url = str(at)
            resp = self._get(params, url)
            body = resp.json()
            items = self._items(body)
            read += len(items)
            if spec.cursor:
                for item in items:
                    value = item.get(spec.cursor)
                    if value is not None and (max_seen is None or str(value) > str(max_seen)):
                        max_seen = value
            if spec.paging == "cursor":
                at = body.get(spec.next_key)
                done = not at
            elif spec.paging == "offset":
                total = body.get(spec.total_key) if spec.total_key and isinstance(body, dict) else None
                announced = int(total) if total is not None else announced
                at = int(at or 0) + len(items)  # by what came, not what was asked: servers cap the limit
                done = not items or (announced is not None and at >= announced)
            elif spec.paging == "page":
                total = body.get(spec.total_key) if spec.total_key and isinstance(body, dict) else None
                announced = int(total) if total is not None else announced
                at = int(at or 1) + 1
                # a short page is no proof of the end (servers cap the page size): an empty page or
                # the announced total is
                done = not items or (announced is not None and read >= announced)
            else:
                nxt = next_link(resp.headers.get_list("link"), str(resp.url))
                if nxt and (resp.url.scheme, resp.url.netloc.decode()) != _origin(nxt):
                    # the system's credentials go with every request: never to a host it names
                    raise ConfigError(
                        f"source {spec.system!r} {spec.path}: the next page is on another host ({nxt}); not followed"
                    )
                at, done = nxt, not nxt
            if done:
                got = at if spec.paging == "offset" else read
                if announced is not None and spec.paging in ("offset", "page") and got < announced:
                    raise TransientError(
                        f"source {spec.system!r} {spec.path} announced {announced} records but paging ended at {got}"
                    )
                new_pos: dict[str, Any] = {"since": max_seen if spec.cursor else None, "page": None}
            else:
                new_pos = {"since": since, "page": at, "max_seen": max_seen, "read": read}
            yield Batch(items, new_pos)
            if done:
                return

    def close(self) -> None:
        self.client.close()


class FileReader(SourceReader):
    """Files sorted by name; position ``{"file": name, "row": lines done}`` (``row = -1``: whole file)."""

    def __init__(self, ctx: Context, spec: FileSource) -> None:
        self.ctx, self.spec = ctx, spec
        folder = ctx.folder(spec.folder, "inbox")  # a source folder lies under the bot's inbox root
        if not folder.is_dir():
            raise ConfigError(f"source folder {str(folder)!r} does not exist")
        self.files = ctx.inputs(folder, spec.patterns)

    def _kw(self) -> dict[str, Any]:
        s = self.spec
        return {
            "encoding": s.encoding,
            "delimiter": s.delimiter,
            "sheet": s.sheet,
            "header_rows": s.header_rows,
        }

    def _keep_rejected(self, path: Path, reason: str) -> None:
        """A copy of the bad file and a ``.why.txt`` beside it in the run's ``rejected/`` folder."""
        import shutil

        self.ctx.roots.require(path, "copying a file into the run's artifacts")
        shutil.copy2(path, self.ctx.artifact(f"rejected/{path.name}"))
        self.ctx.artifact(f"rejected/{path.name}.why.txt").write_text(_why(path, reason), encoding="utf-8")

    def columns(self) -> list[str]:
        from backroom.bots.formats.tabular import TabularFileError, headers_of

        seen: list[str] = []
        for path in self.files:
            try:
                names = headers_of(path, **self._kw())
            except (TabularFileError, UnicodeDecodeError, StopIteration):
                continue  # reported when the file is read
            for name in names:
                if name not in seen:
                    seen.append(name)
        return seen

    def batches(self, position: Any, size: int) -> Iterator[Batch]:
        from backroom.bots.formats.tabular import RowError, TabularFileError, read_rows

        pos = dict(position or {})
        done_file, done_rows = pos.get("file"), pos.get("row", -1)
        for path in self.files:
            if done_file is not None and (path.name < done_file or (path.name == done_file and done_rows == -1)):
                continue
            skip = done_rows if path.name == done_file else 0
            rows: list[dict[str, Any]] = []
            bad: list[tuple[str, str, str]] = []
            count = 0
            try:
                for line, row in read_rows(path, **self._kw()):
                    count += 1
                    if count <= skip:
                        continue
                    ref = f"{path.name}:{line}"
                    if isinstance(row, RowError):
                        bad.append((ref, row.reason, row.raw))
                    else:
                        row[REF] = ref
                        rows.append(row)
                    if len(rows) + len(bad) >= size:
                        yield Batch(rows, {"file": path.name, "row": count}, bad)
                        rows, bad = [], []
            except TabularFileError as exc:
                bad.append((path.name, f"file not readable, skipped from here on: {exc}", ""))
                self._keep_rejected(path, str(exc))
            yield Batch(rows, {"file": path.name, "row": -1}, bad)


def _why(path: Path, reason: str) -> str:
    return f"{path.name} was not (fully) migrated.\n\nReason: {reason}\n\nThe original stays where it was.\n"


#: The migrate bot's record sources, chosen by the source table's ``kind`` through the registry.
define_kind(
    "records-source",
    SourceReader,
    {"sql": f"{__name__}:SqlReader", "rest": f"{__name__}:RestReader", "files": f"{__name__}:FileReader"},
)


def open_source(ctx: Context, spec: Any, key_columns: Sequence[str]) -> SourceReader:
    """The reader for a migration's ``source`` table, by its ``kind``."""
    cls = backend_class("records-source", spec.kind, where="the migration's source")
    return cls.open(ctx, spec, key_columns)

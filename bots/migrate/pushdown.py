"""PostgreSQL → PostgreSQL without rows passing through Python: the mapping is pushed into SQL.

When every field is a plain column with a conversion SQL can do *exactly* as Python does (text of
digits to numeric, a naive timestamp read in a named zone...), a batch is streamed with
``COPY (SELECT <mapped columns> ...) TO STDOUT`` from the source straight into the target's staging
table (``COPY ... FROM STDIN``), merged with one ``INSERT ... ON CONFLICT`` and proved in the
database, in one transaction with the position and the pending rejects.

A row SQL cannot vouch for is not guessed at: a *clean* condition says, per row, that its values
are canonical (digits only, no surrounding spaces, within the target's lengths, scale and range,
rules met). Rows for which it is not TRUE are read as usual and go through the Python mapper into
the same staging table, so they are converted or rejected with the usual messages. A batch whose
staging holds a key twice is not merged: the run goes on through the Python path from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backroom.bots.migrate.config import FieldSpec, Migration
    from backroom.bots.migrate.sources import SqlReader
    from backroom.bots.migrate.targets import SqlWriter

__all__ = ["Plan", "copy_between", "plan_pushdown", "run_pushdown"]

#: FieldSpec settings the pushdown can express; any other one keeps the migration on the Python path.
_EXPRESSIBLE = {"source", "type", "tz", "required", "min", "max", "max_length", "strip"}
#: Characters Python's ``str.strip()`` removes; a text starting or ending with one is not clean.
_SPACE = r"[[:space:]\u00a0\u0085\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]"


@dataclass
class Plan:
    table: str  # quoted source table
    select: str  # mapped target columns, the ordering columns as __o0.., __text_ok: over the source table
    columns: str  # the mapped columns as m."name", for the outer query over ``select``
    clean: str  # SQL boolean over m.*, TRUE where SQL maps the row exactly as Python would
    order: list[str]  # quoted ordering columns (cursor, key)
    key: list[str]  # quoted source key columns
    literal: Callable[[Any], str]  # a Python value as a SQL literal
    same_database: bool  # source and target tables in one database: INSERT ... SELECT, no COPY relay
    key_exprs: list[str]  # the key fields as SQL over the source table

    def gone_keys(self, conn: Any, target: Any, key: Sequence[str]) -> list[tuple[Any, ...]]:
        """Target keys no source row maps to (one database only): an anti-join, no keys in Python."""
        import sqlalchemy as sa

        from backroom.bots.systems.sql.alchemy import quote

        tk = [f"t.{quote(conn, k)}" for k in key]
        match = " AND ".join(f"({e}) = {c}" for e, c in zip(self.key_exprs, tk, strict=True))
        sql = (
            f"SELECT {', '.join(tk)} FROM {quote(conn, target.spec.table)} t "
            f"WHERE NOT EXISTS (SELECT 1 FROM {self.table} WHERE {match}) ORDER BY {', '.join(tk)}"
        )
        return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


class _NotExpressible(Exception):
    pass


def _family(kind: Any) -> str:
    import sqlalchemy as sa

    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return "decimal"
    if isinstance(kind, sa.DateTime):
        return "datetime_tz" if kind.timezone else "datetime"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, (sa.String, sa.Text)):
        return "text"
    return "other"


def _field(
    name: str, spec: FieldSpec, src_col: Any, dst_col: Any, q: Callable[[str], str], lit: Callable[[Any], str]
) -> tuple[str, list[str], list[str]]:
    """One field's SQL expression, and when it equals Python's result: on the source text, on the value."""
    settings = set(spec.model_dump(exclude_defaults=True)) - {"source"}
    if spec.source is None or not settings <= _EXPRESSIBLE or spec.strip is False:
        raise _NotExpressible(name)
    col = q(spec.source)
    have, want = _family(src_col.type), spec.type
    clean: list[str] = []
    if have == "text" and want in (None, "str"):
        expr, fam = f"NULLIF({col}, '')", "text"
        # first and last character only: an anchored pattern with '$' would scan every text
        clean.append(f"({col} IS NULL OR (left({col}, 1) !~ '^{_SPACE}$' AND right({col}, 1) !~ '^{_SPACE}$'))")
    elif have == "text" and want == "int":
        # bounded repetition ({1,18}) is slow in PostgreSQL's regex engine: length checked apart
        digits = f"({col} ~ '^-?[0-9]+$' AND char_length({col}) <= 18)"
        expr, fam = f"(CASE WHEN {digits} THEN ({col})::bigint END)", "int"
        clean.append(f"({col} IS NULL OR {digits})")
    elif have == "text" and want == "decimal":
        digits = f"({col} ~ '^-?[0-9]+(\\.[0-9]+)?$' AND char_length({col}) <= 60)"
        expr, fam = f"(CASE WHEN {digits} THEN ({col})::numeric END)", "decimal"
        clean.append(f"({col} IS NULL OR {digits})")
    elif have == "int" and want in (None, "int"):
        expr, fam = col, "int"
    elif have in ("int", "decimal") and want == "decimal":
        expr, fam = f"({col})::numeric", "decimal"
    elif have == "decimal" and want is None:
        expr, fam = col, "decimal"
    elif have == "datetime_tz" and want in (None, "datetime") and not (want is None and spec.tz):
        expr, fam = col, "datetime_tz"
    elif have == "datetime" and want == "datetime":
        expr, fam = f"({col} AT TIME ZONE {lit(spec.tz or 'UTC')})", "datetime_tz"
    elif have == want == "date" or (have == "date" and want is None):
        expr, fam = col, "date"
    elif have == "bool" and want in (None, "bool"):
        expr, fam = col, "bool"
    else:
        raise _NotExpressible(name)
    target = _family(dst_col.type)
    if not (fam == target or (fam == "int" and target == "decimal")):
        raise _NotExpressible(name)
    v = f"m.{q(name)}"  # value conditions test the mapped value once, not the expression again
    raw = clean
    clean = []
    if spec.required or (not dst_col.nullable and dst_col.server_default is None):
        clean.append(f"{v} IS NOT NULL")
    for bound, op in ((spec.min, ">="), (spec.max, "<=")):
        if bound is not None:
            if fam not in ("int", "decimal"):
                raise _NotExpressible(name)
            value = int(bound) if fam == "int" else Decimal(str(bound))  # as Python's type(v)(bound)
            clean.append(f"({v} IS NULL OR {v} {op} {lit(value)})")
    if spec.max_length is not None:
        if fam != "text":
            raise _NotExpressible(name)
        clean.append(f"({v} IS NULL OR char_length({v}) <= {int(spec.max_length)})")
    kind = dst_col.type
    length = getattr(kind, "length", None)
    if fam == "text" and length:
        clean.append(f"({v} IS NULL OR char_length({v}) <= {int(length)})")
    if target == "decimal" and getattr(kind, "precision", None) is not None:
        scale = int(kind.scale or 0)
        limit = Decimal(10) ** (int(kind.precision) - scale)
        clean.append(f"({v} IS NULL OR ({v} = round({v}, {scale}) AND abs({v}) < {lit(limit)}))")
    if target == "int":
        bounds = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}.get(type(kind).__visit_name__.upper())
        if bounds is None:
            raise _NotExpressible(name)
        clean.append(f"({v} IS NULL OR {v} BETWEEN {-bounds} AND {bounds - 1})")
    return expr, raw, clean


def plan_pushdown(source: SqlReader, target: SqlWriter, mig: Migration) -> Plan | None:
    """A plan when source and target are PostgreSQL tables and every field is expressible, else None."""
    from psycopg import sql as psql

    from backroom.bots.systems.sql.alchemy import quote

    if not (
        source.engine.dialect.name == "postgresql"
        and getattr(target, "fast", False)
        and mig.mode == "upsert"
        and mig.source.kind == "sql"
        and mig.source.table
        and not mig.fingerprints
    ):
        return None
    q = lambda name: quote(source.engine, name)  # noqa: E731

    def lit(value: Any) -> str:
        return psql.Literal(value).as_string(None)

    parts: list[str] = []
    exprs: dict[str, str] = {}
    raw: list[str] = []
    clean: list[str] = []
    try:
        for name in target.columns:
            spec = mig.fields[name]
            if spec.source not in source.table.c:
                return None
            expr, on_text, on_value = _field(name, spec, source.table.c[spec.source], target.table.c[name], q, lit)
            parts.append(f"{expr} AS {q(name)}")
            exprs[name] = expr
            raw += on_text
            clean += on_value
    except _NotExpressible:
        return None
    order = [q(c) for c in source.order]
    parts += [f"{c} AS __o{i}" for i, c in enumerate(order)]
    parts.append(f"({' AND '.join(dict.fromkeys(raw)) or 'TRUE'}) AS __text_ok")
    clean = ["m.__text_ok", *dict.fromkeys(clean)]
    return Plan(
        table=quote(source.engine, mig.source.table),
        select=", ".join(parts),
        columns=", ".join(f"m.{q(c)}" for c in target.columns),
        clean=" AND ".join(clean) or "TRUE",
        order=[q(c) for c in source.order],
        key=[q(c) for c in source.key_columns],
        literal=lit,
        same_database=_same_database(source.engine.url, target.engine.url),
        key_exprs=[exprs[k] for k in mig.key],
    )


def _same_database(a: Any, b: Any) -> bool:
    """Both URLs name one database on one server (as one user: the target's grants apply)."""
    return (a.host, a.port, a.database, a.username) == (b.host, b.port, b.database, b.username)


def copy_between(source_conn: Any, query: str, target_conn: Any, table: str, columns: Sequence[str]) -> int:
    """``COPY (query) TO STDOUT`` on one PostgreSQL into ``COPY table FROM STDIN`` on another, in chunks."""
    from backroom.bots.systems.sql.alchemy import quote

    src = source_conn.connection.driver_connection
    dst = target_conn.connection.driver_connection
    cols = ", ".join(quote(target_conn, c) for c in columns)
    with src.cursor() as sc, dst.cursor() as dc:
        with sc.copy(f"COPY ({query}) TO STDOUT") as out, dc.copy(f"COPY {table} ({cols}) FROM STDIN") as into:
            for chunk in out:
                into.write(chunk)
        return int(dc.rowcount)


@dataclass
class PushState:
    position: Any
    batches: int = 0
    complete: bool = True
    fell_back: str = ""


def _row_sql(values: Sequence[Any], lit: Callable[[Any], str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def run_pushdown(
    ctx: Any,
    name: str,
    plan: Plan,
    source: SqlReader,
    target: SqlWriter,
    mig: Migration,
    position: Any,
    prepare: Callable[[Any], tuple[list[dict[str, Any]], Any, int]],
    pending: Any,
    totals: Any,
    proofs: list[dict[str, Any]],
    timings: dict[str, float],
    bar: Any,
    limit: int,
) -> PushState:
    """Batches of ``mig.batch_size`` rows by keyset range, each one transaction on the target."""
    import json
    import time

    import psycopg
    import sqlalchemy as sa

    from backroom.bots.migrate.proof import decode_position, encode_position
    from backroom.bots.migrate.sources import Batch
    from backroom.bots.migrate.targets import Outcome
    from backroom.bots.systems.sql.alchemy import copy_rows, quote

    order = ", ".join(plan.order)
    desc = ", ".join(f"{c} DESC" for c in plan.order)
    keys = ", ".join(plan.key)
    state = PushState(position=position)
    cols = target.columns
    size = mig.batch_size
    while True:
        ctx.raise_if_cancelled()
        clock = time.perf_counter()
        last = state.position
        after = f"({order}) > {_row_sql(last, plan.literal)}" if last else "TRUE"
        # One snapshot per batch (REPEATABLE READ): the range, the rows COPY moves and the rows
        # read for Python are the same rows, whatever is written to the source meanwhile.
        same = plan.same_database
        t_conn = target.engine.connect()
        if same:
            t_conn = t_conn.execution_options(isolation_level="REPEATABLE READ")
        s_conn = t_conn if same else source.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with s_conn as s, t_conn as t:
            try:
                with t.begin():
                    tail = s.execute(
                        sa.text(
                            f"SELECT {order} FROM {plan.table} WHERE {after} ORDER BY {order} OFFSET {size - 1} LIMIT 1"
                        )
                    ).first()
                    if tail is None:
                        end = s.execute(
                            sa.text(f"SELECT {order} FROM {plan.table} WHERE {after} ORDER BY {desc} LIMIT 1")
                        ).first()
                        if end is None:
                            return state
                        cond = after  # the rest, ties included
                    else:
                        end = tail
                        cond = f"{after} AND ({order}) <= {_row_sql(tail, plan.literal)}"  # every row tying the tail
                    end_pos = list(end)
                    stg = target.prepare_staging(t)
                    # OFFSET 0 keeps the subquery whole: each row is mapped once, not once per check
                    mapped = f"(SELECT {plan.select} FROM {plan.table} WHERE {cond} OFFSET 0) m"
                    clean_sql = f"SELECT {plan.columns} FROM {mapped} WHERE ({plan.clean}) IS TRUE"
                    if same:  # one database: no row leaves the server
                        quoted = ", ".join(quote(t, c) for c in cols)
                        clean_n = t.execute(sa.text(f"INSERT INTO {stg} ({quoted}) {clean_sql}")).rowcount
                    else:
                        clean_n = copy_between(s, clean_sql, t, stg, cols)
                    in_range = s.execute(sa.text(f"SELECT count(*) FROM {plan.table} WHERE {cond}")).scalar_one()
                    odd: list[dict[str, Any]] = []
                    if in_range > clean_n:  # rows SQL could not vouch for: read as they are, mapped in Python
                        marks = ", ".join(f"m.__o{i}" for i in range(len(plan.order)))
                        odd = [
                            dict(r)
                            for r in s.execute(
                                sa.text(
                                    f"SELECT * FROM {plan.table} WHERE ({order}) IN "
                                    f"(SELECT {marks} FROM {mapped} WHERE ({plan.clean}) IS NOT TRUE)"
                                )
                            ).mappings()
                        ]
                    timings["wait_for_source"] += time.perf_counter() - clock
                    clock = time.perf_counter()
                    batch = Batch(odd, end_pos)
                    rows, change, _ = prepare(batch)
                    if change is not None and pending is not None and pending.book:
                        listed = ", ".join(_row_sql(decode_position(json.loads(k)), plan.literal) for k in pending.book)
                        found = s.execute(
                            sa.text(f"SELECT {keys} FROM {plan.table} WHERE {cond} AND ({keys}) IN ({listed})")
                        ).all()
                        change.settled.update(
                            json.dumps(encode_position(list(r)), ensure_ascii=False, default=str) for r in found
                        )
                    timings["map_and_validate"] += time.perf_counter() - clock
                    clock = time.perf_counter()
                    if rows:
                        copy_rows(t, stg, cols, ([r[c] for c in cols] for r in rows))
                    doubled = target.staging_duplicates(t)
                    if doubled:
                        raise _Doubled(doubled)
                    sent = clean_n + len(rows)
                    out = Outcome()
                    target.merge_staging(t, sent, out)
                    if mig.proof:
                        out.proof = target._prove_in_database(t, sent)  # noqa: SLF001 - the writer's own proof
                    target._save_pending(t, change, out)  # noqa: SLF001
                    target._save_state(t, end_pos)  # noqa: SLF001
            except _Doubled as exc:
                state.fell_back = f"source keys {[tuple(map(str, k)) for k in exc.keys]} appear twice in one batch"
                return state
            except (sa.exc.IntegrityError, sa.exc.DataError, psycopg.DataError, psycopg.IntegrityError) as exc:
                state.fell_back = f"the target refused a row of the batch ({str(exc).splitlines()[0][:200]})"
                return state
        timings["write_and_prove"] += time.perf_counter() - clock
        if pending is not None and change is not None and not change.empty():
            for k in change.settled:
                pending.book.pop(k, None)
            pending.book.update(change.added)
        ctx.checkpoint.set(f"{name}:position", encode_position(end_pos))
        totals.read += clean_n + len(odd)
        totals.inserted += out.inserted
        totals.updated += out.updated
        totals.unchanged += out.unchanged
        totals.batches += 1
        if out.proof:
            proofs.append({"batch": totals.batches, **out.proof})
        bar.advance(clean_n + len(odd))
        state.position = end_pos
        state.batches += 1
        if tail is None:
            return state
        if limit and state.batches >= limit:
            state.complete = False
            return state


class _Doubled(Exception):
    def __init__(self, keys: list[tuple[Any, ...]]) -> None:
        super().__init__(str(keys))
        self.keys = keys

"""Running one migration: check schemas, then read → map → validate → write → prove, batch by batch.

The order of things is the safety argument:

1. Schema drift is checked before anything is written: a mapped source column or target column
   that vanished fails the run at once; a new source column is reported.
2. The start position is read from the target's own state row when the target is a database (it
   was committed with the last batch), else from ``ctx.checkpoint``.
3. Each batch is mapped; a row that fails goes to the rejects book and the rest go on.
4. The batch is written with its position (atomically for SQL targets), read back and proved.
5. Mirror deletes happen only after a complete pass, and only below ``max_delete_ratio``.
"""

from __future__ import annotations

import hashlib
import json
import operator
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.config import Lookup, Migration
from backroom.bots.migrate.proof import canonical, decode_position, encode_position, key_of
from backroom.bots.migrate.rejects import RejectBook
from backroom.bots.migrate.sources import REF, Batch, SourceReader, SqlReader, open_source
from backroom.bots.migrate.targets import PendingChange, SqlWriter, open_target
from backroom.bots.migrate.transforms import FieldError, Mapper
from backroom.bots.sdk.bot import Result
from backroom.bots.sdk.errors import ConfigError

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Totals", "open_target", "run_migration"]


@dataclass
class Totals:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    batches: int = 0
    gone: int = 0  # target rows whose source row is gone (upsert mode, complete pass)
    samples: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    gone_samples: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        names = ("read", "inserted", "updated", "unchanged", "deleted", "rejected", "batches", "gone")
        return {k: getattr(self, k) for k in names}


def _load_lookup(ctx: Context, ref: Lookup) -> Any:
    """A lookup table read once into a dict (reference tables are small)."""
    import sqlalchemy as sa

    from backroom.bots.systems.base import open_system
    from backroom.bots.systems.sql.base import SqlDatabase

    engine = open_system(ctx, ref.system, SqlDatabase).engine()
    try:
        schema, _, tname = ref.table.rpartition(".")
        table = sa.Table(tname, sa.MetaData(), schema=schema or None, autoload_with=engine)
        with engine.connect() as conn:
            pairs = conn.execute(sa.select(table.c[ref.key], table.c[ref.value])).all()
    except (sa.exc.NoSuchTableError, KeyError) as exc:
        raise ConfigError(f"lookup table {ref.table}.{ref.key}/{ref.value} not usable: {exc}") from None
    finally:
        engine.dispose()
    table_map = {canonical(k): v for k, v in pairs}
    return lambda value: table_map.get(canonical(value))


def _drift(ctx: Context, name: str, mig: Migration, columns: list[str]) -> dict[str, list[str]]:
    """Compare source columns with the mapping and with the last run; fail on a missing mapped column."""
    needed: dict[str, list[str]] = {}
    for fname, spec in mig.fields.items():
        for col in spec.inputs():
            needed.setdefault(col, []).append(fname)
    cursor = getattr(mig.source, "cursor", None)
    if cursor:
        needed.setdefault(cursor, []).append("(cursor)")
    known = set(columns)
    previous = ctx.checkpoint.get(f"{name}:schema")
    missing = {c: f for c, f in needed.items() if c not in known}
    if columns and missing:
        listed = "; ".join(f"{c!r} (used by {', '.join(f)})" for c, f in missing.items())
        raise ConfigError(f"migration {name!r}: source column(s) no longer exist: {listed}. Source has: {columns}")
    report = {
        "new_since_last_run": [c for c in columns if previous is not None and c not in previous],
        "gone_since_last_run": [c for c in (previous or []) if c not in known],
        "unmapped": [c for c in columns if c not in needed and not c.startswith("__")],
    }
    for c in report["new_since_last_run"]:
        ctx.log.warning("migration %s: new source column %r (not mapped)", name, c)
    for c in report["gone_since_last_run"]:
        ctx.log.warning("migration %s: source column %r disappeared (it was not mapped)", name, c)
    return report


def _key_only(mapper_fields: dict[str, Any], key: Sequence[str], row: dict[str, Any]) -> tuple[str, ...] | None:
    try:
        return tuple(canonical(mapper_fields[k](row)) for k in key)
    except FieldError:
        return None


def prefetch(batches: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """Read the next batch in a thread while this one is mapped and written.

    The database drivers release the GIL while they wait, so on two cores reading overlaps with
    the target's work. Positions are still saved strictly in order, by the consumer.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        box.put(("batch", item), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:
            box.put(("error", exc))

    worker = threading.Thread(target=pump, name="migrate-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)


def source_known(source: SourceReader) -> bool:
    return source.fingerprints and source.known is not None


def _source_key(row: dict[str, Any], columns: Sequence[str]) -> str:
    """A source row's key values as JSON text: what the pending book stores and re-reads by."""
    return json.dumps(encode_position([row.get(c) for c in columns]), ensure_ascii=False, default=str)


@dataclass
class _Pending:
    """Rejects waiting for a fix: loaded at the start, retried first, changed batch by batch."""

    book: dict[str, list[str]]
    in_target: bool
    retried: int = 0
    passed: int = 0
    gone: int = 0
    dropped: int = 0


def _load_pending(ctx: Context, name: str, target: Any, source: SourceReader, drop: str, dry: bool) -> _Pending:
    """The pending rejects of earlier runs, less those an operator dropped (``drop_rejects``)."""
    kept = target.read_pending()
    pending = _Pending(
        book=dict(kept) if kept is not None else dict(ctx.checkpoint.get(f"{name}:pending") or {}),
        in_target=kept is not None,
    )
    if drop.strip() and pending.book:
        wanted = {w.strip() for w in drop.split(",") if w.strip()}
        gone = [k for k, v in pending.book.items() if "all" in wanted or v[0] in wanted]
        pending.dropped = len(gone)
        for k in gone:
            ctx.log.warning(
                "migration %s: pending reject %s dropped by the operator (%s)",
                name,
                pending.book[k][0],
                pending.book[k][2],
            )
            if not dry:
                pending.book.pop(k)
        if not dry and gone:
            if pending.in_target:
                target.drop_pending(gone)
            else:
                ctx.checkpoint.set(f"{name}:pending", pending.book)
    return pending


def run_migration(
    ctx: Context,
    name: str,
    mig: Migration,
    *,
    full: bool = False,
    limit_batches: int = 0,
    verify: bool = False,
    drop_rejects: str = "",
) -> Result:
    """Run migration ``name`` once (honouring ``ctx.dry_run``).

    ``verify`` reads every source row and compares it with what the *target* holds (counts and
    checksums per batch), repairs what differs and lists target rows the source no longer has.
    """
    from backroom.bots.migrate.transforms import compile_field

    dry = ctx.dry_run
    started = time.perf_counter()
    key_sources = [mig.fields[k].source or k for k in mig.key]
    source = open_source(ctx, mig.source, key_sources)
    target = open_target(ctx, name, mig)
    rejects = RejectBook(ctx.artifact(f"{name}-rejects.xlsx"))
    totals = Totals()
    proofs: list[dict[str, Any]] = []
    mirror_keys: set[tuple[str, ...]] = set()
    keyless_rejects = 0
    timings = dict.fromkeys(("wait_for_source", "map_and_validate", "write_and_prove", "checkpoint"), 0.0)
    gone_note = ""
    write_path = "rows"
    try:
        drift = _drift(ctx, name, mig, source.columns())
        target.check_schema(list(mig.fields))
        lookups = {f: _load_lookup(ctx, s.lookup) for f, s in mig.fields.items() if s.lookup}
        mapper = Mapper(mig.fields, lookups)
        key_fns = {k: compile_field(k, mig.fields[k], lookups.get(k)) for k in mig.key}
        dup_errors = source.duplicates_are_errors
        row_check = target.row_check
        retries_possible = type(source).fetch_keys is not SourceReader.fetch_keys
        pending = _load_pending(ctx, name, target, source, drop_rejects, dry) if retries_possible else None

        mirror = mig.mode == "mirror"
        key_getter = operator.itemgetter(*mig.key)
        restart = full or mirror or verify
        # A complete pass over the source can say which target rows the source no longer has.
        collect_keys = mirror or (restart and mig.mode == "upsert" and isinstance(target, SqlWriter))
        if restart:
            position = None
        elif target.transactional_state:
            position = decode_position(target.read_state())
        else:
            position = decode_position(ctx.checkpoint.get(f"{name}:position"))
        ctx.log.info("migration %s: %s from position %s", name, "dry run" if dry else "run", position)

        complete = True
        fp_key = f"{name}:fingerprints"
        config_hash = hashlib.sha1(mig.model_dump_json().encode()).hexdigest()[:12]
        known: dict[str, list[Any]] = {}
        if (
            source.fingerprints
            and mig.fingerprints
            and not verify
            and mig.mode == "upsert"
            and target.transactional_state
        ):
            stored = ctx.checkpoint.get(fp_key) or {}
            known = stored.get("batches", {}) if stored.get("config") == config_hash else {}
            source.known = known
        lock = threading.Lock()

        def write(batch: Batch, rows: list[dict[str, Any]], mapping_rejects: int, bar: Any, change: Any) -> None:
            """Runs on the writer thread, one batch at a time, in order: write, prove, checkpoint."""
            clock = time.perf_counter()
            if batch.skipped:
                if not dry:
                    target.write([], batch.position, dry_run=False)  # moves the position only
                    ctx.checkpoint.set(f"{name}:position", encode_position(batch.position))
                with lock:
                    totals.read += batch.skipped
                    totals.unchanged += batch.skipped
                    totals.batches += 1
                bar.advance(batch.skipped)
                timings["write_and_prove"] += time.perf_counter() - clock
                return
            outcome = target.write(rows, batch.position, dry_run=dry, pending=change)
            timings["write_and_prove"] += time.perf_counter() - clock
            clock = time.perf_counter()
            for row, fld, reason in outcome.rejected:
                label = "/".join(key_of(row, mig.key))
                rejects.add(label, label, fld, reason, row)
            if change is not None:
                change.finish(outcome, lambda row: "/".join(key_of(row, mig.key)))
            if not dry:
                state: dict[str, Any] = {f"{name}:position": encode_position(batch.position)}
                if source_known(source) and batch.fingerprint and not mapping_rejects and not outcome.rejected:
                    known[batch.start] = [batch.fingerprint, encode_position(batch.position), len(batch.rows)]
                    state[fp_key] = {"config": config_hash, "batches": dict(known)}
                if change is not None and pending is not None and not change.empty():
                    for k in change.settled:
                        pending.book.pop(k, None)
                    pending.book.update(change.added)
                    if not pending.in_target:
                        state[f"{name}:pending"] = dict(pending.book)
                ctx.checkpoint.set_many(state)
            timings["checkpoint"] += time.perf_counter() - clock
            with lock:
                totals.read += len(batch.rows) + len(batch.unreadable)
                totals.inserted += outcome.inserted
                totals.updated += outcome.updated
                totals.unchanged += outcome.unchanged
                totals.batches += 1
                if batch.retry and pending is not None:
                    pending.passed += len(rows) - len(outcome.rejected)
                for key, fld, old, new in outcome.diffs:
                    samples = totals.samples.setdefault(fld, [])
                    if len(samples) < mig.diff_samples:
                        samples.append(("/".join(key), old, new))
                if outcome.proof:
                    proofs.append({"batch": totals.batches, **outcome.proof})
            bar.advance(len(batch.rows))

        def retry_batch() -> Iterator[Batch]:
            """Pending rejects first: their source rows are read again by key and go through it all."""
            if pending is None or not pending.book:
                return
            wanted = list(pending.book)
            rows = source.fetch_keys([decode_position(json.loads(k)) for k in wanted]) or []
            found = {_source_key(r, key_sources) for r in rows}
            vanished = [k for k in wanted if k not in found]
            pending.retried = len(wanted) - len(vanished)
            pending.gone = len(vanished)
            for k in vanished:
                ctx.log.warning("migration %s: pending reject %s is no longer in the source", name, pending.book[k][0])
            batch = Batch(rows, position, retry=True)
            batch.vanished = vanished
            yield batch

        def batches() -> Iterator[Batch]:
            yield from retry_batch()
            yield from source.batches(position, mig.batch_size)

        def prepare(batch: Batch) -> tuple[list[dict[str, Any]], Any, int]:
            """Map and judge one batch's rows: the rows to write, the pending change, the rejects made."""
            nonlocal keyless_rejects
            good: dict[Any, dict[str, Any]] = {}
            raws: dict[int, dict[str, Any]] = {}
            duplicated: set[Any] = set()
            change = None
            if pending is not None:
                change = PendingChange(settled=set(batch.vanished))
                if pending.book:
                    change.settled.update(sk for r in batch.rows if (sk := _source_key(r, key_sources)) in pending.book)
                change.source_key = lambda m, raws=raws: (
                    _source_key(raws[id(m)], key_sources) if id(m) in raws else None
                )
            before = rejects.count

            def reject(row: dict[str, Any], fld: str, reason: str, change: Any = change) -> None:
                nonlocal keyless_rejects
                k = _key_only(key_fns, mig.key, row)
                if k is None:
                    keyless_rejects += 1
                elif collect_keys:
                    mirror_keys.add(k)
                ref = row.get(REF) or "/".join(str(row.get(c)) for c in key_sources)
                label = "/".join(k or ())
                rejects.add(ref, label, fld, reason, row)
                if change is not None:
                    change.added[_source_key(row, key_sources)] = [label or ref, fld, reason]

            for ref, reason, raw in batch.unreadable:
                rejects.add(ref, "", "(line)", reason, raw)
                keyless_rejects += 1
            for row in batch.rows:
                try:
                    mapped = mapper.map(row)
                except FieldError as exc:
                    reject(row, exc.field, exc.reason)
                    continue
                if row_check is not None and (refused := row_check(mapped)) is not None:
                    reject(row, refused[0], f"the target would refuse it: {refused[1]}")
                    continue
                if mig.mode == "append":
                    good[len(good)] = mapped
                    raws[id(mapped)] = row
                    continue
                k = key_getter(mapped)
                if not dup_errors:
                    good.pop(k, None)  # a later version of the same record (a later line) wins
                elif k in duplicated or k in good:
                    # Two source rows claim one record: which is right cannot be decided here,
                    # so neither is written; both stay pending until the source is fixed.
                    first = good.pop(k, None)
                    duplicated.add(k)
                    label = "/".join(key_of(mapped, mig.key))
                    why = f"duplicate source key {label}: more than one source row carries it, none was written"
                    if first is not None:
                        reject(raws[id(first)], ",".join(mig.key), why)
                    reject(row, ",".join(mig.key), why)
                    continue
                good[k] = mapped
                raws[id(mapped)] = row
                if collect_keys:
                    mirror_keys.add(key_of(mapped, mig.key))
            return list(good.values()), change, rejects.count - before

        submitted = 0

        def pump(source_batches: Iterator[Batch], bar: Any) -> bool:
            """Batches through map → write, double buffered; False when ``max_batches`` stopped it."""
            # Batch N is written (the database works, the GIL is free) while batch N+1 is mapped.
            # One writer thread keeps writes and positions strictly in order.
            nonlocal submitted
            with ThreadPoolExecutor(1, thread_name_prefix="migrate-write") as pool:
                pending_write: Future[None] | None = None
                clock = time.perf_counter()
                for batch in prefetch(source_batches):
                    ctx.raise_if_cancelled()
                    timings["wait_for_source"] += time.perf_counter() - clock
                    clock = time.perf_counter()
                    rows, change, mapping_rejects = prepare(batch)
                    timings["map_and_validate"] += time.perf_counter() - clock
                    if pending_write is not None:
                        pending_write.result()  # the previous batch is committed (or its error raised here)
                    pending_write = pool.submit(write, batch, rows, mapping_rejects, bar, change)
                    submitted += 1
                    if limit_batches and submitted >= limit_batches:
                        pending_write.result()
                        return False
                    clock = time.perf_counter()
                if pending_write is not None:
                    pending_write.result()
            return True

        plan = None
        write_path = "rows"
        if not dry and not mirror and isinstance(target, SqlWriter) and target.spec.pushdown:
            from backroom.bots.migrate.pushdown import plan_pushdown

            if isinstance(source, SqlReader):
                plan = plan_pushdown(source, target, mig)
            if plan is not None and collect_keys and not plan.same_database:
                plan = None  # a full pass lists vanished keys: by an anti-join in one database only
        with ctx.progress(f"migrate {name}") as bar:
            if plan is None:
                complete = pump(batches(), bar)
            else:
                from backroom.bots.migrate.pushdown import run_pushdown

                complete = pump(retry_batch(), bar)
                write_path = "pushdown"
                if complete:
                    ctx.log.info("migration %s: mapping pushed into SQL (COPY source → staging)", name)
                    state = run_pushdown(
                        ctx,
                        name,
                        plan,
                        source,
                        target,
                        mig,
                        position,
                        prepare,
                        pending,
                        totals,
                        proofs,
                        timings,
                        bar,
                        limit_batches - submitted if limit_batches else 0,
                    )
                    submitted += state.batches
                    complete = state.complete
                    if state.fell_back:
                        ctx.log.warning("migration %s: %s; going on row by row from there", name, state.fell_back)
                        complete = pump(source.batches(state.position, mig.batch_size), bar)
                        write_path = "pushdown, then rows"
        totals.rejected = rejects.count

        delete_note = ""
        if mig.mode == "mirror" and complete and isinstance(target, SqlWriter):
            delete_note = _mirror(ctx, target, mig, mirror_keys, keyless_rejects, totals, dry)
        elif collect_keys and complete and isinstance(target, SqlWriter):
            if plan is not None:  # no keys were collected: the database compares them
                with target.engine.connect() as conn:
                    gone = plan.gone_keys(conn, target, mig.key)
            else:
                gone = [k for k in target.all_keys() if tuple(canonical(v) for v in k) not in mirror_keys]
            gone_note = _report_gone(ctx, name, gone, keyless_rejects, totals)
        elif (
            complete
            and mig.mode == "upsert"
            and mig.deletion_check != "off"
            and isinstance(target, SqlWriter)
            and isinstance(source, SqlReader)
        ):
            clock = time.perf_counter()
            gone = _incremental_gone(mig, source, target, key_fns, plan, pending)
            timings["deletion_check"] = time.perf_counter() - clock
            gone_note = _report_gone(ctx, name, gone, keyless_rejects, totals)
        if not dry:
            ctx.checkpoint.set(f"{name}:schema", [c for c in source.columns() if not c.startswith("__")])
    finally:
        rejects_path = rejects.close()
        source.close()
        target.close()

    elapsed = time.perf_counter() - started
    proof_path = ctx.artifact(f"{name}-proof.json")
    proof_path.write_text(json.dumps({"migration": name, "batches": proofs}, indent=1), encoding="utf-8")
    if dry:
        _write_dry_run(ctx, name, totals)

    ratio = totals.rejected / totals.read if totals.read else 0.0
    failed = ratio > mig.max_reject_ratio or delete_note.startswith("REFUSED")
    verb = "would move" if dry else "moved"
    summary = (
        f"{name}: {verb} {totals.inserted} new, {totals.updated} changed, {totals.unchanged} unchanged, "
        f"{totals.deleted} deleted, {totals.rejected} rejected of {totals.read} read in {totals.batches} batches"
    )
    if verify:
        summary += (
            f"; verify: {totals.inserted} missing and {totals.updated} differing rows in the target "
            f"{'would be ' if dry else ''}repaired"
        )
    if ratio > mig.max_reject_ratio:
        summary += f"; reject ratio {ratio:.1%} exceeds the allowed {mig.max_reject_ratio:.1%}"
    if delete_note:
        summary += f"; {delete_note}"
    if gone_note:
        summary += f"; {gone_note}"
    if pending is not None and (pending.retried or pending.gone or pending.dropped or pending.book):
        summary += (
            f"; pending rejects: {pending.retried} retried, {pending.passed} passed, {pending.gone} gone from the "
            f"source, {pending.dropped} dropped by the operator, {len(pending.book)} still pending"
        )
    if drift["new_since_last_run"] or drift["gone_since_last_run"]:
        summary += f"; schema drift: new {drift['new_since_last_run']}, gone {drift['gone_since_last_run']}"
    ctx.log.info("%s (%.1f s)", summary, elapsed)
    counts = totals.counts()
    if pending is not None:
        counts.update(
            pending=len(pending.book),
            retried=pending.retried,
            retried_passed=pending.passed,
            pending_gone=pending.gone,
            pending_dropped=pending.dropped,
        )
    return Result(
        status="failed" if failed else "succeeded",
        summary=summary,
        counts=counts,
        outputs={
            "migration": name,
            "dry_run": dry,
            "seconds": round(elapsed, 3),
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "rows_per_s": round(totals.read / elapsed, 1) if elapsed else None,
            "rejects_file": str(rejects_path) if rejects_path else None,
            "rejects_by_field": rejects.by_field,
            "proof_file": str(proof_path),
            "schema": drift,
            "diff_samples": {f: [list(map(str, s)) for s in v] for f, v in totals.samples.items()},
            "gone_from_source": totals.gone_samples,
            "path": write_path,
        },
    )


def _incremental_gone(
    mig: Migration,
    source: SqlReader,
    target: SqlWriter,
    key_fns: dict[str, Any],
    plan: Any,
    pending: _Pending | None,
) -> list[tuple[Any, ...]]:
    """Target rows whose source row is gone, found in an incremental run (which reads only changes).

    A keyset read after the last position never sees a deleted row, so without this an upsert
    target keeps rows the source deleted without a word until someone runs ``full``. After a
    complete pass every source row is in the target unless it is a pending reject, so with no
    pending rejects equal counts mean nothing is gone and the key sets need not be read
    (``deletion_check = "count"``, two ``count(*)``); otherwise the key sets are compared: by an
    anti-join when both tables are in one database, else keys streamed through the key mapping.
    """
    no_pending = pending is None or not pending.book
    if mig.deletion_check == "count" and no_pending and source.count() == target.count():
        return []
    if plan is not None and plan.same_database:
        with target.engine.connect() as conn:
            return plan.gone_keys(conn, target, mig.key)
    inputs = list(dict.fromkeys(c for k in mig.key for c in mig.fields[k].inputs()))
    if not inputs:
        return []  # a constant key: nothing to compare
    seen: set[tuple[str, ...]] = set()
    if all(mig.fields[k].model_fields_set <= {"source"} for k in mig.key):
        # plain copies (the usual key): the mapping is strip + canonical, no compiled field per row
        order = [inputs.index(mig.fields[k].source or k) for k in mig.key]
        for row in source.key_rows(inputs):
            seen.add(tuple(canonical(v.strip() if isinstance(v, str) else v) for v in (row[i] for i in order)))
    else:
        for row in source.key_rows(inputs):
            k = _key_only(key_fns, mig.key, dict(zip(inputs, row, strict=True)))
            if k is not None:
                seen.add(k)
    return [k for k in target.all_keys() if tuple(canonical(v) for v in k) not in seen]


def _report_gone(ctx: Context, name: str, gone: list[tuple[Any, ...]], keyless: int, totals: Totals) -> str:
    """Upsert mode after a complete pass: target rows whose key the source no longer has are listed.

    They are not deleted (that is what mode "mirror" is for), but never passed over in silence.
    """
    totals.gone = len(gone)
    totals.gone_samples = ["/".join(canonical(v) for v in k) for k in gone[:20]]
    if not gone:
        return ""
    ctx.log.warning(
        "migration %s: %d target rows have no source row any more, e.g. %s", name, len(gone), totals.gone_samples[:5]
    )
    extra = f" ({keyless} rejected source rows had no usable key)" if keyless else ""
    return (
        f"{len(gone)} target rows are no longer in the source (kept: mode upsert; mode mirror deletes them), "
        f"e.g. {totals.gone_samples[:5]}{extra}"
    )


def _mirror(
    ctx: Context,
    target: SqlWriter,
    mig: Migration,
    seen: set[tuple[str, ...]],
    keyless: int,
    totals: Totals,
    dry: bool,
) -> str:
    if keyless:
        return f"REFUSED to delete: {keyless} rejected source rows have no usable key, deletes could be wrong"
    all_keys = target.all_keys()
    gone = [k for k in all_keys if tuple(canonical(v) for v in k) not in seen]
    ratio = len(gone) / len(all_keys) if all_keys else 0.0
    if ratio > mig.max_delete_ratio:
        return (
            f"REFUSED to delete {len(gone)} of {len(all_keys)} target rows ({ratio:.1%} > allowed "
            f"{mig.max_delete_ratio:.1%}); nothing deleted"
        )
    totals.deleted = len(gone) if dry else target.delete_keys(gone)
    return ""


def _write_dry_run(ctx: Context, name: str, totals: Totals) -> None:
    from openpyxl import Workbook

    from backroom.bots.reports import write_table

    book = Workbook()
    ws = book.active
    ws.title = "summary"
    write_table(ws, ["what", "count"], list(totals.counts().items()))
    diff = book.create_sheet("changes")
    write_table(
        diff,
        ["field", "key", "now in target", "would become"],
        [(f, k, str(old), str(new)) for f, samples in totals.samples.items() for k, old, new in samples],
    )
    book.save(ctx.artifact(f"{name}-dry-run.xlsx"))

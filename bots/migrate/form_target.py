"""Browser-form targets (a CRM): several pages of one logged-in browser work a batch in parallel.

The form itself is an adapter of kind ``form`` (``systems/form/``), chosen by the system's
``kind`` and described by its profile (fields, key, read API path). Before any page opens, the
batch is compared with what the system's read API returns, so unchanged records cost one GET and
no browser work — a nightly re-run over the same bills is cheap. Records the form refuses are
rejected with the form's message; transient faults (a 502 page, a timeout)
are retried twice per record, then fail the batch so the re-run repeats it (saving the same values
twice is harmless). Proof reads every written record back through the read API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.proof import canonical, checksum, key_of
from backroom.bots.migrate.targets import Outcome, PendingChange, ProofError, TargetWriter
from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.systems.base import open_system
from backroom.bots.systems.form.base import FormAdapter, FormRejected

if TYPE_CHECKING:
    from backroom.bots.migrate.config import FormTarget, Migration
    from backroom.bots.sdk.context import Context

__all__ = ["FormWriter"]


def _form_text(value: Any) -> str:
    """What a person would type: money keeps its scale (478.60, not 478.6)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value if isinstance(value, str) else canonical(value)


class FormWriter(TargetWriter):
    @classmethod
    def open(cls, ctx: Context, name: str, mig: Migration) -> FormWriter:
        return cls(ctx, mig.target, mig.key, mig.proof)  # type: ignore[arg-type]

    def __init__(self, ctx: Context, spec: FormTarget, key: Sequence[str], proof: bool) -> None:
        self.form = open_system(ctx, spec.system, FormAdapter)
        self.key_field = self.form.key_field
        if list(key) != [self.key_field]:
            raise ConfigError(f"the form of system {spec.system!r} identifies records by key {self.key_field!r}")
        self.ctx, self.spec, self.key, self.proof = ctx, spec, list(key), proof
        self.columns: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chromium: Any = None
        self._started = False
        self._pages: list[Any] = []

    def check_schema(self, fields: Sequence[str]) -> None:
        known = self.form.fields
        unknown = [f for f in fields if f not in known and f not in self.key]
        if unknown:
            raise ConfigError(f"the form of {self.spec.system!r} has no field(s) {unknown}; it has {sorted(known)}")
        self.columns = list(fields)

    # -- reads through the API -------------------------------------------------------------------
    def _fetch(self, rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any] | None]:
        import httpx

        out: dict[tuple[str, ...], dict[str, Any] | None] = {}
        with self.ctx.http(self.spec.system) as client:
            for row in rows:
                no = canonical(row[self.key_field])
                try:
                    resp = client.get(self.form.record_path(no))
                except httpx.HTTPError as exc:
                    raise TransientError(f"the form system's read API failed: {exc}") from None
                if resp.status_code == 404:
                    out[key_of(row, self.key)] = None
                elif resp.status_code == 200:
                    out[key_of(row, self.key)] = resp.json()
                else:
                    raise TransientError(f"the form system's read API answered {resp.status_code} for {no}")
        return out

    def _changed(self, row: dict[str, Any], current: dict[str, Any]) -> list[str]:
        return [c for c in self.columns if _form_text(current.get(c)) != _form_text(row.get(c))]

    # -- writing ---------------------------------------------------------------------------------
    def write(
        self, rows: list[dict[str, Any]], position: Any, *, dry_run: bool, pending: PendingChange | None = None
    ) -> Outcome:
        """``pending`` is kept by the engine for this target (it has no transaction to put it in)."""
        out = Outcome()
        current = self._fetch(rows)
        todo = []
        for row in rows:
            have = current[key_of(row, self.key)]
            if have is None:
                todo.append(row)
                continue
            changed = self._changed(row, have)
            newer = self.spec.newer_by
            if newer and _form_text(row.get(newer)) < _form_text(have.get(newer)):
                out.unchanged += 1  # stale: the CRM already shows a later record
                continue
            if not changed:
                out.unchanged += 1
                continue
            todo.append(row)
            for c in changed:
                out.diffs.append((key_of(row, self.key), c, have.get(c), row.get(c)))
        if dry_run:
            out.inserted = sum(1 for r in todo if current[key_of(r, self.key)] is None)
            out.updated = len(todo) - out.inserted
            return out
        out.diffs.clear()
        if todo:
            self._loop = self._loop or asyncio.new_event_loop()
            self._loop.run_until_complete(self._save_all(todo, out))
        if self.proof and todo:
            written = [r for r in todo if not any(r is rej[0] for rej in out.rejected)]
            held = self._fetch(written)
            back = [dict(held[key_of(r, self.key)] or {}) for r in written]
            mine = checksum([{c: _form_text(r.get(c)) for c in self.columns} for r in written], self.columns, self.key)
            theirs = checksum([{c: _form_text(b.get(c)) for c in self.columns} for b in back], self.columns, self.key)
            out.proof = {
                "source_count": len(written),
                "target_count": sum(1 for b in back if b),
                "source_checksum": mine,
                "target_checksum": theirs,
            }
            if mine != theirs:
                bad = [key_of(r, self.key) for r, b in zip(written, back, strict=True) if self._changed(r, b)]
                raise ProofError(f"proof failed on the form system: records differ after saving: {bad[:20]}", bad)
        return out

    async def _start(self) -> None:
        from backroom.bots.sdk.browser import start_async

        self._chromium = await start_async(timezone=self.ctx.timezone.key)
        context = self._chromium.context
        context.set_default_timeout(15_000)
        first = await context.new_page()
        more = asyncio.gather(*(context.new_page() for _ in range(self.spec.pages - 1)))
        await self.form.login(first)  # while the other pages open
        self._started = True
        self._pages = [first, *await more]

    async def _save_all(self, rows: list[dict[str, Any]], out: Outcome) -> None:
        if not self._started:
            await self._start()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for row in rows:
            queue.put_nowait(row)

        async def worker(page: Any) -> None:
            while not queue.empty():
                row = queue.get_nowait()
                values = {c: _form_text(row.get(c)) for c in self.columns if c not in self.key}
                no = _form_text(row[self.key_field])
                for attempt in range(3):
                    try:
                        done = await self.form.save(page, no, values)
                    except FormRejected as exc:
                        out.rejected.append((row, "(form)", f"the form refused on Save: {exc}"))
                        break
                    except TransientError:
                        if attempt == 2:
                            await self._evidence(page, no)
                            raise
                        await asyncio.sleep(0.3 * (attempt + 1))
                        continue
                    if done == "inserted":
                        out.inserted += 1
                    else:
                        out.updated += 1
                    break

        await asyncio.gather(*(worker(p) for p in self._pages))

    async def _evidence(self, page: Any, no: str) -> None:
        try:
            await page.screenshot(path=str(self.ctx.artifact(f"crm-failure-{no}.png")), full_page=True)
            self.ctx.artifact(f"crm-failure-{no}.html").write_text(await page.content(), encoding="utf-8")
        except Exception:
            pass

    def close(self) -> None:
        if self._loop is None:
            return

        async def stop() -> None:
            if self._chromium is not None:
                await self._chromium.close()
                self._chromium = None

        try:
            self._loop.run_until_complete(stop())
        finally:
            self._loop.close()
            self._loop = None

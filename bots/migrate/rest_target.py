"""REST targets: one request per record, many in flight, never faster than the system's rate limit.

``429 Too Many Requests`` and 502/503/504 are retried by the shared httpx transport, honouring
``Retry-After``; a record still refused after the retries fails the batch as transient (its
position is not saved, the re-run sends it again — a ``PUT`` by key is idempotent). A 4xx answer
about the record itself (400/404/409/422) is a business reject carrying the target's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.proof import canonical, key_of
from backroom.bots.migrate.targets import Outcome, PendingChange, ProofError, TargetWriter
from backroom.bots.sdk.errors import TransientError
from backroom.bots.sdk.ratelimit import RateLimiter

if TYPE_CHECKING:
    import httpx

    from backroom.bots.migrate.config import Migration, RestTarget
    from backroom.bots.sdk.context import Context

__all__ = ["RestWriter", "jsonable"]


def jsonable(value: Any) -> Any:
    """Money stays exact on the wire: Decimals and times travel as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return canonical(value)


class RestWriter(TargetWriter):
    @classmethod
    def open(cls, ctx: Context, name: str, mig: Migration) -> TargetWriter:
        if getattr(mig.target, "item_path", None):  # the application gives records its own ids
            from backroom.bots.migrate.rest_items import RestItemWriter

            return RestItemWriter.open(ctx, name, mig)
        return cls(ctx, mig.target, mig.key, mig.proof)  # type: ignore[arg-type]

    def __init__(self, ctx: Context, spec: RestTarget, key: Sequence[str], proof: bool) -> None:
        self.ctx, self.spec, self.key, self.proof = ctx, spec, list(key), proof
        self.system = ctx.system(spec.system)
        self.columns: list[str] = []

    def check_schema(self, fields: Sequence[str]) -> None:
        self.columns = list(fields)

    def _path(self, row: dict[str, Any]) -> str:
        k = "/".join(canonical(row[c]) for c in self.key)
        base = self.spec.path
        return base.replace("{key}", k) if "{key}" in base else f"{base.rstrip('/')}/{k}"

    def write(
        self, rows: list[dict[str, Any]], position: Any, *, dry_run: bool, pending: PendingChange | None = None
    ) -> Outcome:
        """``pending`` is kept by the engine for this target (it has no transaction to put it in)."""
        return asyncio.run(self._write(rows, dry_run))

    async def _write(self, rows: list[dict[str, Any]], dry_run: bool) -> Outcome:
        out = Outcome()
        limiter = RateLimiter(self.system.rate_limit)
        gate = asyncio.Semaphore(self.system.concurrency)
        held: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        async with self.ctx.async_http(self.spec.system) as client:

            async def one(row: dict[str, Any]) -> None:
                async with gate:
                    await limiter.wait()
                    if dry_run:
                        await self._compare(client, row, out)
                    else:
                        held.append((row, await self._send(client, row, out)))

            await asyncio.gather(*(one(r) for r in rows))
        if not dry_run and self.proof:
            self._prove(held, out)
        return out

    async def _compare(self, client: httpx.AsyncClient, row: dict[str, Any], out: Outcome) -> None:
        resp = await self._request(client, "GET", self._path(row), None)
        if resp.status_code == 404:
            out.inserted += 1
            return
        current = resp.json()
        changed = [c for c in self.columns if canonical(current.get(c)) != canonical(row.get(c))]
        if not changed:
            out.unchanged += 1
            return
        out.updated += 1
        for c in changed:
            out.diffs.append((key_of(row, self.key), c, current.get(c), row.get(c)))

    async def _send(self, client: httpx.AsyncClient, row: dict[str, Any], out: Outcome) -> dict[str, Any] | None:
        body = {k: jsonable(v) for k, v in row.items()}
        resp = await self._request(client, self.spec.method, self._path(row), body)
        if resp.status_code in (400, 404, 409, 422):
            try:
                detail = resp.json()
                reason = "; ".join(detail.get("errors") or []) or str(detail.get("detail", detail))
            except ValueError:
                reason = resp.text[:300]
            out.rejected.append((row, ",".join(self.key), f"target answered {resp.status_code}: {reason}"))
            return None
        if resp.status_code >= 400:
            raise TransientError(f"target {self.spec.system!r} answered {resp.status_code} for {self._path(row)}")
        out.inserted += 1 if resp.status_code == 201 else 0
        out.updated += 0 if resp.status_code == 201 else 1  # 200 and 204 (no body) alike
        try:
            echo = resp.json()
        except ValueError:
            echo = None
        if not isinstance(echo, dict) and self.proof:
            # no echo (204): the proof reads the record back instead of trusting the status code
            back = await self._request(client, "GET", self._path(row), None)
            echo = back.json() if back.status_code == 200 else {}
        return echo

    async def _request(self, client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
        import httpx

        try:
            resp = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TransientError(f"target {self.spec.system!r} {method} {path}: {exc}") from None
        if resp.status_code in (429, 500, 502, 503, 504):
            raise TransientError(
                f"target {self.spec.system!r} still answered {resp.status_code} to {method} {path} after retries"
            )
        return resp

    def _prove(self, held: list[tuple[dict[str, Any], dict[str, Any] | None]], out: Outcome) -> None:
        from backroom.bots.migrate.proof import checksum

        sent = [r for r, echo in held if echo is not None]
        echoed = [echo for _, echo in held if echo is not None]
        mine, theirs = checksum(sent, self.columns, self.key), checksum(echoed, self.columns, self.key)
        out.proof = {
            "source_count": len(sent),
            "target_count": len(echoed),
            "source_checksum": mine,
            "target_checksum": theirs,
        }
        if mine != theirs:
            bad = [
                key_of(r, self.key)
                for r, e in held
                if e is not None and any(canonical(e.get(c)) != canonical(r.get(c)) for c in self.columns)
            ]
            raise ProofError(f"proof failed on {self.spec.path}: target holds other values for keys {bad[:20]}", bad)

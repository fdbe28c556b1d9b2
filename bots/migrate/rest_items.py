"""REST targets that give records their own ids (Redmine, most business applications).

Such an application does not accept ``PUT /issues/C000001``: a record is created by ``POST`` to the
collection, the application answers with *its* id, and later changes go to ``/issues/{id}.json``.
So this writer keeps a map from the source key to the target's id (in the run's checkpoint, saved
after every create, so a re-run updates rather than creates again), and

* wraps the body in the application's envelope (``{"issue": {...}}``) or fills a template;
* counts a 201 as new and a 200/204 as changed only after reading the record back (``GET``) and
  comparing every field: a write is never counted on the status code alone;
* compares first and sends nothing when the target already holds the values (``unchanged``);
* re-creates a record whose id answers 404 (deleted in the target), and adopts an existing record
  found by ``find_path`` before creating one: with the source key in the body (a Redmine custom
  field) a run killed between the 201 and saving the id never creates the record twice;
* turns 400/404/422 answers into rejects that name the field the application complained about.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backroom.bots.migrate.proof import canonical, key_of
from backroom.bots.migrate.rest_target import jsonable
from backroom.bots.migrate.targets import Outcome, PendingChange, ProofError, TargetWriter
from backroom.bots.sdk.errors import ConfigError, TransientError
from backroom.bots.sdk.ratelimit import RateLimiter

if TYPE_CHECKING:
    import httpx

    from backroom.bots.migrate.config import Migration, RestTarget
    from backroom.bots.sdk.context import Context

__all__ = ["RestItemWriter", "dig", "fill_template", "placeholders"]

_DUPLICATED = object()  # _find: the target holds a key more than once
_PLACEHOLDER = re.compile(r"^\{([A-Za-z0-9_.]+)\}$")


def dig(data: Any, path: str) -> Any:
    """``dig({"project": {"id": 3}}, "project.id") == 3``; None where a step is missing.

    A step ``name=value`` picks the element of a list whose ``name`` is ``value`` (compared as
    text): ``custom_fields.id=1.value`` reads Redmine's custom field 1.
    """
    for part in path.split("."):
        if isinstance(data, list) and "=" in part:
            name, _, value = part.partition("=")
            data = next((e for e in data if isinstance(e, dict) and canonical(e.get(name)) == value), None)
            if data is None:
                return None
            continue
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def fill_template(template: Any, row: dict[str, Any]) -> Any:
    """A JSON template with whole-string placeholders ``"{field}"`` replaced by typed values."""
    if isinstance(template, dict):
        return {k: fill_template(v, row) for k, v in template.items()}
    if isinstance(template, list):
        return [fill_template(v, row) for v in template]
    if isinstance(template, str):
        found = _PLACEHOLDER.match(template)
        if found:
            return jsonable(row.get(found[1]))
        return template.format_map({k: canonical(v) if v is not None else "" for k, v in row.items()})
    return template


def placeholders(template: Any) -> set[str]:
    """The fields a template sends (whole-string ``"{field}"`` values)."""
    if isinstance(template, dict):
        return set().union(*(placeholders(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template)) if template else set()
    found = _PLACEHOLDER.match(template) if isinstance(template, str) else None
    return {found[1]} if found else set()


def _errors_of(resp: httpx.Response) -> str:
    try:
        detail = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(detail, dict):
        errors = detail.get("errors")
        if isinstance(errors, list):
            return "; ".join(map(str, errors))
        if isinstance(errors, dict):
            return "; ".join(f"{k} {v}" for k, v in errors.items())
        return str(detail.get("detail") or detail.get("message") or detail)[:300]
    return str(detail)[:300]


def field_named(message: str, fields: Sequence[str], key: Sequence[str]) -> str:
    """The field an application's message is about: "Subject cannot be blank" → ``subject``."""
    lowered = message.lower()
    best, best_len = "", 0
    for f in fields:
        for name in (f, f.removesuffix("_id")):
            spoken = name.replace("_", " ").lower()
            if spoken and len(spoken) > best_len and re.search(rf"\b{re.escape(spoken)}\b", lowered):
                best, best_len = f, len(spoken)
    return best or ",".join(key)


class RestItemWriter(TargetWriter):
    """Create (POST to the collection) then update (PUT/PATCH to the item), each write read back."""

    @classmethod
    def open(cls, ctx: Context, name: str, mig: Migration) -> RestItemWriter:
        return cls(ctx, name, mig.target, mig.key, mig.proof)  # type: ignore[arg-type]

    def __init__(self, ctx: Context, name: str, spec: RestTarget, key: Sequence[str], proof: bool) -> None:
        if not spec.item_path or "{id}" not in spec.item_path:
            raise ConfigError(f"REST target {spec.system!r}: item_path must contain '{{id}}', got {spec.item_path!r}")
        self.ctx, self.spec, self.key, self.proof = ctx, spec, list(key), proof
        self.system = ctx.system(spec.system)
        self.columns: list[str] = []
        self._ids_key = f"{name}:target_ids"
        self.ids: dict[str, Any] = dict(ctx.checkpoint.get(self._ids_key) or {})
        if not spec.find_path:
            ctx.log.warning(
                "migration %s: REST target %s has no find_path: a run killed between a create and saving "
                "its id would create that record again (put the key in the body and look it up)",
                name,
                spec.path,
            )

    def check_schema(self, fields: Sequence[str]) -> None:
        self.columns = list(fields)
        unknown = [f for f in (self.spec.compare or []) + list(self.spec.read_back) if f not in fields]
        if unknown:
            raise ConfigError(f"REST target {self.spec.path}: compare/read_back name unmapped field(s) {unknown}")

    # -- shapes ------------------------------------------------------------------------------------
    def _body(self, row: dict[str, Any]) -> dict[str, Any]:
        inner = (
            fill_template(self.spec.template, row)
            if self.spec.template is not None
            else {k: jsonable(v) for k, v in row.items()}
        )
        return {self.spec.envelope: inner} if self.spec.envelope else inner

    def _unwrap(self, resp: httpx.Response) -> Any:
        try:
            data = resp.json()
        except ValueError:
            return None
        return data.get(self.spec.envelope) if self.spec.envelope and isinstance(data, dict) else data

    def _item(self, target_id: Any) -> str:
        return self.spec.item_path.replace("{id}", str(target_id))  # type: ignore[union-attr]

    def _label(self, row: dict[str, Any]) -> str:
        return "/".join(key_of(row, self.key))

    def _compared(self) -> list[str]:
        """What the proof compares: ``compare``, else the fields the template sends, else all."""
        if self.spec.compare:
            return list(self.spec.compare)
        if self.spec.template is not None:
            sent = placeholders(self.spec.template)
            return [c for c in self.columns if c in sent]
        return list(self.columns)

    def _differences(self, row: dict[str, Any], held: Any) -> list[tuple[str, Any, Any]]:
        fields = self._compared()
        out = []
        for f in fields:
            got = dig(held, self.spec.read_back.get(f, f)) if isinstance(held, dict) else None
            if canonical(got) != canonical(row.get(f)):
                out.append((f, row.get(f), got))
        return out

    # -- writing -----------------------------------------------------------------------------------
    def write(
        self, rows: list[dict[str, Any]], position: Any, *, dry_run: bool, pending: PendingChange | None = None
    ) -> Outcome:
        """``pending`` is kept by the engine for this target (it has no transaction to put it in)."""
        return asyncio.run(self._write(rows, dry_run))

    async def _write(self, rows: list[dict[str, Any]], dry_run: bool) -> Outcome:
        out = Outcome()
        limiter = RateLimiter(self.system.rate_limit)
        gate = asyncio.Semaphore(self.system.concurrency)
        failures: list[str] = []
        async with self.ctx.async_http(self.spec.system) as client:

            async def one(row: dict[str, Any]) -> None:
                async with gate:
                    await self._one(client, limiter, row, out, failures, dry_run)

            await asyncio.gather(*(one(r) for r in rows))
        if not dry_run:
            self.ctx.checkpoint.set(self._ids_key, self.ids)
        checked = len(rows) - len(out.rejected)
        out.proof = {"source_count": checked, "target_count": checked - len(failures), "read_back": True}
        if failures:
            raise ProofError(
                f"proof failed on {self.spec.path}: {len(failures)} of {checked} records read back differ: "
                + "; ".join(failures[:20]),
                [],
            )
        return out

    async def _one(
        self,
        client: httpx.AsyncClient,
        limiter: RateLimiter,
        row: dict[str, Any],
        out: Outcome,
        failures: list[str],
        dry_run: bool,
    ) -> None:
        label = self._label(row)
        target_id = self.ids.get(label)
        if target_id is None and self.spec.find_path:
            target_id = await self._find(client, limiter, row, label, out)
            if target_id is _DUPLICATED:
                return
        held = None
        if target_id is not None:
            await limiter.wait()
            current = await self._request(client, "GET", self._item(target_id), None)
            if current.status_code == 404:
                target_id = None  # deleted in the target: created again below
            elif current.status_code >= 400:
                raise TransientError(f"target {self.spec.system!r} answered {current.status_code} reading {label}")
            else:
                held = self._unwrap(current)
        if target_id is not None and held is not None:
            diffs = self._differences(row, held)
            if not diffs:
                out.unchanged += 1
                if not dry_run:
                    self.ids[label] = target_id
                return
            for f, new, old in diffs:
                out.diffs.append((key_of(row, self.key), f, old, new))
            if dry_run:
                out.updated += 1
                return
            await limiter.wait()
            resp = await self._request(client, self.spec.update_method, self._item(target_id), self._body(row))
            if self._refused(resp, row, out):
                return
            self.ids[label] = target_id
            kind = "updated"
        else:
            if dry_run:
                out.inserted += 1
                return
            await limiter.wait()
            resp = await self._request(client, "POST", self.spec.path, self._body(row))
            if self._refused(resp, row, out):
                return
            target_id = dig(self._unwrap(resp), self.spec.id_field)
            if target_id is None:
                location = resp.headers.get("location", "")
                target_id = location.rstrip("/").rsplit("/", 1)[-1].split(".")[0] or None
            if target_id is None:
                raise TransientError(f"target {self.spec.system!r} created {label} but said no id ({resp.status_code})")
            self._remember(label, target_id)
            kind = "inserted"
        if not self.proof:
            setattr(out, kind, getattr(out, kind) + 1)
            return
        await limiter.wait()
        back = await self._request(client, "GET", self._item(target_id), None)
        diffs = self._differences(row, self._unwrap(back)) if back.status_code == 200 else [("(record)", label, None)]
        if diffs:
            failures += [f"key {label} field {f}: sent {new!r}, read back {old!r}" for f, new, old in diffs]
            return
        setattr(out, kind, getattr(out, kind) + 1)

    def _remember(self, label: str, target_id: Any) -> None:
        """Save the new record's id at once. A kill before this line is what ``find_path`` is for:
        the re-run finds the record by the key the body carried and adopts it instead of creating
        a second one."""
        self.ids[label] = target_id
        self.ctx.checkpoint.set(self._ids_key, self.ids)

    async def _find(
        self, client: httpx.AsyncClient, limiter: RateLimiter, row: dict[str, Any], label: str, out: Outcome
    ) -> Any:
        """The target's id for a key it may already hold (created by a run killed before the id was
        saved, or by hand): None when it holds none; ``_DUPLICATED`` (and a reject) when several."""
        await limiter.wait()
        found = await self._request(client, "GET", self.spec.find_path.replace("{key}", label), None)  # type: ignore[union-attr]
        if found.status_code != 200:
            return None
        body = found.json() if self.spec.find_items else self._unwrap(found)
        if not self.spec.find_items:
            return dig(body, self.spec.id_field)
        items = dig(body, self.spec.find_items)
        if not isinstance(items, list):
            raise TransientError(
                f"target {self.spec.system!r}: {self.spec.find_path} answered no list at {self.spec.find_items!r}"
            )
        if len(items) > 1:
            ids = [dig(i, self.spec.id_field) for i in items]
            out.rejected.append(
                (
                    row,
                    ",".join(self.key),
                    f"the target already holds {len(items)} records with key {label} (ids {ids}); "
                    "none was written: which one is meant cannot be decided here",
                )
            )
            return _DUPLICATED
        return dig(items[0], self.spec.id_field) if items else None

    def _refused(self, resp: httpx.Response, row: dict[str, Any], out: Outcome) -> bool:
        if resp.status_code in (400, 404, 409, 422):
            reason = _errors_of(resp)
            fld = field_named(reason, self.columns, self.key)
            out.rejected.append((row, fld, f"target answered {resp.status_code}: {reason}"))
            return True
        if resp.status_code >= 400:
            raise TransientError(f"target {self.spec.system!r} answered {resp.status_code} for {self._label(row)}")
        return False

    async def _request(self, client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
        import httpx

        try:
            resp = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TransientError(f"target {self.spec.system!r} {method} {path}: {exc}") from None
        if resp.status_code in (429, 500, 502, 503, 504):
            raise TransientError(f"target {self.spec.system!r} still answered {resp.status_code} to {method} {path}")
        if resp.status_code in (401, 403):
            raise ConfigError(f"target {self.spec.system!r} refused the credentials ({resp.status_code}) on {path}")
        return resp

"""``tickets fill``: write the required fields of new tickets from their own text.

For each new ticket with an empty required field, the conversation is read, fields are extracted
(:mod:`bots.tickets.extract`), and only *empty* fields are written — a value a human typed is never
overwritten, and the write carries ``If-Match`` so a human editing at the same moment wins.
Values below the review threshold are not written: they are listed in the review field and the
comment for a person to confirm. The comment says what was filled and from which words.
The checkpoint records the write before the comment, so a crash between them ends in exactly one
comment on the next run. Only what the helpdesk confirmed (read back) is counted and commented: a
value RT refused is an error naming the ticket, the field, the value and RT's words, is not
recorded, and is tried again next run (the comment never repeats a value already commented).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from backroom.bots.sdk.checkpoint import Checkpoint
from backroom.bots.sdk.errors import BusinessError, TransientError
from backroom.bots.systems.helpdesk.base import ChangeRefused, Helpdesk, TicketChanged, TicketRecord
from backroom.bots.tickets.config import FillConfig
from backroom.bots.tickets.extract import Extraction, Extractor

__all__ = ["FillOutcome", "FillRow", "make_extractor", "run_fill"]


@dataclass
class FillRow:
    ticket_id: int
    status: str  # filled / review / nothing_to_fill / nothing_found / changed / error
    written: dict[str, str] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class FillOutcome:
    rows: list[FillRow] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def make_extractor(cfg: FillConfig, timezone: str) -> Extractor:
    return Extractor(
        patterns=cfg.patterns,
        category_rules=cfg.category_rules,
        urgency=cfg.urgency,
        products=cfg.products,
        timezone=timezone,
    )


def plan(
    ticket: TicketRecord, ex: Extraction, cfg: FillConfig
) -> tuple[dict[str, str], list[str], list[tuple[str | None, str]], list[str]]:
    """(writes by custom field, review notes, comment lines each with the field it reports or None,
    required fields still missing).

    A required field nothing confident was found for is listed in the review field, so the ticket
    shows a person what to complete (and the next run, seeing the review field set, writes nothing).
    """
    writes: dict[str, str] = {}
    review: list[str] = []
    lines: list[tuple[str | None, str]] = []
    missing: list[str] = []
    for name, cf in cfg.fields.items():
        if ticket.field_value(cf):
            continue  # a human (or an earlier run) filled it: never overwrite
        found = ex.fields.get(name)
        if found is None:
            if name in cfg.required:
                missing.append(name)
                review.append(f"{cf} missing")
                lines.append((None, f"- 未找到必填字段 {cf}，请人工补充"))
            continue
        shown = found.display()
        if found.confidence >= cfg.review_threshold:
            writes[cf] = shown
            lines.append((cf, f"- {cf} = {shown}（来源：“{found.source}”，置信度 {found.confidence:.2f}）"))
        else:
            review.append(f"{cf}?={shown}")
            lines.append(
                (None, f"- 待复核 {cf} = {shown}（置信度 {found.confidence:.2f} 低于 {cfg.review_threshold:.2f}）")
            )
            if name in cfg.required:
                missing.append(name)
    for fname, raw, why in ex.rejected:
        cf = cfg.fields.get(fname, fname)
        if not ticket.field_value(cf):
            review.append(f"{cf}!")
            lines.append((None, f"- 未填写 {cf}：“{raw}” {why}"))
    urgency = ex.fields.get("urgency")
    if (
        urgency
        and {"regulator", "media"} & set(urgency.value)
        and cfg.regulator_field
        and not ticket.field_value(cfg.regulator_field)
    ):
        writes[cfg.regulator_field] = "yes"
        lines.append((cfg.regulator_field, f"- {cfg.regulator_field} = yes（提及监管/媒体：{urgency.display()}）"))
    if review and cfg.review_field and not ticket.field_value(cfg.review_field):
        writes[cfg.review_field] = "; ".join(review)
    return writes, review, lines, missing


def _comment(lines: list[tuple[str | None, str]], confirmed: set[str], marker: str) -> str:
    """The comment for what the helpdesk confirmed (and the notes for a person), never for a refused value."""
    shown = [text for cf, text in lines if cf is None or cf in confirmed]
    return "Backroom 自动填写工单字段：\n" + "\n".join(shown) + f"\n{marker}"


async def _fill_one(
    hd: Helpdesk, extractor: Extractor, cfg: FillConfig, cp: Checkpoint, found: TicketRecord
) -> FillRow:
    key = f"fill:{found.id}"
    marker = f"[backroom:tickets-{found.id}-fill]"
    done = cp.get(key)
    if done and done.get("state") == "written":  # crashed between write and comment last time
        await hd.comment(found.id, done["comment"])
        cp.set(key, {**done, "state": "done"})
        return FillRow(found.id, "filled", done.get("fields", {}), detail="comment completed after restart")
    if not any(not found.field_value(cfg.fields[r]) for r in cfg.required if r in cfg.fields):
        return FillRow(found.id, "nothing_to_fill", detail="required fields already filled")
    text = await hd.text(found.id)
    for attempt in range(2):
        ticket = await hd.get(found.id)
        ex = extractor.extract(text, reference=ticket.created)
        writes, review, lines, missing = plan(ticket, ex, cfg)
        if not writes:
            return FillRow(
                found.id,
                "review" if missing else "nothing_found",
                review=review,
                missing=missing,
                detail="no confident value for any empty field",
            )
        cp.set(key, {"state": "writing", "fields": writes})
        refused: ChangeRefused | None = None
        try:
            await hd.update(found.id, {"CustomFields": writes}, if_match=ticket.etag)
            confirmed = dict(writes)
        except TicketChanged:
            if attempt == 0:
                continue  # someone typed at the same moment: read again, fill only what is still empty
            cp.delete(key)
            return FillRow(found.id, "changed", detail="ticket kept changing while filling; left to humans")
        except ChangeRefused as exc:
            # what landed is what RT shows now; the refused values stay unrecorded and are retried next run
            refused = exc
            now = exc.current.fields if exc.current else {}
            confirmed = {cf: v for cf, v in writes.items() if (now.get(cf) or "").strip() == v.strip()}
        if not confirmed:
            cp.delete(key)
            assert refused is not None
            return FillRow(found.id, "error", review=review, missing=missing, detail=str(refused))
        comment = _comment(lines, set(confirmed), marker)
        cp.set(key, {"state": "written", "fields": confirmed, "comment": comment})
        await hd.comment(found.id, comment)
        cp.set(key, {"state": "done", "fields": confirmed, "comment": comment})
        if refused is not None:
            return FillRow(found.id, "error", confirmed, review, missing, detail=str(refused))
        status = "review" if review or missing else "filled"
        return FillRow(found.id, status, confirmed, review, missing)
    raise AssertionError("unreachable")  # pragma: no cover


async def run_fill(
    hd: Helpdesk,
    cfg: FillConfig,
    cp: Checkpoint,
    *,
    timezone: str,
    concurrency: int = 8,
    limit: int | None = None,
    only: int | None = None,
    log: logging.Logger | None = None,
    progress: Any = None,
) -> FillOutcome:
    """Fill every ticket the query finds; ``progress`` (a ``ctx.progress`` bar) advances per ticket."""
    log = log or logging.getLogger(__name__)
    extractor = make_extractor(cfg, timezone)
    query = cfg.query if only is None else f"{cfg.query} AND id = {only}"
    tickets = await hd.search(query)
    if limit is not None:
        tickets = tickets[:limit]
    sem = asyncio.Semaphore(concurrency)
    out = FillOutcome()
    if progress is not None:
        progress.total = len(tickets)

    async def guarded(t: TicketRecord) -> FillRow:
        async with sem:
            try:
                return await _fill_one(hd, extractor, cfg, cp, t)
            except (BusinessError, TransientError) as exc:
                log.warning("ticket %s: %s", t.id, exc)
                return FillRow(t.id, "error", detail=str(exc))
            finally:
                if progress is not None:
                    progress.advance()

    out.rows = list(await asyncio.gather(*(guarded(t) for t in tickets)))
    for row in out.rows:
        out.counts[row.status] += 1
    return out


def rows_for_report(outcome: FillOutcome) -> list[list[Any]]:
    return [
        [r.ticket_id, r.status, r.written, ", ".join(r.review), ", ".join(r.missing), r.detail] for r in outcome.rows
    ]

"""``tickets autoclose``: select resolved simple complaints, call back, close, archive.

The work is a state machine per ticket (see :mod:`bots.tickets.state`), driven concurrently by
asyncio with a bound on tickets in flight; the adapters' rate limiters keep the helpdesk and the
dialer within their limits. Every remote action is announced in the state row (with its
idempotency key) before it is made and confirmed after, so a re-run continues where a crashed
run stopped: a callback is re-requested with the *same* key (the dialer returns the same task), a
close is never sent to a ticket that is already closed, and a confirmation comment carries a
marker that is looked for before posting it again.

A ticket a human touched after it was selected (its ``LastUpdated`` moved, or ``If-Match`` fails)
is skipped and reported, never overwritten.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backroom.bots.sdk.calendar import cn_holiday_name, is_cn_workday
from backroom.bots.sdk.errors import BusinessError, TransientError
from backroom.bots.systems.dialer.base import Dialer, DoNotCall
from backroom.bots.systems.helpdesk.base import Helpdesk, TicketChanged, TicketRecord
from backroom.bots.tickets.archive import ArchiveError, write_archive
from backroom.bots.tickets.config import AutocloseConfig
from backroom.bots.tickets.extract import normalize_mobile
from backroom.bots.tickets.state import TERMINAL, StateStore

__all__ = ["Autoclose", "AutocloseOutcome", "Decision", "calling_allowed", "public_holiday"]


@dataclass
class Decision:
    ticket_id: int
    taken: bool
    reason: str
    subject: str = ""


@dataclass
class AutocloseOutcome:
    decisions: list[Decision] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    events: list[tuple[int, str, str]] = field(default_factory=list)  # (ticket, action, detail)
    final: dict[int, dict[str, Any]] = field(default_factory=dict)


def public_holiday(day: dt.date) -> str | None:
    """The name of the Chinese public holiday on ``day``, or None (see :mod:`backroom.bots.sdk.calendar`)."""
    return cn_holiday_name(day)


def calling_allowed(now: dt.datetime, config: AutocloseConfig, tz: ZoneInfo) -> tuple[bool, str]:
    """Whether a customer may be called at ``now``: quiet hours, public holidays, weekends."""
    local = now.astimezone(tz)
    whole_day = config.quiet_start == config.quiet_end  # e.g. 00:00-00:00: no quiet hours at all
    if not whole_day and not (config.quiet_start <= local.time() < config.quiet_end):
        return False, f"quiet hours: calls only {config.quiet_start:%H:%M}-{config.quiet_end:%H:%M} local"
    if config.skip_public_holidays:
        name = public_holiday(local.date())
        if name:
            return False, f"public holiday ({name}): no calls"
    if not config.call_on_weekends and local.weekday() >= 5 and not is_cn_workday(local.date()):
        return False, "weekend: no calls"
    return True, ""


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
    return value


def _marker(ticket_id: int, action: str) -> str:
    return f"[backroom:tickets-{ticket_id}-{action}]"


class Autoclose:
    """One run of the autoclose job. Build it with the run's adapters, call :meth:`run`."""

    def __init__(
        self,
        *,
        helpdesk: Helpdesk,
        dialer: Dialer,
        store: StateStore,
        config: AutocloseConfig,
        clock: Callable[[], dt.datetime],
        timezone: ZoneInfo,
        run_id: str,
        archive_root: Path,
        cursor: tuple[Callable[[], int], Callable[[int], None]],
        log: logging.Logger | None = None,
        callback_url: str | None = None,
        limit: int | None = None,
        only: int | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Any = None,
        recheck: list[int] | None = None,
    ) -> None:
        self.hd, self.dialer, self.store, self.cfg = helpdesk, dialer, store, config
        self.clock, self.tz, self.run_id = clock, timezone, run_id
        self.archive_root = archive_root
        self.get_cursor, self.set_cursor = cursor
        self.log = log or logging.getLogger(__name__)
        self.callback_url = callback_url
        self.limit, self.only = limit, only
        self.recheck = list(recheck or [])
        self.cancelled = cancelled
        self.progress = progress  # a ctx.progress bar: tickets moved on by this run's first pass
        self._first_pass = True
        self.sem = asyncio.Semaphore(config.concurrency)
        self.out = AutocloseOutcome()
        self.rows: dict[int, dict[str, Any]] = {}
        self.dnc: set[str] = set()

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> AutocloseOutcome:
        self.rows = self.store.rows()
        self._requeue()
        dnc = {n for n in (normalize_mobile(x) or x for x in self.cfg.do_not_call)}
        dnc |= await self.dialer.do_not_call()
        self.dnc = dnc
        await self._select(dnc)
        await self._poll()
        await self._advance_all()
        deadline = asyncio.get_running_loop().time() + self.cfg.wait_for_outcomes_s
        while self._waiting() and asyncio.get_running_loop().time() < deadline and not self.cancelled():
            await asyncio.sleep(self.cfg.poll_interval_s)
            await self._poll()
            if self._answered():  # by polling or by the webhook receiver, whichever came first
                await self._advance_all()
        self.rows = self.store.rows()
        for tid, row in self.rows.items():
            if row.get("run_id") == self.run_id or tid in {d.ticket_id for d in self.out.decisions if d.taken}:
                self.out.final[tid] = row
        self.out.counts["waiting_for_outcome"] = sum(
            1 for r in self.rows.values() if r["state"] in ("callback_requested", "requesting")
        )
        return self.out

    def _requeue(self) -> None:
        """``recheck``: an operator wants these tickets redone. Each row keeps its attempts (so callback
        keys stay unique) and gets an audit entry; the rules decide again whether it is taken."""
        now = self.clock()
        for tid in self.recheck:
            row = self.rows.get(tid)
            if row is None:
                why = "recheck: autoclose has no record of it; the rules decide as for any ticket"
                self.out.events.append((tid, "recheck", why))
                continue
            entry = {"requeued_from": row["state"], "run_id": self.run_id, "at": now.isoformat()}
            why = f"requeued by the operator (run {self.run_id}) from state {row['state']}"
            self.store.put(
                tid,
                state="requeued",
                reason=why,
                run_id=self.run_id,
                attempts_log=[*(row.get("attempts_log") or []), entry],
            )
            self.log.info("ticket %s: %s", tid, why)
            self.out.counts["requeued"] += 1
            self.out.events.append((tid, "requeued", why))
        if self.recheck:
            self.rows = self.store.rows()

    def _answered(self) -> bool:
        self.events = self.store.events_by_key()
        return any(
            r["state"] == "callback_requested" and (r["attempt_key"] or "") in self.events for r in self.rows.values()
        )

    def _waiting(self) -> bool:
        return any(r["state"] == "callback_requested" for r in self.rows.values())

    # -- selection -------------------------------------------------------------------------
    def decide(self, t: TicketRecord, dnc: set[str], now: dt.datetime) -> tuple[bool, str, str | None]:
        """(taken, reason, normalized phone). Rules come from config; the reason names the rule."""
        cfg = self.cfg
        resolved = t.resolved or t.last_updated
        if t.status != "resolved":
            return False, f"status is {t.status}, not resolved", None
        if resolved is None or now - resolved < dt.timedelta(hours=cfg.min_age_hours):
            return False, f"resolved less than {cfg.min_age_hours:g} h ago", None
        category = t.field_value(cfg.category_field)
        if category not in cfg.simple_categories:
            return False, f"category {category or '(empty)'!r} is not in the simple list", None
        for name in cfg.escalation_fields:
            if t.field_value(name) and t.field_value(name).lower() not in ("no", "0", "false"):
                return False, f"{name} flag is set", None
        amount = t.amount(cfg.amount_field)
        if t.field_value(cfg.amount_field) and amount is None:
            return False, f"amount {t.field_value(cfg.amount_field)!r} is not a number", None
        if amount is not None and amount >= cfg.max_amount:
            return False, f"amount {amount} is not under {cfg.max_amount}", None
        raw_phone = t.field_value(cfg.phone_field)
        phone = normalize_mobile(raw_phone)
        if not phone:
            return False, f"phone number {raw_phone!r} is missing or malformed", None
        vip = t.field_value(cfg.vip_field)
        if (vip and vip.lower() not in ("no", "0", "false")) or phone in {normalize_mobile(v) for v in cfg.vip_numbers}:
            return False, "customer is VIP", None
        if phone in dnc:
            return False, "customer is on the do-not-call list", None
        return True, "resolved simple complaint, all rules passed", phone

    async def _select(self, dnc: set[str]) -> None:
        now = self.clock()
        query = self.cfg.query if self.only is None else f"{self.cfg.query} AND id = {self.only}"
        found = await self.hd.search(query)
        taken = 0
        for t in found:
            if t.id in self.rows and self.rows[t.id]["state"] != "requeued":  # resumed below, never selected twice
                state = self.rows[t.id]["state"]
                if state == "archived" and not self._final(t):
                    self._reverify(t)
                    continue
                if state in TERMINAL:
                    reason = f"already handled by autoclose ({state}); left to humans"
                    self.out.decisions.append(Decision(t.id, False, reason, t.subject))
                    self.out.counts["already_handled"] += 1
                continue
            ok, reason, phone = self.decide(t, dnc, now)
            if ok and self.limit is not None and taken >= self.limit:
                ok, reason = False, f"run limit of {self.limit} tickets reached"
            self.out.decisions.append(Decision(t.id, ok, reason, t.subject))
            self.out.counts["taken" if ok else "skipped"] += 1
            if ok:
                taken += 1
                seen = t.last_updated.isoformat() if t.last_updated else ""
                self.store.put(
                    t.id,
                    state="taken",
                    phone=phone,
                    subject=t.subject,
                    seen=seen,
                    run_id=self.run_id,
                    reason=reason,
                    attempts_log=(self.rows.get(t.id) or {}).get("attempts_log") or [],
                )
        self.rows = self.store.rows()

    def _final(self, t: TicketRecord) -> bool:
        """Whether the helpdesk shows ``t`` in the configured final state (closed and archived)."""
        if self.cfg.archive.action == "none":
            return t.status == self.cfg.closed_status
        return self.cfg.archive.done(t)

    def _reverify(self, t: TicketRecord) -> None:
        """A ticket recorded archived that the helpdesk does not show so (an earlier run counted a
        refused write): resumed from the close, which reads the ticket again and comments only once."""
        why = (
            f"re-verify: recorded archived, but the helpdesk shows status {t.status!r} in queue {t.queue!r};"
            " resumed from the close"
        )
        seen = t.last_updated.isoformat() if t.last_updated else ""
        self.store.put(t.id, state="closing", seen=seen, reason=why, run_id=self.run_id)
        self.out.counts["reverified"] += 1
        self.out.events.append((t.id, "reverified", why))
        self.out.decisions.append(Decision(t.id, True, why, t.subject))

    # -- outcomes --------------------------------------------------------------------------
    async def _poll(self) -> int:
        """Pull new outcome events from the dialer's feed into the events table; returns how many."""
        cursor = self.get_cursor()
        fresh = 0
        while True:
            items, nxt = await self.dialer.outcomes(cursor)
            for item in items:
                fresh += self.store.add_event(item, "poll")
            if nxt == cursor:
                break
            cursor = nxt
            self.set_cursor(cursor)
            if not items:
                break
        return fresh

    # -- advancing tickets -----------------------------------------------------------------
    async def _advance_all(self) -> None:
        self.events = self.store.events_by_key()
        ids = [tid for tid, row in self.rows.items() if row["state"] not in TERMINAL]
        if self.only is not None:
            ids = [i for i in ids if i == self.only]
        if self.progress is not None and self._first_pass:
            self.progress.total = len(ids)
        results = await asyncio.gather(*(self._guarded(tid) for tid in ids), return_exceptions=True)
        self._first_pass = False
        for tid, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, (TransientError, BusinessError)):
                    self.out.events.append((tid, "error", str(result)))
                    self.out.counts["errors"] += 1
                    self.log.warning("ticket %s: %s", tid, result)
                else:
                    raise result
        self.rows = self.store.rows()

    async def _guarded(self, tid: int) -> None:
        async with self.sem:
            if self.cancelled():
                return
            try:
                await self._advance(tid)
            finally:
                if self.progress is not None and self._first_pass:
                    self.progress.advance()

    def _put(self, tid: int, **values: Any) -> dict[str, Any]:
        values["run_id"] = self.run_id
        self.store.put(tid, **values)
        row = {**self.rows.get(tid, {}), **values}
        self.rows[tid] = row
        return row

    async def _advance(self, tid: int) -> None:
        """Push one ticket as far as it can go now. Each branch is safe to re-enter after a crash."""
        for _ in range(8):
            row = self.rows[tid]
            state = row["state"]
            if state in ("taken", "retry_wait", "requesting"):
                if not await self._request(tid, row):
                    return
            elif state == "callback_requested":
                event = self.events.get(row["attempt_key"] or "")
                if event is None:
                    return
                self._apply_outcome(tid, row, event)
            elif state in ("satisfied", "closing", "closed_uncommented", "no_answer_close"):
                await self._close(tid, row)
            elif state in ("unsatisfied", "reopening", "handoff"):
                await self._reopen(tid, row)
            elif state in ("closed", "archiving"):
                await self._archive(tid, row)
            else:
                return
            if self.rows[tid]["state"] == state:
                return

    async def _request(self, tid: int, row: dict[str, Any]) -> bool:
        now = self.clock()
        if row["state"] == "retry_wait":
            due = _aware(row.get("next_attempt_at"))
            if due is not None and now < due:
                return False
        if row["state"] != "requesting" and row.get("phone") in self.dnc:  # listed since selection
            self._put(tid, state="skipped_dnc", reason="customer was put on the do-not-call list")
            self.out.counts["skipped_dnc"] += 1
            return False
        if row["state"] != "requesting":
            allowed, why = calling_allowed(now, self.cfg, self.tz)
            if not allowed:
                self.out.counts["deferred_quiet_hours"] += 1
                self.out.events.append((tid, "deferred", why))
                return False
            attempt = int(row.get("attempt") or 0) + 1
            key = f"tickets-{tid}-callback-{attempt}"
            row = self._put(tid, state="requesting", attempt=attempt, attempt_key=key)
        script = self.cfg.script.format(id=tid, subject=row.get("subject") or "")
        hours = f"{self.cfg.quiet_start:%H:%M}-{self.cfg.quiet_end:%H:%M}"
        try:
            task = await self.dialer.request_callback(
                number=row["phone"],
                script=script,
                ticket_ref=str(tid),
                key=row["attempt_key"],
                allowed_hours=hours,
                channel=self.cfg.channel,
                callback_url=self.callback_url,
            )
        except DoNotCall as exc:
            self._put(tid, state="skipped_dnc", reason=str(exc))
            self.out.counts["skipped_dnc"] += 1
            self.out.events.append((tid, "skipped", str(exc)))
            return False
        log = [
            *(row.get("attempts_log") or []),
            {"attempt": row["attempt"], "task_id": task.id, "key": row["attempt_key"], "at": now.isoformat()},
        ]
        self._put(tid, state="callback_requested", task_id=task.id, attempts_log=log)
        self.out.counts["called"] += 1
        self.out.events.append((tid, "called", f"attempt {row['attempt']} task {task.id}"))
        return True

    def _apply_outcome(self, tid: int, row: dict[str, Any], event: dict[str, Any]) -> None:
        outcome, note = event["outcome"], event.get("note") or ""
        log = [dict(a) for a in row.get("attempts_log") or []]
        for entry in log:
            if entry.get("key") == row["attempt_key"]:
                entry.update(outcome=outcome, note=note, answered_at=event.get("occurred_at"))
        values: dict[str, Any] = {"outcome": outcome, "note": note, "attempts_log": log}
        if outcome == "satisfied":
            values["state"] = "satisfied"
        elif outcome == "unsatisfied":
            values["state"] = "unsatisfied"
        elif outcome == "invalid_number":
            values.update(state="handoff", note="invalid phone number")
        elif int(row["attempt"]) < self.cfg.max_attempts:
            values.update(
                state="retry_wait",
                next_attempt_at=self.clock() + dt.timedelta(minutes=self.cfg.attempt_spacing_minutes),
            )
        elif self.cfg.no_answer_policy == "close":
            values["state"] = "no_answer_close"
        else:
            values.update(state="handoff", note=f"no answer after {row['attempt']} attempts")
        self._put(tid, **values)
        self.out.counts[f"outcome_{outcome}"] += 1
        self.out.events.append((tid, "outcome", f"{outcome} {note}".strip()))

    async def _fresh(self, tid: int, row: dict[str, Any]) -> TicketRecord | None:
        """The ticket now, or None (and the row skipped) when a human changed it since selection."""
        ticket = await self.hd.get(tid)
        seen = row.get("seen") or ""
        now_seen = ticket.last_updated.isoformat() if ticket.last_updated else ""
        if ticket.status != "resolved" or (seen and now_seen != seen):
            why = f"changed by someone else since selection (status {ticket.status}, updated {now_seen})"
            self._put(tid, state="skipped_changed", reason=why)
            self.out.counts["skipped_changed"] += 1
            self.out.events.append((tid, "skipped", why))
            return None
        return ticket

    async def _has_marker(self, tid: int, marker: str) -> bool:
        return any(marker in text for text in await self.hd.comments(tid))

    async def _close(self, tid: int, row: dict[str, Any]) -> None:
        state = row["state"]
        marker = _marker(tid, "close")
        closed = self.cfg.closed_status
        if state in ("satisfied", "no_answer_close"):
            ticket = await self._fresh(tid, row)
            if ticket is None:
                return
            reverified = "re-verify" in (row.get("reason") or "")
            reason = "no_answer" if state == "no_answer_close" else "satisfied"
            row = self._put(tid, state="closing", reason=reason)
            if ticket.status != closed:  # on a stock RT a resolved ticket is already closed
                try:
                    await self.hd.update(tid, {"Status": closed}, if_match=ticket.etag)
                except TicketChanged as exc:
                    self._put(tid, state="skipped_changed", reason=str(exc))
                    self.out.counts["skipped_changed"] += 1
                    return
            row = self._put(tid, state="closed_uncommented")
            if reverified and marker in "\n".join(await self.hd.comments(tid)):
                self._put(tid, state="closed")
                return
        elif state == "closing":  # resumed after a crash (or a re-verify): the close may or may not have landed
            ticket = await self.hd.get(tid)
            if ticket.status != closed and ticket.status == "resolved":
                self._put(tid, state="no_answer_close" if row.get("reason") == "no_answer" else "satisfied")
                return
            if ticket.status != closed:
                self._put(tid, state="skipped_changed", reason=f"status became {ticket.status} while closing")
                self.out.counts["skipped_changed"] += 1
                return
            row = self._put(tid, state="closed_uncommented")
            if await self._has_marker(tid, marker):
                self._put(tid, state="closed")
                return
        elif state == "closed_uncommented" and await self._has_marker(tid, marker):
            self._put(tid, state="closed")
            return
        attempts = len(row.get("attempts_log") or [])
        if row.get("reason") == "no_answer":
            text = f"回访{attempts}次均未接通，按策略关闭工单。{marker}"
        else:
            text = f"客户回访确认满意（第{row.get('attempt')}次回访，任务{row.get('task_id')}），工单关闭。{marker}"
        await self.hd.comment(tid, text)
        self._put(tid, state="closed")
        self.out.counts["closed"] += 1
        self.out.events.append((tid, "closed", row.get("reason") or "satisfied"))

    async def _reopen(self, tid: int, row: dict[str, Any]) -> None:
        state = row["state"]
        marker = _marker(tid, "reopen")
        handoff = state == "handoff" or row.get("reason") == "handoff"
        if state in ("unsatisfied", "handoff"):
            ticket = await self._fresh(tid, row)
            if ticket is None:
                return
            self._put(tid, state="reopening", reason="handoff" if handoff else "unsatisfied")
            changes: dict[str, Any] = {"Status": "open", "Queue": self.cfg.human_queue}
            if not handoff:
                changes["Priority"] = ticket.priority + self.cfg.raise_priority_by
            try:
                await self.hd.update(tid, changes, if_match=ticket.etag)
            except TicketChanged as exc:
                self._put(tid, state="skipped_changed", reason=str(exc))
                self.out.counts["skipped_changed"] += 1
                return
        elif await self._has_marker(tid, marker):
            self._put(tid, state="handed_off" if handoff else "reopened")
            return
        else:
            ticket = await self.hd.get(tid)
            if ticket.status == "resolved":
                self._put(tid, state="handoff" if handoff else "unsatisfied")
                return
        note = row.get("note") or ""
        if handoff:
            text = f"自动回访未完成（{note}），转人工队列{self.cfg.human_queue}处理。{marker}"
        else:
            text = f"客户回访不满意，已重新打开并提高优先级。客户原话：{note}{marker}"
        await self.hd.comment(tid, text)
        final = "handed_off" if handoff else "reopened"
        self._put(tid, state=final)
        self.out.counts[final] += 1
        self.out.events.append((tid, final, note))

    async def _archive(self, tid: int, row: dict[str, Any]) -> None:
        ticket = await self.hd.get(tid)
        archive = self.cfg.archive
        if archive.action != "none" and archive.done(ticket):
            self._put(tid, state="archived")
            return
        if row["state"] != "archiving":
            row = self._put(tid, state="archiving")
        history = await self.hd.history(tid)
        now = self.clock()
        record = {
            "ticket": ticket.as_dict(),
            "history": [h.as_dict() for h in history],
            "callbacks": row.get("attempts_log") or [],
            "outcome": row.get("outcome"),
            "note": row.get("note") or "",
            "archived_at": now.isoformat(),
            "run_id": self.run_id,
        }
        try:
            files = await asyncio.to_thread(write_archive, self.archive_root, record, when=now.astimezone(self.tz))
        except ArchiveError as exc:
            self._put(tid, state="closed", reason=f"archive failed: {exc}")
            self.out.counts["archive_failed"] += 1
            self.out.events.append((tid, "archive_failed", str(exc)))
            return
        self.store.index_archive(
            tid,
            json_path=str(files.json_path),
            html_path=str(files.html_path),
            sha256=files.sha256,
            html_sha256=files.html_sha256,
            size=files.size,
        )
        changes = archive.changes(files.sha256)
        if changes:  # read back by the adapter: a refused move is ChangeRefused and the row stays archiving
            await self.hd.update(tid, changes, if_match=ticket.etag)
        self._put(tid, state="archived", archive_path=str(files.json_path), sha256=files.sha256)
        self.out.counts["archived"] += 1
        self.out.events.append((tid, "archived", str(files.json_path)))

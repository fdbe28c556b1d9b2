"""The payslips bot (工资单发放): check a month's payroll sheet, then send each employee a payslip.

One run:

1. reads the payroll sheet (two-row merged headers, hidden columns, totals row; or its GBK CSV),
   the HR roster and, if given, a year-to-date sheet;
2. checks the batch (:mod:`backroom.bots.payslips.checks`). A batch with any error sends nothing,
   except to the employees an operator names in ``override``;
3. records the month's tax figures (so next month's 累计预扣法 needs no year-to-date sheet);
4. per employee released: renders the encrypted PDF, and sends it to the roster's address under the
   key ``month:employee:version``, written before sending and confirmed by the server's 250. A payslip
   already sent with the same figures is skipped; changed figures go out as a marked correction
   (the next version); a send whose outcome is unknown is never repeated without a person;
5. writes the summary workbook. Logs and the run summary carry counts only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backroom.bots.formats.payroll import read_payroll
from backroom.bots.payslips.channels import Channel, EmailChannel, WecomChannel, address_of, mask_address
from backroom.bots.payslips.checks import Issue, Line, check_batch, parse_lines
from backroom.bots.payslips.config import PayslipsConfig, PayslipsParams
from backroom.bots.payslips.render import Payslip, password_for, render_pdf
from backroom.bots.payslips.roster import RosterEntry, read_roster, read_ytd
from backroom.bots.payslips.state import PayslipStore
from backroom.bots.payslips.workbook import Delivery, write_summary
from backroom.bots.sdk.bot import Bot, Result

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Payslips", "mask_email"]


def mask_email(address: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com``: enough to tell who, not enough to harvest."""
    return mask_address(address) or "***"


def _digest(slip: Payslip) -> str:
    """Over what the payslip states (company, month, employee, figures): a change makes a correction."""
    line = slip.line
    payload = {"company": slip.company, "month": slip.month, "no": line.employee_no, "name": line.name}
    payload.update(line.figures())
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Payslips(Bot[PayslipsParams, PayslipsConfig]):
    name = "payslips"
    summary = "Check the month's payroll sheet (sums, totals, 个税, contributions) and e-mail encrypted payslips"
    Params = PayslipsParams
    Config = PayslipsConfig
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context[PayslipsConfig], params: PayslipsParams) -> Result:
        config = ctx.config
        day = params.month or ctx.local_now().date()
        month = f"{day:%Y-%m}"
        store = PayslipStore(ctx.engine)

        sheet = read_payroll(
            ctx.file(params.payroll), sheet=config.sheet, header_rows=config.header_rows, encoding=config.encoding
        )
        roster = read_roster(ctx.file(params.roster), config.roster_columns)
        prior = store.prior(day.year, day.month)
        if params.ytd is not None:
            prior.update(read_ytd(ctx.file(params.ytd), config.ytd_columns))
        lines, issues = parse_lines(sheet, config.columns)
        issues += check_batch(sheet, lines, config, roster, prior)
        ctx.log.info(
            "payslips %s: %d employees in %s, %d check failures, %d hidden columns",
            month,
            len(lines),
            sheet.file,
            len(issues),
            len(sheet.hidden),
        )

        override = set(params.override)
        unknown = override - {line.employee_no for line in lines}
        if unknown:
            issues.append(
                Issue(
                    sheet.file,
                    sheet.sheet,
                    0,
                    "",
                    "",
                    "override",
                    f"overrides name employees not in the sheet: {', '.join(sorted(unknown))}",
                )
            )
        released = [line for line in lines if not issues or line.employee_no in override]
        released_ids = {line.employee_no for line in released}
        deliveries = [
            Delivery(
                line.employee_no,
                line.name,
                line.department,
                0,
                False,
                "held",
                "",
                None,
                None,
                "; ".join(i.column for i in issues if i.employee_no == line.employee_no) or "batch has errors",
            )
            for line in lines
            if line.employee_no not in released_ids
        ]

        writing = not ctx.dry_run and not params.check_only
        if writing and released:
            now = ctx.now()
            store.record_month(
                day.year,
                day.month,
                {
                    line.employee_no: {
                        "income": line.gross,
                        "special": line.special,
                        "additional": line.additional,
                        "withheld": line.iit,
                    }
                    for line in released
                },
                ctx.run_id,
                now,
            )

        if released:
            deliveries += self._deliver(ctx, config, store, month, released, roster, send=writing)

        book = write_summary(ctx.artifact(f"payslips-{month}.xlsx"), month, lines, deliveries, issues, ctx.timezone)
        counts = {"employees": len(lines), "check_failures": len(issues)}
        for status in ("sent", "already_sent", "failed", "uncertain", "held", "no_address", "no_password", "checked"):
            counts[status] = sum(1 for d in deliveries if d.status == status)
        counts["corrections"] = sum(1 for d in deliveries if d.status == "sent" and d.correction)
        summary = (
            f"{month}: {counts['employees']} employees, {counts['check_failures']} check failures; "
            f"sent {counts['sent']} ({counts['corrections']} corrections), already sent {counts['already_sent']}, "
            f"failed {counts['failed']}, uncertain {counts['uncertain']}, held {counts['held']}"
        )
        ctx.log.info("payslips %s", summary)
        attention = sum(counts[k] for k in ("failed", "uncertain", "held", "no_address", "no_password"))
        return Result(
            status="failed" if attention else "succeeded",
            summary=summary,
            counts=counts,
            outputs={"workbook": str(book), "month": month},
        )

    def _deliver(
        self,
        ctx: Context[PayslipsConfig],
        config: PayslipsConfig,
        store: PayslipStore,
        month: str,
        released: list[Line],
        roster: dict[str, RosterEntry],
        *,
        send: bool,
    ) -> list[Delivery]:
        """Decide per employee (from the delivery log), render the PDFs in a pool, send one by one."""
        out: list[Delivery] = []
        plans: list[_Plan] = []
        for line in released:
            decided = self._plan(config, store, month, line, roster[line.employee_no])
            if isinstance(decided, Delivery):
                out.append(decided)
            else:
                plans.append(decided)
        if not send:
            for plan in plans:
                render_pdf(plan.slip, plan.password)  # a check run proves every payslip renders
                out.append(plan.delivery("checked"))
            return out

        system = ctx.system(config.mail_system)
        channel: Channel
        if config.channel == "wecom":
            channel = WecomChannel(system, ctx.secret)
        else:
            channel = EmailChannel(config, system, ctx.secret)
        try:
            with ctx.progress("sending payslips", total=len(plans)) as progress:
                for plan, pdf in zip(plans, _render_all(plans, config.workers), strict=True):
                    ctx.raise_if_cancelled()
                    out.append(self._send(ctx, store, month, plan, pdf, channel))
                    progress.advance()
        finally:
            channel.close()
        return out

    def _plan(
        self, config: PayslipsConfig, store: PayslipStore, month: str, line: Line, person: RosterEntry
    ) -> Delivery | _Plan:
        """What to do for one employee, from the delivery log: skip (a final Delivery) or send (a plan)."""
        address = address_of(config, person)
        blank = _Plan(Payslip(config.company, month, line), person, address, "", 0, False)
        if not address:
            return blank.delivery("no_address", detail=f"the HR roster has no {config.channel} address")
        latest = store.latest(month, line.employee_no)
        digest = _digest(blank.slip)
        if latest is not None and latest["status"] in ("sending", "uncertain"):
            blank.version, blank.correction = latest["version"], latest["version"] > 1
            return blank.delivery(
                "uncertain",
                detail="an earlier send may have been delivered; confirm with the employee before resending",
                attempted=latest["attempted_at"],
            )
        if latest is not None and latest["status"] == "sent" and latest["digest"] == digest:
            blank.version, blank.correction = latest["version"], latest["version"] > 1
            return blank.delivery("already_sent", attempted=latest["attempted_at"], sent=latest["sent_at"])
        if latest is None:
            version = 1
        elif latest["status"] == "sent":
            version = latest["version"] + 1  # the figures changed since: a correction
        else:
            version = latest["version"]  # it failed before the server took it: the same key again
        correction = store.latest_sent(month, line.employee_no) is not None
        try:
            password = password_for(person.id_number, config.password_rule)
        except ValueError as exc:
            return blank.delivery("no_password", detail=str(exc))
        slip = Payslip(config.company, month, line, correction=correction)
        return _Plan(slip, person, address, digest, version, correction, password)

    def _send(
        self,
        ctx: Context[PayslipsConfig],
        store: PayslipStore,
        month: str,
        plan: _Plan,
        pdf: bytes,
        channel: Channel,
    ) -> Delivery:
        line = plan.slip.line
        key = f"{month}:{line.employee_no}:{plan.version}"
        attempted = ctx.now()
        store.begin(
            key=key,
            month=month,
            employee_no=line.employee_no,
            version=plan.version,
            digest=plan.digest,
            recipient=mask_address(plan.address),
            message_id=f"<payslip.{hashlib.sha256(key.encode()).hexdigest()[:24]}@backroom>",
            run_id=ctx.run_id,
            attempted_at=attempted,
        )
        outcome = channel.send(plan.slip, pdf, plan.address, key)
        sent_at = ctx.now() if outcome.status == "sent" else None
        store.finish(key, outcome.status, outcome.detail, sent_at)
        if outcome.status != "sent":
            ctx.log.warning("payslips: %s for employee %s: %s", outcome.status, line.employee_no, outcome.detail)
        return plan.delivery(outcome.status, outcome.detail, attempted=attempted, sent=sent_at)


@dataclass
class _Plan:
    """One payslip to send: what it states, to whom, under which version of its key."""

    slip: Payslip
    person: RosterEntry
    address: str
    digest: str
    version: int
    correction: bool
    password: str = ""

    def delivery(self, status: str, detail: str = "", **times: dt.datetime | None) -> Delivery:
        line = self.slip.line
        return Delivery(
            line.employee_no,
            line.name,
            line.department,
            self.version,
            self.correction,
            status,
            mask_address(self.address),
            times.get("attempted"),
            times.get("sent"),
            detail,
        )


def _render_one(item: tuple[Payslip, str]) -> bytes:
    return render_pdf(*item)


def _render_all(plans: list[_Plan], workers: int) -> Iterator[bytes]:
    """The PDFs in plan order; in a process pool when there are enough of them to pay for one.

    Rendering is pure and CPU-bound (the AES-256 key derivation dominates), so it parallelises
    freely; sending stays in this process, one keyed message at a time.
    """
    items = [(plan.slip, plan.password) for plan in plans]
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(items) < 50:
        yield from map(_render_one, items)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=count) as pool:
        yield from pool.map(_render_one, items, chunksize=16)

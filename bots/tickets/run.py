"""Wiring one run of the tickets bot: adapters from the context, the job, the report, the message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from backroom.bots.sdk.bot import Result
from backroom.bots.systems.base import open_system
from backroom.bots.systems.dialer.base import Dialer
from backroom.bots.systems.helpdesk.base import Helpdesk
from backroom.bots.tickets.config import TicketsConfig, TicketsParams

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context
    from backroom.bots.tickets.autoclose import AutocloseOutcome
    from backroom.bots.tickets.fill import FillOutcome

__all__ = ["run_autoclose", "run_fill_action"]


def _dialer(ctx: Context[TicketsConfig], config: TicketsConfig) -> Dialer:
    return open_system(ctx, config.dialer, Dialer)


def _helpdesk(ctx: Context[TicketsConfig], config: TicketsConfig) -> Helpdesk:
    return open_system(ctx, config.helpdesk, Helpdesk)


def run_fill_action(ctx: Context, config: TicketsConfig, params: TicketsParams) -> Result:
    from backroom.bots.tickets.fill import run_fill

    async def go() -> FillOutcome:
        hd = _helpdesk(ctx, config)
        try:
            with ctx.progress("filling new tickets") as bar:
                return await run_fill(
                    hd,
                    config.fill,
                    ctx.checkpoint,
                    timezone=str(ctx.timezone),
                    concurrency=ctx.system(config.helpdesk).concurrency,
                    limit=params.limit,
                    only=params.ticket,
                    log=ctx.log,
                    progress=bar,
                )
        finally:
            await hd.aclose()

    outcome = asyncio.run(go())
    ctx.raise_if_cancelled()
    book = _fill_report(ctx, outcome)
    counts = dict(outcome.counts)
    summary = (
        f"{counts.get('filled', 0)} filled, {counts.get('review', 0)} need review, "
        f"{counts.get('nothing_to_fill', 0)} already complete, {counts.get('error', 0)} errors"
    )
    ctx.notify("工单字段自动填写 / tickets fill", summary, [book])
    return Result(
        summary=summary,
        counts=counts,
        outputs={"report": str(book)},
        status="failed" if counts.get("error") and len(counts) == 1 else "succeeded",
    )


def _fill_report(ctx: Context, outcome: FillOutcome) -> Path:
    from openpyxl import Workbook

    from backroom.bots.reports import RED_FILL, YELLOW_FILL, cell_value, highlight_rows, period_filename, write_table
    from backroom.bots.sdk.masking import mask_personal
    from backroom.bots.tickets.fill import rows_for_report

    wb = Workbook()
    ws = wb.active
    ws.title = "Fill"
    # the values written are 身份证号 and mobile numbers too: the report keeps their last four digits only
    rows = [
        [mask_personal(v) if isinstance(v := cell_value(value), str) else v for value in row]
        for row in rows_for_report(outcome)
    ]
    last = write_table(ws, ["Ticket", "Status", "Written", "Review", "Missing required", "Detail"], rows)
    highlight_rows(ws, "B", 2, last, "review", YELLOW_FILL)
    highlight_rows(ws, "B", 2, last, "error", RED_FILL)
    path = ctx.artifact(period_filename("工单字段填写", f"{ctx.local_now():%Y-%m-%d}"))
    wb.save(path)
    return path


def run_autoclose(ctx: Context, config: TicketsConfig, params: TicketsParams) -> Result:
    from contextlib import ExitStack

    from backroom.bots.tickets.autoclose import Autoclose
    from backroom.bots.tickets.state import StateStore
    from backroom.bots.tickets.webhook import serve

    cfg = config.autoclose
    store = StateStore(ctx.engine)
    root = ctx.folder(cfg.archive_dir, "archive")  # refused when config puts it outside the archive root
    cursor = (
        lambda: int(ctx.checkpoint.get("dialer_cursor", 0)),
        lambda value: ctx.checkpoint.set("dialer_cursor", value),
    )
    with ExitStack() as stack:
        callback_url = None
        if cfg.webhook.listen:
            secret = ctx.secret(cfg.webhook.secret) if cfg.webhook.secret else None
            callback_url = stack.enter_context(serve(store, secret, cfg.webhook.listen))
            callback_url = cfg.webhook.public_url or callback_url

        async def go() -> AutocloseOutcome:
            hd = _helpdesk(ctx, config)
            dialer = _dialer(ctx, config)
            try:
                job = Autoclose(
                    helpdesk=hd,
                    dialer=dialer,
                    store=store,
                    config=cfg,
                    clock=ctx.now,
                    timezone=ctx.timezone,
                    run_id=ctx.run_id,
                    archive_root=root,
                    cursor=cursor,
                    log=ctx.log,
                    callback_url=callback_url,
                    limit=params.limit,
                    only=params.ticket,
                    recheck=params.recheck,
                    cancelled=ctx.cancelled,
                    progress=bar,
                )
                return await job.run()
            finally:
                await hd.aclose()
                await dialer.aclose()

        with ctx.progress("calling back and closing tickets") as bar:
            outcome = asyncio.run(go())
    ctx.raise_if_cancelled()
    book = _autoclose_report(ctx, outcome)
    counts = {k: v for k, v in outcome.counts.items() if v}
    order = [
        "requeued",
        "taken",
        "reverified",
        "skipped",
        "called",
        "closed",
        "reopened",
        "handed_off",
        "archived",
        "skipped_changed",
        "archive_failed",
        "waiting_for_outcome",
        "errors",
    ]
    summary = ", ".join(f"{k} {counts[k]}" for k in order if counts.get(k)) or "nothing to do"
    ctx.notify("投诉工单自动回访结案 / tickets autoclose", summary, [book])
    return Result(summary=summary, counts=counts, outputs={"report": str(book)})


def _autoclose_report(ctx: Context, outcome: AutocloseOutcome) -> Path:
    from openpyxl import Workbook

    from backroom.bots.reports import GREEN_FILL, RED_FILL, YELLOW_FILL, highlight_rows, period_filename, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    write_table(ws, ["Count", "Value"], sorted(outcome.counts.items()))
    ws = wb.create_sheet("Decisions")
    last = write_table(
        ws,
        ["Ticket", "Subject", "Decision", "Reason"],
        [[d.ticket_id, d.subject, "taken" if d.taken else "skipped", d.reason] for d in outcome.decisions],
    )
    highlight_rows(ws, "C", 2, last, "taken", GREEN_FILL)
    ws = wb.create_sheet("Tickets")
    last = write_table(
        ws,
        ["Ticket", "State", "Attempts", "Task", "Outcome", "Customer note", "Reason", "Archive file", "SHA-256"],
        [
            [
                tid,
                r["state"],
                r.get("attempt"),
                r.get("task_id"),
                r.get("outcome"),
                r.get("note"),
                r.get("reason"),
                r.get("archive_path"),
                r.get("sha256"),
            ]
            for tid, r in sorted(outcome.final.items())
        ],
    )
    highlight_rows(ws, "B", 2, last, "reopened", YELLOW_FILL)
    highlight_rows(ws, "B", 2, last, "skipped_changed", RED_FILL)
    ws = wb.create_sheet("Actions")
    write_table(ws, ["Ticket", "Action", "Detail"], outcome.events)
    path = ctx.artifact(period_filename("投诉工单回访结案", f"{ctx.local_now():%Y-%m-%d}"))
    wb.save(path)
    return path

"""The tickets bot: fill complaint tickets from their text; call back, close and archive.

``backroom run tickets --param action=fill`` fills empty required fields of new complaint tickets
from their conversation (never overwriting a human's value; low confidence goes to review).
``backroom run tickets --param action=autoclose`` selects resolved simple complaints by the rules
in config, asks the call platform to call each customer back (quiet hours, holidays, do-not-call,
attempt limits), closes on a satisfied answer, reopens on an unsatisfied one, archives closed
tickets as verified JSON + HTML, and writes an Excel report of every decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.tickets.config import TicketsConfig, TicketsParams

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Tickets", "TicketsConfig", "TicketsParams"]


class Tickets(Bot[TicketsParams, TicketsConfig]):
    name: ClassVar[str] = "tickets"
    summary: ClassVar[str] = "Fill complaint tickets from their text; call back, close and archive resolved ones"
    Params = TicketsParams
    Config = TicketsConfig
    idempotent: ClassVar[bool] = True

    @classmethod
    def online_needs(cls, config: TicketsConfig) -> dict[str, tuple[str, dict[str, Any]]]:
        """What ``backroom check --online`` verifies: the helpdesk's queues, fields, values, statuses."""
        from backroom.bots.tickets.online import helpdesk_needs

        return {config.helpdesk: ("helpdesk", helpdesk_needs(config)), config.dialer: ("dialer", {})}

    def run(self, ctx: Context[TicketsConfig], params: TicketsParams) -> Result:
        from backroom.bots.tickets.run import run_autoclose, run_fill_action

        config = ctx.config
        if params.action == "fill":
            return run_fill_action(ctx, config, params)
        if params.action == "autoclose":
            return run_autoclose(ctx, config, params)
        filled = run_fill_action(ctx, config, params)
        closed = run_autoclose(ctx, config, params)
        return Result(
            summary=f"fill: {filled.summary}; autoclose: {closed.summary}",
            counts={**{f"fill_{k}": v for k, v in filled.counts.items()}, **closed.counts},
            outputs={"fill_report": filled.outputs["report"], "report": closed.outputs["report"]},
            status="failed" if "failed" in (filled.status, closed.status) else "succeeded",
        )

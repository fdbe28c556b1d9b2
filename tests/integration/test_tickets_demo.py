"""The tickets demo part works on a fresh folder, through the bot's own config model."""

from __future__ import annotations

from pathlib import Path

from backroom.bots.sdk.testing import make_context
from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams
from backroom.sandbox.demo_tickets import prepare


def test_demo_prepare_and_one_run(tmp_path: Path) -> None:
    part = prepare(tmp_path / "demo")
    try:
        config = TicketsConfig.model_validate(part.bot_table["config"])
        ctx = make_context(tmp_path, "tickets", systems=part.systems, config=config, environ=part.env)
        result = Tickets().run(ctx, TicketsParams(**part.params))
        assert result.status == "succeeded", result.summary
        assert result.counts["fill_filled"] > 0
        assert result.counts["taken"] > 0 and result.counts["called"] == result.counts["taken"]
        assert result.counts.get("archived", 0) > 0
        assert Path(result.outputs["report"]).is_file() and Path(result.outputs["fill_report"]).is_file()
        assert list((tmp_path / "demo" / "tickets-archive").rglob("ticket-*.json"))
        assert part.bot_table["schedule"].startswith("cron:") and part.bot_table["calendar"] == "cn-workdays"
    finally:
        part.stop()

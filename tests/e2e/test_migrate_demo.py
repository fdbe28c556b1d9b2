"""The demo part works on a fresh machine: prepare(), then the bot's demo run and the other migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_demo_prepare_and_runs(tmp_path: Path, chromium_available: None) -> None:
    from backroom.sandbox.demo_migrate import prepare

    part = prepare(tmp_path / "demo")
    try:
        config = Config.model_validate(part.bot_table["config"])
        assert part.bot_table["schedule"].startswith("cron:") and part.bot == "migrate"

        def run(name: str) -> object:
            ctx = make_context(tmp_path, "migrate", systems=part.systems, config=config, environ=part.env)
            try:
                return Migrate().run(ctx, MigrateParams(**{**part.params, "name": name}))
            finally:
                ctx.close()

        demo = run(part.params["name"])
        assert demo.status == "succeeded", demo.summary
        assert demo.counts["read"] == 6 and demo.counts["inserted"] == 1 and demo.counts["updated"] == 5
        crm_data = part.servers[1].app.state.customers.records
        assert crm_data["C000006"]["last_bill_no"] == "B202401000006"

        warehouse = run("bills_to_warehouse")
        assert warehouse.status == "succeeded" and warehouse.counts["inserted"] == 6
        partners = run("partner_list")
        assert partners.counts["inserted"] == 1 and partners.counts["rejected"] == 1
        back = run("crm_to_billing")
        assert back.status == "succeeded" and back.counts["rejected"] == 0
    finally:
        part.stop()

"""The metrics bot's part in ``backroom demo``: the sandbox metrics source with an incident."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["prepare"]


def prepare(workdir: Path) -> DemoPart:
    """Start the metrics source (JSON, Prometheus and dashboard) with yesterday's abandonment spike."""
    from backroom.sandbox.metrics_source import Anomaly, create_app
    from backroom.sandbox.server import start

    now = dt.datetime.now(dt.UTC)
    local_midnight = dt.datetime.combine(
        (now + dt.timedelta(hours=8)).date() - dt.timedelta(days=1), dt.time(), dt.timezone(dt.timedelta(hours=8))
    )
    incident = Anomaly(
        "billing", local_midnight + dt.timedelta(hours=10), local_midnight + dt.timedelta(hours=13), "abandon", 4.0
    )
    token = "demo-metrics-token"
    server = start(create_app(token=token, anomalies=[incident]))
    workdir.mkdir(parents=True, exist_ok=True)
    systems = {
        "metrics_api": {"kind": "http", "url": server.url, "token": "env:METRICS_TOKEN", "retries": 3},
        "metrics_dashboard": {
            "kind": "browser",
            "url": server.url,
            "username": "ops",
            "password": "env:METRICS_DASHBOARD_PASSWORD",
        },
    }
    config = {
        "history_days": 29,  # four weeks of same-hour history for the robust rule
        "sources": [
            {"name": "cc_api", "kind": "json", "system": "metrics_api", "options": {"params": {"interval": 60}}},
            {"name": "dashboard", "kind": "dashboard", "system": "metrics_dashboard", "options": {"max_days": 1}},
            {
                "name": "prometheus",
                "kind": "prometheus",
                "system": "metrics_api",
                "options": {"queries": {"offered": "cc_calls_offered", "abandoned": "cc_calls_abandoned"}},
            },
        ],
    }
    return DemoPart(
        bot="metrics",
        systems=systems,
        bot_table={"schedule": "cron: 30 8 * * *", "timeout": "20m", "config": config},
        params={},
        env={"METRICS_TOKEN": token, "METRICS_DASHBOARD_PASSWORD": "ops-pass"},
        servers=[server],
        description="pulls contact-centre KPIs, flags yesterday's abandonment spike, writes 数据通报",
    )

"""The metrics bot's part in ``backroom demo``: the sandbox metrics source with an incident."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from backroom.sandbox.demo_base import DemoPart

__all__ = ["DASHBOARD_OPTIONS", "PROMETHEUS_QUERIES", "prepare"]

#: The sandbox's 运营看板 as options of a ``dashboard`` metric source (its pages, its headers).
DASHBOARD_OPTIONS: dict[str, Any] = {
    "nav_link": "运营看板",
    "dashboard_path": "/dashboard",
    "date_input": "input[name=date]",
    "query_button": "form[action='/dashboard'] button[type=submit]",
    "time_field": "时段",
    "interval_minutes": 60,
    "dimensions": {"queue": "队列"},
    "fields": {
        "offered": "呼入量",
        "answered": "接通量",
        "abandoned": "放弃量",
        "answered_within_20s": "20秒内接通",
        "handle_seconds": {"field": "平均处理时长(秒)", "times": "接通量"},
        "fcr_resolved": {"field": "首解率", "times": "接通量"},
        "csat_responses": "接通量",  # the page shows a rate only: weight it by answered calls
        "csat_satisfied": {"field": "满意度", "times": "接通量"},
    },
}

#: The sandbox's Prometheus metric names, as a ``prometheus`` source's ``queries``.
PROMETHEUS_QUERIES: dict[str, str] = {
    "offered": "cc_calls_offered",
    "answered": "cc_calls_answered",
    "abandoned": "cc_calls_abandoned",
    "answered_within_20s": "cc_calls_answered_within_20s",
    "answered_within_30s": "cc_calls_answered_within_30s",
    "handle_seconds": "cc_handle_seconds",
    "fcr_resolved": "cc_fcr_resolved",
    "csat_responses": "cc_csat_responses",
    "csat_satisfied": "cc_csat_satisfied",
    "staffed_seconds": "cc_staffed_seconds",
}


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
            {
                "name": "dashboard",
                "kind": "dashboard",
                "system": "metrics_dashboard",
                "options": {**DASHBOARD_OPTIONS, "max_days": 1},
            },
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

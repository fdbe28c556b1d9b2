"""The metrics bot end to end on a real Prometheus scraping node-exporter.

Rules on ``node_load1`` and on the per-CPU ``rate(node_cpu_seconds_total[1m])`` fire and recover
once each; stopping node-exporter raises a "no data" alert that the digest reports; every point
Prometheus returns is stored; alerts and the digest go out by webhook and by SMS to loopback
receivers. The bot's clock is set by the test (each run a fixed ten seconds after the previous one)
and the thresholds are chosen by the test, so what fires does not depend on the machine's load;
the only waits are for Prometheus to have scraped the instants a run asks about.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from backroom.bots.metrics import Config, Metrics, Params
from backroom.bots.metrics.series import floor_time
from backroom.bots.metrics.store import Store
from backroom.bots.sdk.testing import make_context
from backroom.sandbox.metrics_source.sms_gateway import SmsGateway, start_gateway
from tests.realsystems.prometheus import Prometheus

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

UTC = dt.UTC
KEY_ID, SECRET = "AKID-loopback", "sms-secret"
PHONES = ["13800138000", "13900139000"]
CPUS = os.cpu_count() or 1
FIRE = {"load_max": -1.0, "idle_min": 2.0}  # load is never below 0, an idle share never above 1
CALM = {"load_max": 1e6, "idle_min": -1.0}


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = start_gateway(KEY_ID, SECRET)
    try:
        yield gateway
    finally:
        gateway.stop()


def _config(webhook: str, sms: str, *, load_max: float, idle_min: float) -> Config:
    return Config.model_validate(
        {
            "sources": [
                {
                    "name": "node",
                    "kind": "prometheus",
                    "system": "prom",
                    "options": {
                        "queries": {"load": "node_load1", "cpu": "rate(node_cpu_seconds_total[1m])"},
                        "step_seconds": 5,
                        "targets_query": 'up{job="node"}',
                        "stale_after_seconds": 30,
                    },
                }
            ],
            "metrics": [
                {"name": "load1", "label": "系统负载(1分钟)", "source": "node", "series": "load", "by": []},
                {
                    "name": "cpu_idle",
                    "label": "CPU 空闲率",
                    "source": "node",
                    "series": "cpu",
                    "labels": {"mode": "idle"},
                    "by": ["cpu"],
                    "unit": "ratio",
                    "higher_is_better": True,
                },
            ],
            "rules": [
                {"kind": "threshold", "metric": "load1", "id": "load-high", "max": load_max},
                {"kind": "threshold", "metric": "cpu_idle", "id": "cpu-idle-low", "min": idle_min},
            ],
            "resolution_seconds": 5,
            "history_days": 1,
            "report_day": "today",
            "trend_days": 2,
            "attach_workbook": False,
            "group_webhooks": [{"url": f"{webhook}/cgi-bin/webhook/send?key=k", "style": "wecom"}],
            "sms": {
                "provider": "aliyun",
                "url": f"{sms}/",
                "access_key_id": KEY_ID,
                "access_key_secret": "env:SMS_SECRET",
                "sign_name": "后台数据",
                "template_code": "SMS_0001",
                "recipients": PHONES,
                "max_chars": 70,
            },
        }
    )


class Desk:
    """One bot installation (one database) run again and again with a clock the test sets."""

    def __init__(self, tmp_path: Path, prometheus: Prometheus, webhook: Any, sms: SmsGateway) -> None:
        self.tmp_path, self.prometheus, self.webhook, self.sms = tmp_path, prometheus, webhook, sms

    def run(self, now: dt.datetime, *, report: bool, **thresholds: float) -> tuple[Any, Any]:
        # the run may look at `now` only once Prometheus has scraped past it
        self.prometheus.wait_for(
            'timestamp(up{job="node"})', lambda r: bool(r) and float(r[0]["value"][1]) > now.timestamp()
        )
        ctx = make_context(
            self.tmp_path,
            "metrics",
            systems={"prom": {"kind": "http", "url": self.prometheus.url, "retries": 1}},
            config=_config(self.webhook.url, self.sms.url, **thresholds),
            environ={"SMS_SECRET": SECRET},
            clock=lambda: now,
        )
        try:
            return Metrics().run(ctx, Params(report=report)), ctx
        finally:
            ctx.close()


def _rules(alerts: list[dict[str, Any]]) -> list[str]:
    return sorted(a["rule"] for a in alerts)


def test_rules_fire_and_recover_once_no_data_is_an_alert_and_everything_is_delivered(
    tmp_path: Path, prometheus_server: Prometheus, webhook_receiver: Any, sms_gateway: SmsGateway
) -> None:
    promql = 'rate(node_cpu_seconds_total{mode="idle"}[1m])'
    prometheus_server.wait_for(promql, lambda r: len(r) == CPUS)
    # 25 s of scrapes before the first run's instant, so its window holds several points
    prometheus_server.wait_for("count_over_time(up[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 25, 90)
    desk = Desk(tmp_path, prometheus_server, webhook_receiver, sms_gateway)
    both = ["cpu-idle-low"] * CPUS + ["load-high"]
    t0 = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(seconds=10)

    # 1. fire: one alert on the load, one per CPU on its idle rate — announced by webhook and SMS
    fired, ctx = desk.run(t0, report=False, **FIRE)
    assert fired.status == "succeeded", fired.summary
    assert _rules(fired.outputs["anomalies"]) == both
    assert sorted(a["dims"]["cpu"] for a in fired.outputs["anomalies"] if a["rule"] == "cpu-idle-low") == [
        str(c) for c in range(CPUS)
    ]
    assert fired.outputs["no_data"] == [] and fired.outputs["sent"]
    (hook,) = webhook_receiver.wait_for(1)
    text = hook["body"]["markdown"]["content"]
    assert "异常告警" in text and "【系统负载(1分钟)】" in text and "【CPU 空闲率】" in text and "cpu=0" in text
    assert [(r["phone"], r["ok"]) for r in fired.outputs["sms"]] == [("138****8000", True), ("139****9000", True)]
    assert [n for n, _ in sms_gateway.delivered] == PHONES
    assert sms_gateway.delivered[0][1].startswith("异常告警，新异常") and len(sms_gateway.delivered[0][1]) <= 70

    # no series lost: every point Prometheus answers for a settled stretch of the window is stored
    lo = floor_time(t0 - dt.timedelta(minutes=2), 5)
    answer = httpx.get(
        f"{prometheus_server.url}/api/v1/query_range",
        params={
            "query": "rate(node_cpu_seconds_total[1m])",
            "start": lo.timestamp() + 5,
            "end": t0.timestamp(),
            "step": 5,
        },
        timeout=10,
    ).json()["data"]["result"]
    theirs = {
        (frozenset((k, v) for k, v in s["metric"].items() if k != "__name__"), float(t) - 5)
        for s in answer
        for t, _ in s["values"]
    }
    stored = Store(ctx.engine).load(lo, t0, sources=["node"], metrics=["cpu"])
    mine = {(frozenset(json.loads(r["dims"]).items()), r["interval_start"].timestamp()) for r in stored}
    assert len(answer) >= CPUS * 2 and theirs  # a series per CPU and mode
    assert len(stored) == len(theirs) and mine == theirs

    # 2. ten seconds later, still firing: ongoing, nothing announced again
    t1 = t0 + dt.timedelta(seconds=10)
    again, _ = desk.run(t1, report=False, **FIRE)
    assert again.outputs["anomalies"] == [] and _rules(again.outputs["ongoing"]) == both
    assert not again.outputs["sent"] and len(webhook_receiver.requests) == 1 and len(sms_gateway.delivered) == 2

    # 3. thresholds moved: everything recovers, and that is announced once
    t2 = t1 + dt.timedelta(seconds=10)
    calm, _ = desk.run(t2, report=False, **CALM)
    assert _rules(calm.outputs["recovered"]) == both and calm.outputs["anomalies"] == []
    text = webhook_receiver.wait_for(2)[1]["body"]["markdown"]["content"]
    assert f"已恢复 {CPUS + 1} 项" in text
    assert len(sms_gateway.delivered) == 4
    t3 = t2 + dt.timedelta(seconds=10)
    quiet, _ = desk.run(t3, report=False, **CALM)
    assert quiet.outputs["recovered"] == [] and quiet.outputs["anomalies"] == [] and not quiet.outputs["sent"]

    # 4. node-exporter stops: "no data" for both queries, and the digest says what is missing
    exporter = prometheus_server.node_exporter
    exporter.stop()
    try:
        down = prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "0")
        # an instant just after the first scrape that found it down (run() waits until Prometheus is past it)
        t4 = dt.datetime.fromtimestamp(float(down[0]["value"][0]), UTC).replace(microsecond=0) + dt.timedelta(seconds=2)
        daily, _ = desk.run(t4, report=True, **CALM)
    finally:
        exporter.start()
    assert daily.status == "succeeded", daily.summary
    assert sorted(a["kpi"] for a in daily.outputs["no_data"]) == ["cpu", "load"]
    assert "no data: node/load" in daily.summary or "no data: node/cpu" in daily.summary
    digest = webhook_receiver.wait_for(3)[2]["body"]["markdown"]["content"]
    assert "数据缺失 2 项" in digest and "无法访问（up == 0）" in digest
    assert "\n无异常。" not in digest
    assert "**系统负载(1分钟)**（node）" in digest and "**CPU 空闲率**（node）" in digest
    assert digest.count("> cpu=0：") == 1  # one line per series, none doubled
    sms_text = sms_gateway.delivered[-1][1]
    assert "数据缺失2项" in sms_text
    summary = load_workbook(daily.outputs["report"])["汇总"]
    column = [summary.cell(row=r, column=3).value for r in range(1, summary.max_row + 1)]
    labels = set(column[column.index("指标") + 1 :])
    assert "数据未更新" in str(summary["A2"].value) and "node/load" in str(summary["A2"].value)
    assert labels == {"系统负载(1分钟)", "CPU 空闲率"}  # only metrics with data: no empty KPI rows

    # 5. node-exporter back: the no-data alerts recover, announced once
    prometheus_server.wait_for('up{job="node"}', lambda r: bool(r) and r[0]["value"][1] == "1")
    prometheus_server.wait_for(promql, lambda r: len(r) == CPUS)
    back = prometheus_server.wait_for('timestamp(up{job="node"})', lambda r: bool(r))
    t5 = dt.datetime.fromtimestamp(float(back[0]["value"][1]), UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    recovered, _ = desk.run(t5, report=False, **CALM)
    assert sorted(a["kpi"] for a in recovered.outputs["recovered"]) == ["cpu", "load"]
    text = webhook_receiver.wait_for(4)[3]["body"]["markdown"]["content"]
    assert "数据已恢复 2 项" in text

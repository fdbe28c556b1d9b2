"""The dashboard adapter and the sandbox dashboard page, driven by a real Chromium."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import LayoutError, SourceConfig, Window, adapter
from backroom.sandbox.demo_metrics import DASHBOARD_OPTIONS
from tests.fixtures.metrics import METRICS_NOW, MetricsSandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _ctx(tmp_path: Path, sandbox: MetricsSandbox):
    systems = {"dash": {"kind": "browser", "url": sandbox.url, "username": "ops", "password": "env:DASH_PASS"}}
    return make_context(tmp_path, "metrics", systems=systems, environ=sandbox.environ, clock=lambda: sandbox.now)


def test_dashboard_layouts_read_by_header_and_missing_column_named(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, chromium_available: None
) -> None:
    ctx = _ctx(tmp_path, metrics_sandbox)
    source = SourceConfig(name="board", kind="dashboard", system="dash", options={**DASHBOARD_OPTIONS, "max_days": 2})
    # the window crosses local midnight: 23rd 20:00 to 24th 09:00 Shanghai
    window = Window(METRICS_NOW - dt.timedelta(hours=13), METRICS_NOW)
    result = asyncio.run(adapter("dashboard").pull(ctx, source, window))
    starts = sorted({s.start for s in result.samples})
    assert starts[0] == dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)  # 20:00 local on the 23rd
    assert starts[-1] == dt.datetime(2026, 11, 24, 0, tzinfo=dt.UTC)  # 08:00 local on the 24th
    assert len(starts) == 13
    offered = {(s.dims, s.start): s.value for s in result.samples if s.metric == "offered"}
    # the page's figures are the API's figures
    api = metrics_sandbox.app.state.data.rows("billing", starts[0], METRICS_NOW, 60)
    assert offered[('{"queue":"billing"}', starts[0])] == api[0]["offered"]
    shot = result.evidence[0]
    assert shot.exists() and shot.stat().st_size > 5_000 and shot.read_bytes()[:4] == b"\x89PNG"

    # reordered columns still read by header; a renamed column is a clear error with evidence
    metrics_sandbox.app.state.faults.layout_variant = 1
    renamed = {**source.options, "fields": {"offered": "呼入量", "abandoned": "放弃数", "answered": "接通量"}}
    moved = asyncio.run(
        adapter("dashboard").pull(
            ctx, SourceConfig(name="board", kind="dashboard", system="dash", options=renamed), window
        )
    )
    assert {(s.dims, s.start): s.value for s in moved.samples if s.metric == "offered"} == offered
    with pytest.raises(LayoutError) as info:
        asyncio.run(adapter("dashboard").pull(ctx, source, window))
    assert "'放弃量'" in str(info.value) and "'首解率'" in str(info.value)
    assert (ctx.artifacts_dir / "dashboard-board-layout.png").exists()


def test_bot_sends_dashboard_screenshot_and_marks_changed_layout_stale(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, chromium_available: None, webhook_receiver: Any
) -> None:
    import base64
    import hashlib

    from openpyxl import load_workbook

    from backroom.bots.metrics import Config, Metrics, Params

    systems = {
        **metrics_sandbox.systems(),
        "dash": {"kind": "browser", "url": metrics_sandbox.url, "username": "ops", "password": "env:DASH_PASS"},
    }
    cfg = Config.model_validate(
        {
            "history_days": 10,
            "sources": [
                {"name": "cc_api", "kind": "json", "system": "metrics_api", "options": {"params": {"interval": 60}}},
                {
                    "name": "board",
                    "kind": "dashboard",
                    "system": "dash",
                    "options": {**DASHBOARD_OPTIONS, "max_days": 1},
                },
            ],
            "group_webhooks": [{"url": f"{webhook_receiver.url}/wecom", "style": "wecom"}],
        }
    )

    def run(folder: str) -> Any:
        ctx = make_context(
            tmp_path / folder,
            "metrics",
            systems=systems,
            environ=metrics_sandbox.environ,
            config=cfg,
            clock=lambda: metrics_sandbox.now,
        )
        try:
            return Metrics().run(ctx, Params(day=dt.date(2026, 11, 24)))
        finally:
            ctx.close()

    metrics_sandbox.app.state.glitches.non_numeric_every = 101  # some cells read "N/A"
    result = run("a")
    assert result.status == "succeeded", result.summary
    assert result.counts["values_skipped"] > 0  # skipped and counted, never stored as zero
    metrics_sandbox.app.state.glitches.non_numeric_every = 0
    sent = [r["body"] for r in webhook_receiver.wait_for(2)]
    image = next(b for b in sent if b["msgtype"] == "image")["image"]
    raw = base64.b64decode(image["base64"])
    assert raw[:4] == b"\x89PNG" and hashlib.md5(raw).hexdigest() == image["md5"]
    assert "board" in load_workbook(result.outputs["report"]).sheetnames

    metrics_sandbox.app.state.faults.layout_variant = 1
    changed = run("b")
    assert changed.status == "succeeded"
    assert changed.outputs["stale_sources"] == ["board"]
    digest = next((tmp_path / "b").rglob("digest-*.md")).read_text(encoding="utf-8")
    assert "数据缺失 1 项" in digest and "【来源 board】拉取失败" in digest
    assert "'放弃量'" in digest  # the missing column is named
    shots = list((tmp_path / "b").rglob("dashboard-board-layout.png"))
    assert shots, "the changed page is kept as evidence"

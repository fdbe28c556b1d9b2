"""File drops (GBK/GB18030/UTF-8 CSV, Excel, Chinese headers) and the demo part."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import SourceConfig, Window, adapter

UTC = dt.UTC
FILE_OPTIONS = {
    "folder": "drops",
    "time_field": "时段",
    "dimensions": {"queue": "技能组"},
    "interval_minutes": 30,
    "fields": {"offered": "来电量", "abandoned": "放弃量", "answered": "接通量"},
}
WINDOW = Window(dt.datetime(2026, 11, 22, tzinfo=UTC), dt.datetime(2026, 11, 25, tzinfo=UTC))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_chinese_encodings(tmp_path: Path, encoding: str) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    text = "时段,技能组,来电量,放弃量,接通量\n2026-11-24 00:00,投诉组,120,6,114\n2026-11-23 23:30,投诉组,80,暂无,76\n"
    path = drops / "话务日报.csv"
    path.write_bytes(text.encode(encoding))
    before = path.read_bytes()
    ctx = make_context(tmp_path, "metrics")
    result = asyncio.run(
        adapter("files").pull(ctx, SourceConfig(name="drop", kind="files", options=FILE_OPTIONS), WINDOW)
    )
    got = {(s.metric, s.start): s.value for s in result.samples}
    midnight = dt.datetime(2026, 11, 23, 16, tzinfo=UTC)  # 00:00 local on the 24th
    assert got[("offered", midnight)] == 120 and got[("abandoned", midnight)] == 6
    assert ('{"queue":"投诉组"}') in {s.dims for s in result.samples}
    assert all(s.seconds == 1800 for s in result.samples)
    assert len(result.issues) == 1 and "'暂无'" in result.issues[0] and "话务日报.csv" in result.issues[0]
    assert path.read_bytes() == before  # input files are never changed


def test_excel_file_and_a_file_missing_a_column(tmp_path: Path) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    wb = Workbook()
    ws = wb.active
    ws.append(["时段", "技能组", "来电量", "放弃量", "接通量"])
    ws.append([dt.datetime(2026, 11, 24, 9, 0), "咨询组", 300, 9, 291])
    wb.save(drops / "a.xlsx")
    (drops / "b.csv").write_text("时段,技能组,来电量,接通量\n2026-11-24 09:00,咨询组,1,1\n", encoding="utf-8")
    ctx = make_context(tmp_path, "metrics")
    result = asyncio.run(
        adapter("files").pull(ctx, SourceConfig(name="drop", kind="files", options=FILE_OPTIONS), WINDOW)
    )
    assert {(s.metric, s.value) for s in result.samples} == {("offered", 300), ("abandoned", 9), ("answered", 291)}
    assert any("b.csv" in i and "'放弃量'" in i for i in result.issues)


@pytest.mark.slow
def test_demo_part_runs_the_bot(tmp_path: Path) -> None:
    from backroom.bots.metrics import Config, Metrics, Params
    from backroom.sandbox.demo_metrics import prepare

    part = prepare(tmp_path / "demo")
    try:
        cfg = Config.model_validate(part.bot_table["config"])
        ctx = make_context(tmp_path, "metrics", systems=part.systems, environ=part.env, config=cfg)
        result = Metrics().run(ctx, Params(**part.params))
        assert result.status == "succeeded", result.summary
        assert any(a["where"] == "billing" and a["kpi"] == "abandonment_rate" for a in result.outputs["anomalies"])
        assert Path(result.outputs["report"]).exists()
        assert part.bot_table["schedule"].startswith("cron:")
    finally:
        part.stop()


def test_rows_that_collide_under_the_mapped_dimensions_are_refused_naming_the_column(tmp_path: Path) -> None:
    """Per-agent rows mapped only by 技能组 would be merged silently; the file is refused instead."""
    drops = tmp_path / "drops"
    drops.mkdir()
    text = (
        "时段,技能组,坐席,来电量,放弃量,接通量\n"
        "2026-11-24 00:00,投诉组,张三,120,6,114\n"
        "2026-11-24 00:00,投诉组,张三,120,6,114\n"  # the same row twice: one fact, stored once
        "2026-11-24 00:00,投诉组,李四,80,2,78\n"
    )
    (drops / "坐席.csv").write_bytes(text.encode("gbk"))
    (drops / "汇总.csv").write_bytes(
        "时段,技能组,来电量,放弃量,接通量\n2026-11-24 00:00,咨询组,50,1,49\n".encode("gbk")
    )
    ctx = make_context(tmp_path, "metrics")
    source = SourceConfig(name="drop", kind="files", options=FILE_OPTIONS)
    result = asyncio.run(adapter("files").pull(ctx, source, WINDOW))
    # the other file is kept; the colliding one is refused with the reason, nothing of it stored
    assert {s.dims for s in result.samples} == {'{"queue":"咨询组"}'}
    (issue,) = result.issues
    assert "坐席.csv: rows 1 and 3 both give 'offered'" in issue
    assert "differ in column(s) 坐席, 接通量, 放弃量, 来电量" in issue
    by_agent = {**FILE_OPTIONS, "dimensions": {"queue": "技能组", "agent": "坐席"}}
    kept = asyncio.run(adapter("files").pull(ctx, SourceConfig(name="drop", kind="files", options=by_agent), WINDOW))
    assert sorted((s.dims, s.value) for s in kept.samples if s.metric == "offered") == [
        ('{"agent":"张三","queue":"投诉组"}', 120.0),
        ('{"agent":"李四","queue":"投诉组"}', 80.0),
    ]

"""The digest's text: every named metric, no doubled lines, one line per incident, missing data named."""

from __future__ import annotations

import datetime as dt

from backroom.bots.metrics.daily import ALL, summarise
from backroom.bots.metrics.digest import digest_text, sms_text
from backroom.bots.metrics.kpis import definitions
from backroom.bots.metrics.named import MetricDef, NamedFigure

DAY = dt.date(2026, 11, 29)
LOAD = MetricDef(name="load1", label="系统负载", source="node", series="load", aggregation="max")
MEM = MetricDef(name="mem", label="可用内存占比", source="node", series="mem", unit="ratio")


def _alert(kind: str, kpi: str, text: str, dims: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "kind": kind,
        "kpi": kpi,
        "source": "node",
        "dims": dims or {},
        "text": text,
        "opened_at": "2026-11-29T10:00",
    }


def test_a_source_without_labels_is_not_listed_twice() -> None:
    kpis = list(definitions().values())
    sums = {
        ("cc", "{}", DAY): {"offered": 100.0, "abandoned": 5.0},
        ("cc", ALL, DAY): {"offered": 100.0, "abandoned": 5.0},
    }
    figures = summarise(sums, DAY, kpis, {})
    assert {f.where for f in figures} == {ALL}  # the "{}" series is the 全部 line, not a second one
    text = digest_text(DAY.isoformat(), figures, [], [], [], {}, 0)
    assert text.count("呼入量") == 1 and text.count("**cc**") == 1
    assert "服务水平" not in text  # a KPI this source does not deliver is not a line


def test_named_metrics_incidents_and_missing_figures() -> None:
    named = [NamedFigure(LOAD, ALL, 2.5, 1.0), *(NamedFigure(MEM, f"instance=h{i}", 0.5, None) for i in range(14))]
    new = [
        _alert("threshold", "load1", "【系统负载】node 10:00：2.50，超出 0.50"),
        _alert("robust", "load1", "【系统负载】node 10:00：2.50，偏离平常水平 6.0 倍正常波动"),
        _alert("nodata", "cpu", "【CPU】node/cpu：采集目标 a:9100 无法访问（up == 0）"),
    ]
    text = digest_text(DAY.isoformat(), [], new, [], [], {}, 0, named, [MEM.model_copy(update={"label": "磁盘"})])
    assert "**系统负载**（node）\n> 2.50，较昨日 +1.50" in text
    assert text.count("> instance=h") == 12 and "另有 2 个序列" in text
    assert "**新异常 1 项**" in text and "另有 1 条规则同时判定异常（超出历史波动）" in text
    assert "**数据缺失 2 项**" in text and "无法访问（up == 0）" in text and "【磁盘】node：当日没有任何数据" in text
    assert "\n无异常。" not in text and "稳健Z分" not in text
    quiet = digest_text(DAY.isoformat(), [], [], [], [], {}, 0, named, [])
    assert quiet.endswith("无异常。")
    short = sms_text("数据通报", new, [], [], 0)
    assert short.startswith("数据通报，新异常1项，数据缺失1项：")

"""The daily workbook: summary against targets, anomalies, raw rows per source, 14-day charts.

Sheets: 汇总 (each KPI per source and queue for the day, its target, 达标 with conditional
formatting, the change vs the day before and the same day last week), 异常 (this run's alerts),
one sheet per source with the day's raw rows (local time, dimensions, one column per metric), and
趋势 (daily KPIs of the last ``trend_days`` per source, one openpyxl line chart per headline KPI and
a bar chart of volume).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from backroom.bots.metrics.daily import ALL, DayFigures, kpi_value
from backroom.bots.metrics.kpis import Kpi
from backroom.bots.metrics.named import NamedFigure

__all__ = ["write_workbook"]

_PCT = "0.0%"


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "source"
    base, n = title, 2
    while title in taken:
        title = f"{base[:25]}_{n}"
        n += 1
    taken.add(title)
    return title


def write_workbook(
    path: Path,
    *,
    day: dt.date,
    figures: Sequence[DayFigures],
    anomalies: Sequence[Mapping[str, Any]],
    raw: Mapping[str, Sequence[Mapping[str, Any]]],
    sums: Mapping[tuple[str, str, dt.date], Mapping[str, float]],
    kpis: Sequence[Kpi],
    trend_days: int,
    stale: Mapping[str, str],
    tz: dt.tzinfo,
    named: Sequence[NamedFigure] = (),
) -> Path:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font

    from backroom.bots.reports import GREEN_FILL, RED_FILL, YELLOW_FILL, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws["A1"] = f"数据通报 {day.isoformat()}"
    ws["A1"].font = Font(bold=True, size=14)
    status_row = 2
    if stale:
        ws.cell(row=2, column=1, value="数据未更新的来源: " + "; ".join(f"{k}（{v}）" for k, v in stale.items()))
        ws.cell(row=2, column=1).fill = YELLOW_FILL
        status_row = 3
    headers = ["来源", "队列", "指标", "当日", "目标", "达标", "较昨日", "较上周同日", "昨日", "上周同日"]
    start = status_row + 1
    rows = []
    figures = [f for f in figures if f.value is not None]  # the summary holds figures that exist
    for f in figures:
        met = f.met
        rows.append(
            [
                f.source,
                f.where,
                f.kpi.label,
                f.value,
                f.target if f.kpi.name != "offered" else None,
                "—" if met is None else ("是" if met else "否"),
                f.delta(f.yesterday),
                f.delta(f.last_week),
                f.yesterday,
                f.last_week,
            ]
        )
    for n in named:
        rows.append([n.metric.source, n.where, n.metric.label, n.value, None, "—", n.delta(), None, n.yesterday, None])
    last = write_table(ws, headers, rows, start_row=start)
    units = [f.kpi.unit for f in figures] + [n.metric.unit for n in named]
    for i, unit in enumerate(units, start=start + 1):
        fmt = {"ratio": _PCT, "number": "#,##0.00", "percent": "0.0"}.get(unit, "#,##0")
        for col in (4, 5, 9, 10):
            ws.cell(row=i, column=col).number_format = fmt
    if last > start:
        ws.conditional_formatting.add(
            f"F{start + 1}:F{last}", CellIsRule(operator="equal", formula=['"否"'], fill=RED_FILL)
        )
        ws.conditional_formatting.add(
            f"F{start + 1}:F{last}", CellIsRule(operator="equal", formula=['"是"'], fill=GREEN_FILL)
        )

    wa = wb.create_sheet("异常")
    write_table(
        wa,
        ["状态", "指标", "来源", "队列", "时段", "数值", "参照", "规则", "说明"],
        [
            [
                a.get("state", ""),
                a.get("kpi_label", ""),
                a.get("source", ""),
                a.get("where", ""),
                a.get("interval", ""),
                a.get("value_text", ""),
                a.get("reference_text", ""),
                a.get("rule", ""),
                a.get("text", ""),
            ]
            for a in anomalies
        ],
    )

    taken = {"汇总", "异常", "趋势"}
    for source, source_rows in raw.items():
        wsrc = wb.create_sheet(_sheet_title(source, taken))
        _write_raw(wsrc, source_rows, tz, source in stale, write_table)

    wt = wb.create_sheet("趋势")
    days = [day - dt.timedelta(days=trend_days - 1 - i) for i in range(trend_days)]
    sources = sorted({s for (s, _d, _k) in sums})
    # a KPI no source delivered in the period gets no column and no empty chart
    kpis = [k for k in kpis if any(kpi_value(k, sums.get((s, ALL, d))) is not None for s in sources for d in days)]
    header = ["日期"]
    columns: list[tuple[str, Kpi]] = []
    for kpi in kpis:
        for source in sources:
            header.append(f"{kpi.label}·{source}" if len(sources) > 1 else kpi.label)
            columns.append((source, kpi))
    table = []
    for d in days:
        line: list[Any] = [d]
        for source, kpi in columns:
            line.append(kpi_value(kpi, sums.get((source, ALL, d))))
        table.append(line)
    write_table(wt, header, table)
    for r in range(2, len(days) + 2):
        wt.cell(row=r, column=1).number_format = "mm-dd"
        for c, (_s, kpi) in enumerate(columns, start=2):
            wt.cell(row=r, column=c).number_format = _PCT if kpi.unit == "ratio" else "#,##0"
    anchor_row = len(days) + 4
    for k, kpi in enumerate(kpis):
        first_col = 2 + k * len(sources)
        chart: Any = BarChart() if kpi.unit == "count" else LineChart()
        chart.title = f"{kpi.label}（近{trend_days}天）"
        chart.height, chart.width = 7, 16
        data = Reference(wt, min_col=first_col, max_col=first_col + len(sources) - 1, min_row=1, max_row=len(days) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(wt, min_col=1, min_row=2, max_row=len(days) + 1))
        if kpi.unit == "ratio":
            chart.y_axis.number_format = "0%"
        col_letter = "A" if k % 2 == 0 else "K"
        wt.add_chart(chart, f"{col_letter}{anchor_row + (k // 2) * 15}")
    wb.save(path)
    return path


def _write_raw(ws: Any, rows: Iterable[Mapping[str, Any]], tz: dt.tzinfo, stale: bool, write_table: Any) -> None:
    import json

    pivot: dict[tuple[dt.datetime, str], dict[str, float]] = defaultdict(dict)
    metrics: list[str] = []
    dim_names: list[str] = []
    for r in rows:
        pivot[(r["interval_start"], r["dims"])][r["metric"]] = r["value"]
        if r["metric"] not in metrics:
            metrics.append(r["metric"])
        for name in json.loads(r["dims"]):
            if name not in dim_names:
                dim_names.append(name)
    start_row = 1
    if stale:
        ws.cell(row=1, column=1, value="本来源本次拉取失败，以下为库中已有数据（可能不完整）")
        start_row = 2
    out = []
    for (start, dims), values in sorted(pivot.items()):
        d = json.loads(dims)
        out.append([start.astimezone(tz), *(d.get(n, "") for n in dim_names), *(values.get(m) for m in metrics)])
    write_table(ws, ["时段开始", *dim_names, *metrics], out, start_row=start_row)
    for r in range(start_row + 1, start_row + 1 + len(out)):
        ws.cell(row=r, column=1).number_format = "yyyy-mm-dd hh:mm"

"""Missing data is an alert, not a quiet day.

A pull that failed, a query that answered nothing, a query whose newest point is too old, a
Prometheus scrape target at ``up == 0``: each becomes a **no-data** finding keyed
``nodata|SOURCE|QUERY`` (``*`` for a whole source, ``QUERY@TARGET`` for one scrape target's
series), and goes through the same alert book as the anomalies — announced once while it lasts,
its recovery announced when the data is back. A part of a source that delivered in this run is
"judged", which is what lets its open alert close.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backroom.bots.metrics.alerts import alert_key
from backroom.bots.metrics.named import MetricDef

__all__ = ["RULE", "NoData", "reason_text"]

RULE = "nodata"
WHOLE = "*"
TARGET = "@"  # as metric_sources.prometheus.TARGET_MARK: "query@target" is one scrape target's part


def reason_text(reason: str, tz: dt.tzinfo | None = None) -> str:
    """Why data is missing, in plain Chinese (times in ``tz``), the technical detail kept short after it."""
    down = re.search(r"scrape target (\S+) is down", reason)
    if down:
        return f"采集目标 {down.group(1)} 无法访问（up == 0）"
    if "answered no data" in reason:
        return "查询没有返回任何数据"
    since = re.search(r"has no data since (\S+)", reason)
    if since:
        try:
            moment = dt.datetime.fromisoformat(since.group(1))
            shown = f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if tz and moment.tzinfo else f"{moment:%Y-%m-%d %H:%M}"
        except ValueError:
            shown = since.group(1)
        return f"自 {shown} 起没有新数据"
    detail = reason if len(reason) <= 160 else reason[:160] + "…"
    return f"拉取失败（{detail}）"


class NoData:
    """Collects the no-data findings of one run and the parts of sources that did deliver."""

    def __init__(self, metrics: Sequence[MetricDef], tz: dt.tzinfo | None = None) -> None:
        self.metrics = list(metrics)
        self.tz = tz
        self.found: dict[str, dict[str, Any]] = {}
        self.judged: set[tuple[str, str, str]] = set()
        self.delivered: set[str] = set()  # sources that answered (wholly or partly)

    def _label(self, source: str, query: str) -> str:
        query = query.split(TARGET, 1)[0]  # "query@instance": that query's series from one target
        if query == "targets":  # a target down that no query's answer shows (prometheus.TARGETS)
            return "采集目标"
        names = [m.label for m in self.metrics if m.source == source and (query == WHOLE or query in m.stored)]
        return "、".join(names) if names else (query if query != WHOLE else "全部数据")

    def add(self, source: str, query: str, reason: str) -> None:
        label = self._label(source, query)
        why = reason_text(reason, self.tz)
        where = source if query == WHOLE else f"{source}/{query}"
        self.found[alert_key(RULE, source, query)] = {
            "rule": RULE,
            "kind": RULE,
            "kpi": query.split(TARGET, 1)[0],
            "target": query.split(TARGET, 1)[1] if TARGET in query else "",
            "kpi_label": label,
            "source": source,
            "dims": {},
            "where": where,
            "interval": "",
            "value": None,
            "reference": None,
            "score": None,
            "value_text": "无数据",
            "reference_text": "",
            "compared_with": "",
            "text": f"【来源 {source}】{why}" if query == WHOLE else f"【{label}】{where}：{why}",
            "reason": why,
        }

    def source_failed(self, source: str, reason: str) -> None:
        self.add(source, WHOLE, reason)

    def source_pulled(self, source: str, stale: Mapping[str, str]) -> None:
        self.delivered.add(source)
        self.judged.add((RULE, source, WHOLE))
        for query, reason in stale.items():
            self.add(source, query, reason)

    def judge_open(self, open_keys: Iterable[str]) -> None:
        """Open no-data alerts of sources that delivered, and not missing now, are judged: they recover."""
        for key in open_keys:
            rule, source, query = key.split("|", 2)
            if rule == RULE and source in self.delivered and key not in self.found:
                self.judged.add((rule, source, query))


def is_nodata(alert: Mapping[str, Any]) -> bool:
    return alert.get("kind") == RULE

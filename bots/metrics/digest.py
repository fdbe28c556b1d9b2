"""The 数据通报 message: headline figures, anomalies, recoveries, stale sources.

Delivered two ways: through ``ctx.notify`` (apprise: e-mail, JSON webhooks, and the WeCom,
DingTalk and Feishu services apprise knows) and directly to group robots configured with a full
webhook URL (:func:`post_group`) — WeCom's markdown and image messages, DingTalk's and Feishu's
text — which is also how a company's own robot gateway is reached.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backroom.bots.metrics.daily import ALL, DayFigures
from backroom.bots.metrics.named import MetricDef, NamedFigure, as_kpi
from backroom.bots.metrics.nodata import is_nodata, reason_text

__all__ = ["alert_text", "digest_text", "incidents", "post_group", "sms_text"]

WECOM_MARKDOWN_LIMIT = 4096  # bytes
WECOM_IMAGE_LIMIT = 2 * 1024 * 1024


def digest_text(
    day: str,
    figures: Sequence[DayFigures],
    new: Sequence[Mapping[str, Any]],
    ongoing: Sequence[Mapping[str, Any]],
    recovered: Sequence[Mapping[str, Any]],
    stale: Mapping[str, str],
    issues: int,
    named: Sequence[NamedFigure] = (),
    missing: Sequence[MetricDef] = (),
    *,
    per_metric: int = 12,
) -> str:
    """The digest: KPIs per source, every named metric, anomalies, and what is missing.

    A source without any KPI value gets no heading (it would stand empty); each named metric is a
    heading with one line per series (at most ``per_metric``, then how many more). Missing data —
    no-data alerts and named metrics without a value that day — is listed under its own heading,
    and "无异常" is said only when nothing is missing either.
    """
    lines = [f"**数据通报 {day}**", ""]
    by_source: dict[str, list[str]] = {}
    for f in figures:
        if f.where != ALL or f.value is None:  # a KPI this source does not deliver is not a line
            continue
        mark = "" if f.met is None else (" ✅" if f.met else " ⚠️")
        target = f"，目标 {f.kpi.format(f.target)}" if f.target is not None and f.kpi.name != "offered" else ""
        by_source.setdefault(f.source, []).append(
            f"> {f.kpi.label}：{f.kpi.format(f.value)}{target}，较上周同日 {f.delta(f.last_week)}{mark}"
        )
    for source, items in by_source.items():
        lines.extend([f"**{source}**（全部队列）", *items, ""])
    by_metric: dict[str, list[NamedFigure]] = {}
    for n in named:
        by_metric.setdefault(n.metric.name, []).append(n)
    for items in by_metric.values():
        metric = items[0].metric
        lines.append(f"**{metric.label}**（{metric.source}）")
        for n in items[:per_metric]:
            where = "" if n.where == ALL else f"{n.where}："
            value = as_kpi(metric).format(n.value)
            lines.append(f"> {where}{value}，较昨日 {n.delta()}")
        if len(items) > per_metric:
            lines.append(f"> 另有 {len(items) - per_metric} 个序列，见附件")
        lines.append("")
    gaps = [a for a in (*new, *ongoing) if is_nodata(a)]
    back = [a for a in recovered if is_nodata(a)]
    lines.extend(
        _alert_lines(
            [a for a in new if not is_nodata(a)],
            [a for a in ongoing if not is_nodata(a)],
            [a for a in recovered if not is_nodata(a)],
            quiet=not (gaps or missing or stale),
        )
    )
    gap_lines = [f"- {a['text']}" for a in gaps]
    covered = {a.get("kpi_label") for a in gaps}
    gap_lines += [f"- 【{m.label}】{m.source}：当日没有任何数据" for m in missing if m.label not in covered]
    gap_lines += [f"- {k}：{reason_text(v)}" for k, v in stale.items() if not any(a.get("where") == k for a in gaps)]
    if gap_lines:
        lines.extend(["", f"**数据缺失 {len(gap_lines)} 项**（以下数字没有拿到，不代表正常）"])
        lines.extend(gap_lines)
    if back:
        lines.extend(["", f"**数据已恢复 {len(back)} 项**"])
        lines.extend(f"- 【{a['kpi_label']}】{a['where']} 数据已恢复（自 {_since(a)} 起缺失）" for a in back)
    if issues:
        lines.append(f"另有 {issues} 个数值无法识别，已跳过，详见运行日志。")
    return "\n".join(lines).strip()


_RULE_WORDS = {"threshold": "超阈值", "change": "同比突变", "robust": "超出历史波动"}


def incidents(alerts: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Alerts grouped by what went wrong where (metric, source, series): several rules seeing the
    same incident make one line, not three."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for a in alerts:
        key = (str(a.get("kpi")), str(a.get("source")), json.dumps(a.get("dims"), sort_keys=True, ensure_ascii=False))
        groups.setdefault(key, []).append(a)
    return list(groups.values())


def _incident_line(group: Sequence[Mapping[str, Any]]) -> str:
    first, others = group[0], group[1:]
    if not others:
        return f"- {first['text']}"
    also = "、".join(dict.fromkeys(_RULE_WORDS.get(str(a.get("kind")), str(a.get("kind"))) for a in others))
    return f"- {first['text']}；另有 {len(others)} 条规则同时判定异常（{also}）"


def _since(alert: Mapping[str, Any]) -> str:
    """When an alert opened, in the report's zone when the bot gave it (``opened_local``)."""
    return str(alert.get("opened_local") or alert.get("opened_at", ""))[:16].replace("T", " ")


def _alert_lines(
    new: Sequence[Mapping[str, Any]],
    ongoing: Sequence[Mapping[str, Any]],
    recovered: Sequence[Mapping[str, Any]],
    *,
    quiet: bool = True,
) -> list[str]:
    lines: list[str] = []
    if new:
        groups = incidents(new)
        lines.append(f"**新异常 {len(groups)} 项**")
        lines.extend(_incident_line(g) for g in groups)
    if ongoing:
        lines.append(f"持续中的异常 {len(incidents(ongoing))} 项（已通报，不再重复）")
    if recovered:
        groups = incidents(recovered)
        lines.append(f"**已恢复 {len(groups)} 项**")
        lines.extend(f"- {g[0]['text'].split('：')[0]} 已恢复正常（自 {_since(g[0])} 起）" for g in groups)
    if not (new or ongoing or recovered):
        lines.append("无异常。" if quiet else "已拿到的数据中无异常。")
    return lines


def alert_text(new: Sequence[Mapping[str, Any]], recovered: Sequence[Mapping[str, Any]]) -> str:
    """An intraday alert: new anomalies and missing data, and what recovered."""
    lines = ["**异常告警**"]
    anomalies = [a for a in new if not is_nodata(a)]
    gaps = [a for a in new if is_nodata(a)]
    back = [a for a in recovered if is_nodata(a)]
    fine = [a for a in recovered if not is_nodata(a)]
    if anomalies or fine:
        lines.extend(_alert_lines(anomalies, [], fine))
    if gaps:
        lines.append(f"**数据缺失 {len(gaps)} 项**")
        lines.extend(f"- {a['text']}" for a in gaps)
    if back:
        lines.append(f"**数据已恢复 {len(back)} 项**")
        lines.extend(f"- 【{a['kpi_label']}】{a['where']} 数据已恢复" for a in back)
    return "\n".join(lines)


def sms_text(
    title: str,
    new: Sequence[Mapping[str, Any]],
    ongoing: Sequence[Mapping[str, Any]],
    recovered: Sequence[Mapping[str, Any]],
    missing: int,
) -> str:
    """The SMS form: counts first (they survive the cut), then the first items' short texts."""
    anomalies = [g[0] for g in incidents([a for a in new if not is_nodata(a)])]
    gaps = [a for a in (*new, *ongoing) if is_nodata(a)]
    parts = [title]
    if anomalies:
        parts.append(f"新异常{len(anomalies)}项")
    if gaps or missing:
        parts.append(f"数据缺失{len(gaps) or missing}项")
    if recovered:
        parts.append(f"已恢复{len(incidents(recovered))}项")
    if len(parts) == 1:
        parts.append("无异常")
    head = "，".join(parts)
    items = [a["text"] for a in (*anomalies, *gaps)][:3]
    return "：".join([head, "；".join(items)]) if items else head


def _clip_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 20].decode("utf-8", "ignore") + "\n…（已截断）"


def post_group(client: Any, url: str, style: str, title: str, text: str, image: Path | None = None) -> None:
    """Post to one group robot; raise on a non-zero ``errcode``/``code`` as those APIs report errors."""
    if style == "wecom":
        payloads: list[dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": _clip_utf8(text, WECOM_MARKDOWN_LIMIT)}}
        ]
        if image is not None and image.stat().st_size <= WECOM_IMAGE_LIMIT:
            raw = image.read_bytes()
            payloads.append(
                {
                    "msgtype": "image",
                    "image": {"base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()},
                }
            )
    elif style == "dingtalk":
        payloads = [{"msgtype": "markdown", "markdown": {"title": title, "text": _clip_utf8(text, 20000)}}]
    else:
        payloads = [{"msg_type": "text", "content": {"text": _clip_utf8(f"{title}\n{text}", 30000)}}]
    for payload in payloads:
        response = client.post(url, json=payload)
        response.raise_for_status()
        body = response.json() if response.content else {}
        code = body.get("errcode", body.get("code", 0)) if isinstance(body, dict) else 0
        if code not in (0, None):
            raise RuntimeError(f"group robot refused the message: code {code} {body.get('errmsg') or body.get('msg')}")

"""The 数据通报 message: headline figures, anomalies, recoveries, stale sources.

Delivered two ways: through ``ctx.notify`` (apprise: e-mail, JSON webhooks, and the WeCom,
DingTalk and Feishu services apprise knows) and directly to group robots configured with a full
webhook URL (:func:`post_group`) — WeCom's markdown and image messages, DingTalk's and Feishu's
text — which is also how a company's own robot gateway is reached.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backroom.bots.metrics.daily import ALL, DayFigures

__all__ = ["alert_text", "digest_text", "post_group"]

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
) -> str:
    lines = [f"**数据通报 {day}**", ""]
    by_source: dict[str, list[DayFigures]] = {}
    for f in figures:
        if f.where == ALL:
            by_source.setdefault(f.source, []).append(f)
    for source, items in by_source.items():
        lines.append(f"**{source}**（全部队列）")
        for f in items:
            if f.value is None:  # a KPI this source does not deliver
                continue
            mark = "" if f.met is None else (" ✅" if f.met else " ⚠️")
            target = f"，目标 {f.kpi.format(f.target)}" if f.target is not None and f.kpi.name != "offered" else ""
            lines.append(f"> {f.kpi.label}：{f.kpi.format(f.value)}{target}，较上周同日 {f.delta(f.last_week)}{mark}")
        lines.append("")
    lines.extend(_alert_lines(new, ongoing, recovered))
    if stale:
        lines.append("**数据未更新**：" + "；".join(f"{k}（{v}）" for k, v in stale.items()))
    if issues:
        lines.append(f"另有 {issues} 个数值无法识别，已跳过，详见运行日志。")
    return "\n".join(lines).strip()


def _alert_lines(
    new: Sequence[Mapping[str, Any]], ongoing: Sequence[Mapping[str, Any]], recovered: Sequence[Mapping[str, Any]]
) -> list[str]:
    lines: list[str] = []
    if new:
        lines.append(f"**新异常 {len(new)} 项**")
        lines.extend(f"- {a['text']}" for a in new)
    if ongoing:
        lines.append(f"持续中的异常 {len(ongoing)} 项（已通报，不再重复）")
    if recovered:
        lines.append(f"**已恢复 {len(recovered)} 项**")
        lines.extend(f"- {a['text'].split('：')[0]} 已恢复正常（自 {a['opened_at'][:16]} 起）" for a in recovered)
    if not (new or ongoing or recovered):
        lines.append("无异常。")
    return lines


def alert_text(new: Sequence[Mapping[str, Any]], recovered: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(["**异常告警**", *_alert_lines(new, [], recovered)])


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

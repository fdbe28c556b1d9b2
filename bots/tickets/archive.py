"""Writing a closed ticket's full record as JSON plus a readable HTML page, verified.

Files go to ``<root>/<year>/<month>/ticket-<id>.json`` and ``.html``. The JSON is the full record; the
HTML page is for people: times in the archive's local time to the second, 身份证号, mobile and account
numbers masked to their last four digits. Each is written to a temporary
name, flushed and fsynced, renamed into place, then read back and hashed: only a file whose bytes
on disk hash to what was meant to be written counts as archived. The root folder itself must
exist (it is usually a mounted share; creating it silently would hide a missing mount).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ArchiveError", "ArchivedFiles", "write_archive"]


class ArchiveError(Exception):
    """The archive could not be written or verified; the ticket must not be marked archived."""


@dataclass
class ArchivedFiles:
    json_path: Path
    html_path: Path
    sha256: str
    html_sha256: str
    size: int


_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>工单 #{{ t.id }} 归档</title>
<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}pre{white-space:pre-wrap}</style>
</head><body>
<h1>工单 #{{ t.id }}：{{ t.subject | mask }}</h1>
<p>状态 {{ t.status }} · 队列 {{ t.queue }} · 创建 {{ t.created | local(tz) }} · 解决 {{ t.resolved | local(tz) }}</p>
<h2>字段</h2><table>{% for k, v in t.fields.items() %}<tr><th>{{ k }}</th><td>{{ v | mask }}</td></tr>
{% endfor %}</table>
<h2>回访</h2><table><tr><th>次数</th><th>任务</th><th>结果</th><th>备注</th><th>时间</th></tr>
{% for a in record.callbacks %}<tr><td>{{ a.attempt }}</td><td>{{ a.task_id }}</td><td>{{ a.outcome }}</td>
<td>{{ a.note | mask }}</td><td>{{ a.at | local(tz) }}</td></tr>{% endfor %}</table>
<p>最终结果：{{ record.outcome }}</p>
<h2>历史</h2><table><tr><th>时间</th><th>类型</th><th>操作人</th><th>变更</th><th>内容</th></tr>
{% for h in record.history %}<tr><td>{{ h.created | local(tz) }}</td><td>{{ h.type }}</td><td>{{ h.creator }}</td>
<td>{% if h.field %}{{ h.field }}: {{ h.old | mask }} → {{ h.new | mask }}{% endif %}</td>
<td><pre>{{ h.content | mask }}</pre></td></tr>
{% endfor %}</table>
<p><small>归档时间 {{ record.archived_at | local(tz) }} · Backroom tickets bot</small></p>
</body></html>
"""


def _write_verified(path: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(f"could not write {path}: {exc.strerror or exc}") from exc
    on_disk = hashlib.sha256(path.read_bytes()).hexdigest()
    if on_disk != digest:
        raise ArchiveError(f"{path} did not verify: SHA-256 on disk {on_disk[:12]} != written {digest[:12]}")
    return digest


@functools.cache
def _template() -> Any:
    """The page template, compiled once per process (compiling it per ticket costs more than writing)."""
    import jinja2

    env = jinja2.Environment(autoescape=True)
    env.filters["local"] = _local_time
    env.filters["mask"] = _masked
    return env.from_string(_HTML)


def _local_time(value: Any, tz: dt.tzinfo | None) -> Any:
    """An ISO time (UTC, microseconds) as the reader's wall time to the second: ``2024-03-05 14:03:09``."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return "" if value is None else value
    if value.tzinfo is not None and tz is not None:
        value = value.astimezone(tz)
    return f"{value:%Y-%m-%d %H:%M:%S}"


def _masked(value: Any) -> Any:
    """身份证号, mobile and bank account numbers with only their last four digits, in the readable page."""
    from backroom.bots.sdk.masking import mask_personal

    return mask_personal(value) if isinstance(value, str) else value


def write_archive(root: Path, record: dict[str, Any], *, when: dt.datetime) -> ArchivedFiles:
    """Write and verify the JSON and HTML of one ticket ``record`` under ``root``."""
    if not root.is_dir():
        raise ArchiveError(f"archive folder {root} does not exist (is the share mounted?)")
    ticket = record["ticket"]
    folder = root / f"{when:%Y}" / f"{when:%m}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"could not create {folder}: {exc.strerror or exc}") from exc
    stem = f"ticket-{ticket['id']}"
    # a ticket id from the helpdesk with a slash, or a year/month folder linked elsewhere, stays out
    if "/" in stem or "\\" in stem or not (folder / stem).resolve().is_relative_to(root.resolve()):
        raise ArchiveError(f"ticket {ticket['id']!r} would be archived outside {root}; nothing written")
    payload = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")
    html = _template().render(t=ticket, record=record, tz=when.tzinfo)
    json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
    sha = _write_verified(json_path, payload)
    html_sha = _write_verified(html_path, html.encode("utf-8"))
    return ArchivedFiles(json_path, html_path, sha, html_sha, len(payload))

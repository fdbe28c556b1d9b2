"""Merged twins stay merged: the workday rule and the encoding sniffer each have one home.

An AST scan of the product code (nothing is imported): a second ``chinese_calendar`` caller or a
second "try UTF-8, then GB18030" decoder is a twin coming back, which ``duplicates`` would only find
once it has grown six lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bots", "ocr", "schedules")
CHINESE_CODECS = {"gb18030", "gbk", "gb2312"}


def _files() -> list[Path]:
    return sorted(p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_one_workday_rule() -> None:
    home = ROOT / "bots" / "sdk" / "calendar.py"
    found = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "chinese_calendar" for n in names) and path != home:
                found.append(_where(path, node))
    assert not found, "use backroom.bots.sdk.calendar instead of chinese_calendar:\n" + "\n".join(found)


def test_one_encoding_sniffer() -> None:
    home = ROOT / "bots" / "formats" / "encoding.py"
    found = []
    for path in _files():
        if path == home:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr not in ("decode", "getincrementaldecoder"):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(a.lower() in CHINESE_CODECS for a in args):
                found.append(_where(path, node))
    assert not found, "decode through backroom.bots.formats.encoding:\n" + "\n".join(found)

"""The message catalogue is complete for zh-CN, and pages rendered for a Chinese browser carry no
English text the catalogue knows (nor pydantic's English field errors)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import backroom.schedules as schedules_pkg
from backroom.schedules.counts import ATTENTION, COUNT_LABELS
from backroom.schedules.i18n import PARAMS_ZH, ZH, translate_message
from tests.fixtures.console import ConsoleHarness

ROOT = Path(schedules_pkg.__file__).parent
#: t("…") / t('…') in templates and in the console's and alerts' Python
_CALL = re.compile(r"""\bt\(\s*(["'])((?:(?!\1).)+)\1""")


def _catalogue_uses() -> dict[str, str]:
    uses: dict[str, str] = {}
    files = [*(ROOT / "console" / "templates").glob("*.html"), *(ROOT / "console").glob("*.py")]
    files.append(ROOT / "notifications.py")
    for path in files:
        for match in _CALL.finditer(path.read_text(encoding="utf-8")):
            uses.setdefault(match.group(2), path.name)
    return uses


def test_every_catalogue_key_and_every_text_the_pages_ask_for_has_a_chinese_text() -> None:
    uses = _catalogue_uses()
    assert len(uses) > 60  # the walk found the templates' texts
    missing = sorted(f"{key!r} ({where})" for key, where in uses.items() if not ZH.get(key))
    assert missing == []
    assert [k for k, v in ZH.items() if not v.strip()] == []
    assert [k for k, (en, zh) in COUNT_LABELS.items() if not (en and zh and zh != en)] == []
    assert [k for k, (en, zh) in ATTENTION.items() if "{n}" not in en or "{n}" not in zh] == []
    assert all(PARAMS_ZH.values())


def test_pydantic_field_errors_and_not_found_texts_read_in_chinese() -> None:
    assert translate_message("Input should be less than or equal to 1000", "zh-CN") == "应小于或等于 1000"
    assert translate_message("Input should be 'quick' or 'thorough'", "zh-CN") == "应为以下之一：'quick'、'thorough'"
    assert translate_message("Field required", "zh-CN") == "必填"
    assert translate_message("no run 'abc'", "zh-CN") == "没有编号为 'abc' 的运行记录"
    assert translate_message("no run 'abc'", "en") == "no run 'abc'"


def _texts(page: str) -> list[str]:
    """The visible text nodes of a page (scripts, styles and attributes left out)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return [html.unescape(t).strip() for t in re.findall(r">([^<>]+)<", body) if t.strip()]


def _english_left(page: str) -> list[str]:
    known = {key for key, zh in ZH.items() if zh != key and re.search(r"[A-Za-z]{2}", key)}
    known |= {en for en, _ in COUNT_LABELS.values()}
    left = []
    for text in _texts(page):
        stripped = text.strip(" ▶←→·*:：")
        if stripped in known or re.match(r"(Input should|Field required|String should|no (bot|run|queue) )", stripped):
            left.append(text)
    return left


def test_pages_for_a_chinese_browser_have_no_english_the_catalogue_knows(console_harness: ConsoleHarness) -> None:
    h = console_harness
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    operator, viewer = h.login("otto"), h.login("vera")
    run = h.runner.history.create_run("echo", trigger="schedule")
    h.runner.history.update_run(run.id, status="with_warnings", counts={"documents": 6, "fail": 3})
    invalid = operator.post(
        "/bots/ticker/run",
        data={"csrf": operator.csrf, "steps": "5000", "report_date": "2026-02-30", "mode": "quick"},
        headers=zh,
    )
    assert invalid.status_code == 422
    assert "应小于或等于 1000" in invalid.text and "应为日期" in invalid.text
    pages = {
        "invalid form": invalid.text,
        "home": operator.get("/", headers=zh).text,
        "bot": operator.get("/bots/ticker", headers=zh).text,
        "runs": operator.get("/runs", headers=zh).text,
        "run": operator.get(f"/runs/{run.id}", headers=zh).text,
        "queues": operator.get("/queues", headers=zh).text,
        "404": operator.get("/bots/nobody", headers=zh).text,
        "403": viewer.post("/bots/noop/pause", data={"csrf": viewer.csrf}, headers=zh).text,
    }
    assert "没有名为 'nobody' 的机器人" in html.unescape(pages["404"])
    assert "无权操作" in pages["403"] and "只读用户" in pages["403"]
    assert "报告日期" in pages["bot"] and "要报告的业务日期" in pages["bot"]  # form label and help
    left = {name: _english_left(page) for name, page in pages.items()}
    assert left == {name: [] for name in pages}


def test_every_bots_summary_has_a_chinese_text() -> None:
    import importlib
    import pkgutil

    import backroom.bots
    from backroom.bots.sdk.bot import Bot

    for info in pkgutil.walk_packages(backroom.bots.__path__, "backroom.bots."):
        importlib.import_module(info.name)
    found, todo = [], list(Bot.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("backroom.bots") and getattr(cls, "summary", ""):
            found.append(cls)
    assert len(found) >= 8
    assert [cls.name for cls in found if not ZH.get(cls.summary)] == []

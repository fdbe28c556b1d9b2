"""No silent green: a missing input folder fails the run, and a run that left rejects, failed audits or
items to review ends ``with_warnings`` and says in words what is left (Chinese first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.bots.sdk.paths import InputFolderMissing, Roots
from backroom.bots.sdk.testing import make_context
from backroom.schedules.counts import attention_phrases, count_label, warned_status
from backroom.schedules.history.models import Run
from backroom.schedules.notifications import render_message, targets_for
from backroom.schedules.settings import Settings
from backroom.schedules.status import BAD, OK, RunStatus


def _ctx(tmp_path: Path):  # noqa: ANN202 - a Context
    roots = {name: tmp_path / name for name in ("inbox", "outbox", "archive")}
    roots["inbox"].mkdir()
    return make_context(tmp_path, "expenses", roots=Roots({**roots, "runs": tmp_path / "runs"}))


def test_a_missing_input_folder_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    share = tmp_path / "inbox" / "share"
    with pytest.raises(InputFolderMissing, match=r"share' does not exist: check that the share is mounted"):
        ctx.inputs(share, ["*.xlsx"])
    assert not share.exists()
    assert ctx.inputs(share, ["*.xlsx"], missing_ok=True) == []  # a drop box that comes and goes
    (tmp_path / "inbox" / "file").write_text("x")
    with pytest.raises(InputFolderMissing, match="is not a folder"):
        ctx.inputs(tmp_path / "inbox" / "file", missing_ok=True)


def test_expenses_with_a_missing_inbox_fails_instead_of_reading_nothing(tmp_path: Path) -> None:
    from backroom.bots.expenses import Expenses, ExpensesParams

    ctx = _ctx(tmp_path)
    params = ExpensesParams.model_validate({"inbox": "unmounted"})
    with pytest.raises(InputFolderMissing):
        Expenses().run(ctx, params)
    assert not (tmp_path / "inbox" / "unmounted").exists()


def test_rejects_and_failed_audits_turn_success_into_with_warnings() -> None:
    counts = {"documents": 6, "pass": 3, "fail": 3, "review": 0, "rejected": 0}
    assert warned_status(RunStatus.SUCCEEDED, counts) == RunStatus.WITH_WARNINGS
    assert warned_status(RunStatus.SUCCEEDED, {"documents": 6, "pass": 6, "fail": 0}) == RunStatus.SUCCEEDED
    assert warned_status(RunStatus.FAILED, counts) == RunStatus.FAILED  # a failure stays a failure
    assert warned_status(RunStatus.SUCCEEDED, {"fill_review": 2}) == RunStatus.WITH_WARNINGS
    assert RunStatus.WITH_WARNINGS.ok and not RunStatus.WITH_WARNINGS.bad
    assert RunStatus.WITH_WARNINGS in OK and RunStatus.WITH_WARNINGS not in BAD
    assert len(RunStatus.WITH_WARNINGS.value) <= Run.__table__.c.status.type.length  # fits the column


def test_counts_are_named_in_words() -> None:
    assert attention_phrases({"documents": 6, "fail": 3, "review": 1}) == ["3 张未通过审核", "1 项待人工复核"]
    assert attention_phrases({"documents": 6, "fail": 3}, "en") == ["3 failed the audit"]
    assert attention_phrases({"fill_review": 2}) == ["填写：2 项待人工复核"]
    assert count_label("values_stored") == "已存储数值"
    assert count_label("values_stored", "en") == "values stored"
    assert count_label("fill_filled") == "填写：已填写工单"
    assert count_label("something_new") == "something_new"  # unknown keys are shown, never dropped


def _run(**kw: object) -> Run:
    values = {"id": "4c506e98" + "0" * 24, "bot": "expenses", "trigger": "schedule", "counts": {}}
    values.update(kw)
    return Run(**values)


def test_the_failure_alert_is_a_short_chinese_card_in_plain_words() -> None:
    settings = Settings.model_validate({"notify": {"console_url": "http://console.local/"}})
    run = _run(status="failed", error="FileNotFoundError: [Errno 2] No such file: 'var/inbox/bank.xlsx'\nmore")
    title, body = render_message(settings, run)
    assert title == "❌ Backroom · expenses 失败"
    assert "**状态**：失败" in body and "**触发方式**：定时" in body
    assert "**错误**：所需的文件或文件夹不存在：[Errno 2] No such file: 'var/inbox/bank.xlsx'" in body
    assert "FileNotFoundError" not in body and "Status" not in body
    assert "[打开运行记录 4c506e98](http://console.local/runs/4c506e98" in body


def test_a_run_with_warnings_is_announced_to_the_bots_targets_with_what_is_left() -> None:
    settings = Settings.model_validate(
        {"notify": {"on_failure": ["json://ops"]}, "bots": {"expenses": {"notify": ["json://finance"]}}}
    )
    run = _run(status="with_warnings", counts={"documents": 6, "fail": 3, "rejected": 1})
    assert targets_for(settings, run) == ["json://finance"]  # the bot's people; not the global failure list
    title, body = render_message(settings, run)
    assert title.startswith("⚠️") and "需关注" in title
    assert "**待处理**：3 张未通过审核；1 项被退回" in body
    english = Settings.model_validate({"notify": {"language": "en"}})
    assert "**Needs attention**: 3 failed the audit; 1 rejected" in render_message(english, run)[1]

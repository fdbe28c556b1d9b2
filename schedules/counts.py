"""What a run's counts mean, in words, and which of them leave work for a person.

Bots report counts under short English keys (``fail``, ``values_stored``); staff read them in the
console, the CLI and alerts. This is the one place that names them: an English and a Chinese label per
key, and for the keys that mean "someone must look at this" a phrase that says what failed in words
("3 张未通过审核" rather than "3 fail"). A succeeded run with any of those above zero is recorded as
``with_warnings`` (:func:`warned_status`): finished, but not silently green.

Tickets' fill counts arrive prefixed (``fill_review``); the prefix is a section, named separately.
"""

from __future__ import annotations

from collections.abc import Mapping

from backroom.schedules.status import RunStatus

__all__ = ["ATTENTION", "COUNT_LABELS", "attention_phrases", "count_label", "warned_status"]

#: key → (English, 简体中文): what was counted.
COUNT_LABELS: dict[str, tuple[str, str]] = {
    # expenses
    "documents": ("documents read", "已读取单据"),
    "pass": ("passed the audit", "审核通过"),
    "review": ("to review", "待人工复核"),
    "fail": ("failed the audit", "未通过审核"),
    "rejected": ("rejected", "被退回"),
    "corrected": ("corrected by reviewers", "复核人已更正"),
    # reconcile
    "bank_lines": ("bank lines", "银行流水"),
    "ledger_entries": ("ledger entries", "账簿分录"),
    "matched": ("matched", "已勾对"),
    "auto_matched_now": ("matched automatically this run", "本次自动勾对"),
    "unmatched_bank": ("bank lines unmatched", "银行未达"),
    "unmatched_ledger": ("ledger entries unmatched", "企业未达"),
    "statements_imported": ("statements imported", "已导入对账单"),
    "statements_rejected": ("statements rejected", "被退回的对账单"),
    "statements_already_imported": ("statements already imported", "已导入过的对账单"),
    "decisions_applied": ("review decisions applied", "已应用的复核结论"),
    # tickets
    "filled": ("tickets filled", "已填写工单"),
    "nothing_to_fill": ("already complete", "无需填写"),
    "error": ("errors", "出错"),
    "errors": ("errors", "出错"),
    "waiting_for_outcome": ("waiting for a call outcome", "等待回访结果"),
    "requeued": ("requeued", "重新排队"),
    "already_handled": ("already handled", "已处理过"),
    "taken": ("taken", "已领取"),
    "skipped": ("skipped", "已跳过"),
    "reverified": ("re-verified", "已复核"),
    "skipped_dnc": ("skipped (do not call)", "跳过（勿扰名单）"),
    "deferred_quiet_hours": ("deferred to outside quiet hours", "因免打扰时段顺延"),
    "called": ("called", "已回访"),
    "skipped_changed": ("skipped (ticket changed)", "跳过（工单已变更）"),
    "closed": ("closed", "已关闭"),
    "archive_failed": ("archiving failed", "归档失败"),
    "archived": ("archived", "已归档"),
    # metrics
    "sources": ("sources", "数据源"),
    "sources_failed": ("sources failed", "数据源读取失败"),
    "values_stored": ("values stored", "已存储数值"),
    "values_skipped": ("values skipped", "已跳过数值"),
    "anomalies_new": ("new anomalies", "新异常"),
    "anomalies_ongoing": ("ongoing anomalies", "持续异常"),
    "anomalies_recovered": ("anomalies recovered", "已恢复异常"),
    # migrate
    "read": ("rows read", "已读取行"),
    "inserted": ("inserted", "已新增"),
    "updated": ("updated", "已更新"),
    "unchanged": ("unchanged", "未变化"),
    "deleted": ("deleted", "已删除"),
    "batches": ("batches", "批次"),
    # payslips
    "employees": ("employees", "员工"),
    "check_failures": ("check failures", "核对未通过"),
    "sent": ("sent", "已发送"),
    "already_sent": ("already sent", "此前已发送"),
    "failed": ("failed", "失败"),
    "uncertain": ("delivery uncertain", "投递结果不确定"),
    "held": ("held back", "暂缓发送"),
    "no_address": ("no address", "缺少邮箱地址"),
    "no_password": ("no password", "缺少打开密码"),
    "corrections": ("corrections", "更正件"),
    # profiles, onboarding
    "profiles": ("profiles", "档案"),
    "incomplete": ("incomplete", "信息不完整"),
    "hires": ("hires", "入职"),
    "leavers": ("leavers", "离职"),
    "done": ("steps done", "已完成步骤"),
    "done_earlier": ("done earlier", "此前已完成"),
    "open": ("open for people", "待人工处理"),
    "scheduled": ("scheduled", "已排期"),
    # work-item queues (onboarding: one item per employee)
    "queued": ("queued", "已入队"),
    "retrying": ("to retry", "稍后重试"),
    "items_done": ("items done", "已完成事项"),
    "items_business_failed": ("items reported", "已报告的事项"),
    "items_retrying": ("items to retry", "待重试事项"),
    "items_failed": ("items failed after retries", "重试后仍失败的事项"),
}

#: keys that, above zero in a succeeded run, leave work for a person → (English, 简体中文) phrase.
ATTENTION: dict[str, tuple[str, str]] = {
    "fail": ("{n} failed the audit", "{n} 张未通过审核"),
    "review": ("{n} to review", "{n} 项待人工复核"),
    "rejected": ("{n} rejected", "{n} 项被退回"),
    "statements_rejected": ("{n} statements rejected", "{n} 份对账单被退回"),
    "error": ("{n} errors", "{n} 项出错"),
    "errors": ("{n} errors", "{n} 项出错"),
    "archive_failed": ("{n} archivings failed", "{n} 项归档失败"),
    "sources_failed": ("{n} sources failed", "{n} 个数据源读取失败"),
    "check_failures": ("{n} check failures", "{n} 项核对未通过"),
    "failed": ("{n} failed", "{n} 项失败"),
    "uncertain": ("{n} deliveries uncertain", "{n} 份投递结果不确定"),
    "held": ("{n} held back", "{n} 份暂缓发送"),
    "no_address": ("{n} without an address", "{n} 人缺少邮箱地址"),
    "no_password": ("{n} without a password", "{n} 人缺少打开密码"),
    "incomplete": ("{n} incomplete", "{n} 份信息不完整"),
    "open": ("{n} open for people", "{n} 项待人工处理"),
    "items_business_failed": ("{n} items reported", "{n} 个事项已报告"),
    "items_retrying": ("{n} items to retry", "{n} 个事项待重试"),
    "items_failed": ("{n} items failed after retries", "{n} 个事项重试后仍失败"),
}

_PREFIXES: dict[str, tuple[str, str]] = {"fill_": ("fill", "填写")}


def _split(key: str) -> tuple[tuple[str, str] | None, str]:
    for prefix, label in _PREFIXES.items():
        if key.startswith(prefix) and key.removeprefix(prefix) in COUNT_LABELS:
            return label, key.removeprefix(prefix)
    return None, key


def count_label(key: str, lang: str = "zh-CN") -> str:
    """The words for a count key in ``lang`` (``en`` or ``zh-CN``); an unknown key is shown as it is."""
    section, base = _split(key)
    pair = COUNT_LABELS.get(base)
    if pair is None:
        return key
    index = 1 if lang == "zh-CN" else 0
    if section is None:
        return pair[index]
    return f"{section[index]}{'：' if index else ': '}{pair[index]}"


def attention_phrases(counts: Mapping[str, int], lang: str = "zh-CN") -> list[str]:
    """What a run left for a person, in words, for each attention count above zero (in count order)."""
    index = 1 if lang == "zh-CN" else 0
    phrases = []
    for key, value in counts.items():
        section, base = _split(key)
        if base in ATTENTION and isinstance(value, int) and value > 0:
            phrase = ATTENTION[base][index].format(n=value)
            phrases.append(f"{section[index]}{'：' if index else ': '}{phrase}" if section else phrase)
    return phrases


def warned_status(status: RunStatus, counts: Mapping[str, int]) -> RunStatus:
    """``with_warnings`` for a succeeded run whose counts leave work for a person, else ``status``."""
    if status == RunStatus.SUCCEEDED and attention_phrases(counts, "en"):
        return RunStatus.WITH_WARNINGS
    return status

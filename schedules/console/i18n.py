"""Interface text in English and Simplified Chinese, chosen from the browser's Accept-Language.

A ``lang`` cookie (set by the language links) wins over the header. Keys are short English
phrases; a missing Chinese text falls back to English rather than to the key.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGES", "Translator", "negotiate"]

LANGUAGES = ("en", "zh-CN")

ZH: dict[str, str] = {
    "Backroom console": "Backroom 控制台",
    "Bots": "机器人",
    "Runs": "运行记录",
    "Audit": "审计日志",
    "Log in": "登录",
    "Log out": "退出",
    "User": "用户名",
    "Password": "密码",
    "Wrong user name or password.": "用户名或密码错误。",
    "Your session has expired; please log in again.": "会话已过期，请重新登录。",
    "Too many failed log-ins; wait a few minutes and try again.": "登录失败次数过多，请几分钟后再试。",
    "throttled": "已限制",
    "Bot": "机器人",
    "Last run": "上次运行",
    "Next run": "下次运行",
    "Success (7 days)": "成功率（7 天）",
    "Schedule": "计划",
    "never": "从未运行",
    "none": "无",
    "paused": "已暂停",
    "Pause": "暂停",
    "Resume": "恢复",
    "Run now": "立即运行",
    "Recent runs": "最近运行",
    "Parameters": "参数",
    "Condition": "触发条件",
    "holds": "成立",
    "does not hold": "不成立",
    "not evaluated yet": "尚未评估",
    "last value": "最新值",
    "last start": "上次启动",
    "Mailbox": "邮箱",
    "Queues": "工作队列",
    "Workers": "执行节点",
    "Execution backend": "执行后端",
    "This instance": "本实例",
    "leader": "主节点",
    "standby": "备用",
    "Process": "进程",
    "Heartbeat lease ends": "心跳租约到期",
    "Queues taken": "可接队列",
    "Alive": "存活",
    "Current runs": "当前运行",
    "Queue": "队列",
    "Consumers": "消费者",
    "Oldest waiting": "最早等待",
    "Reference": "参考键",
    "Attempts": "尝试次数",
    "Deadline": "截止时间",
    "Payload": "内容",
    "Retry": "重试",
    "Drop": "放弃",
    "pending": "等待中",
    "working": "处理中",
    "done": "已完成",
    "business_failed": "业务失败",
    "dropped": "已放弃",
    "queue-retry": "队列重试",
    "queue-drop": "队列放弃",
    "refused": "被拒绝",
    "Status": "状态",
    "Started": "开始时间",
    "Queued": "排队时间",
    "Finished": "结束时间",
    "Duration": "耗时",
    "Trigger": "触发方式",
    "By": "操作人",
    "Summary": "摘要",
    "Log": "日志",
    "Later lines": "后续日志",
    "Error": "错误",
    "Traceback": "调用栈",
    "Artifacts": "产出文件",
    "Download": "下载",
    "Cancel run": "取消运行",
    "Dry run": "演练（不写入）",
    "The parameters were not accepted; see the fields marked below.": "参数未通过校验，请查看下方标出的字段。",
    "Nothing has run yet.": "还没有运行记录。",
    "No artifacts.": "没有产出文件。",
    "When": "时间",
    "Who": "操作人",
    "Action": "操作",
    "Target": "对象",
    "From": "来源",
    "Outcome": "结果",
    "Details": "详情",
    "Older": "更早",
    "All bots": "全部机器人",
    "All statuses": "全部状态",
    "Filter": "筛选",
    "Forbidden": "无权操作",
    "Your role does not allow this action.": "你的角色不允许此操作。",
    "Not found": "未找到",
    "The form expired; please try again.": "表单已失效，请重试。",
    "on demand only": "仅按需运行",
    "Choose a file": "选择文件",
    "saved into": "保存到",
    "or a file already in the inbox": "或选择收件箱中已有的文件",
    "live": "实时",
    "Counts": "计数",
    "Progress": "进度",
    "Role": "角色",
    "failures first": "失败的排在前面",
    "yes": "是",
    "no": "否",
    "default": "默认值",
    "Nothing matches.": "没有符合条件的记录。",
    "Run": "运行",
    # statuses
    "queued": "排队中",
    "running": "运行中",
    "succeeded": "成功",
    "failed": "失败",
    "timed_out": "超时",
    "cancelled": "已取消",
    "interrupted": "已中断",
    "skipped": "已跳过",
    # audit actions
    "trigger": "触发运行",
    "cancel": "取消运行",
    "pause": "暂停",
    "resume": "恢复",
    "login": "登录",
    "logout": "退出",
    "upload": "上传文件",
    "read-audit": "查看审计日志",
    "ok": "成功",
    "denied": "拒绝",
    "rejected": "参数无效",
}


def negotiate(accept_language: str | None, cookie: str | None = None) -> str:
    """``zh-CN`` when the cookie or the browser's first acceptable language is Chinese, else ``en``."""
    if cookie in LANGUAGES:
        return cookie
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        lang = "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


class Translator:
    """``t("Run now")`` in the negotiated language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, text: str, **values: object) -> str:
        out = ZH.get(text, text) if self.lang == "zh-CN" else text
        return out.format(**values) if values else out

"""The message catalogue: interface text in English and Simplified Chinese.

The console chooses the language from the browser's Accept-Language; alerts take ``[notify] language``.
Count names and "what needs attention" phrases live in :mod:`schedules.counts`, reached through
:meth:`Translator.count` and :meth:`Translator.attention`.

A ``lang`` cookie (set by the language links) wins over the header. Keys are short English
phrases; a missing Chinese text falls back to English rather than to the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["LANGUAGES", "PARAMS_ZH", "ZH", "Translator", "negotiate", "translate_message"]

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
    "Alive": "存活",
    "Current runs": "当前运行",
    "Queues taken": "可接队列",
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
    "with_warnings": "需关注",
    # triggers
    "schedule": "定时",
    "manual": "手动",
    "api": "接口调用",
    "file": "文件到达",
    "mail": "邮件到达",
    "condition": "条件触发",
    "queue": "队列",
    "chain": "链式触发",
    "retry": "自动重试",
    "requeue": "重新排队",
    # alerts (schedules.notifications)
    "Needs attention": "待处理",
    "Open run {id}": "打开运行记录 {id}",
    "Run id": "运行编号",
    "A file or folder it needs does not exist": "所需的文件或文件夹不存在",
    "It was not allowed to read or write a file": "无权读写文件",
    "The system it talks to refused the connection": "对接的系统拒绝连接",
    "The system it talks to did not answer in time": "对接的系统未及时响应",
    "A secret it needs is not set": "所需的密钥未设置",
    "The configuration is wrong": "配置有误",
    "The input was not accepted": "输入未被接受",
    # roles
    "viewer": "只读用户",
    "operator": "操作员",
    "admin": "管理员",
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


#: Run-now form labels by parameter name (a bot's params are named alike across bots)
PARAMS_ZH: dict[str, str] = {
    "inbox": "收件箱文件夹",
    "claims": "报销汇总表",
    "claim_month": "报销月份",
    "employee": "员工",
    "file": "文件",
    "day": "日期",
    "report": "生成报告",
    "backfill_days": "补采天数",
    "sources": "数据源",
    "resend": "重新发送",
    "name": "迁移名称",
    "full": "全量",
    "max_batches": "最多批次",
    "hires": "入职名单",
    "leavers": "离职名单",
    "today": "日期",
    "payroll": "工资表",
    "roster": "花名册",
    "month": "月份",
    "ytd": "本年累计",
    "override": "覆盖",
    "check_only": "仅核对",
    "records": "人事记录",
    "template": "模板",
    "photos": "照片文件夹",
    "department": "部门",
    "statement": "对账单文件",
    "fetch": "从网银下载",
    "start": "开始日期",
    "end": "结束日期",
    "account": "账户",
    "ledger": "账簿文件",
    "review": "已复核工作簿",
    "action": "操作",
    "limit": "最多工单数",
    "ticket": "工单",
    "recheck": "重新处理的工单",
    "text": "文本",
    "repeat": "重复次数",
    "seconds": "秒数",
    "steps": "步数",
    "interval": "间隔",
    "report_date": "报告日期",
    "mode": "模式",
    "shout": "大写",
    "label": "标签",
    "statement_file": "对账单文件",
}

ZH.update(
    {
        # Run-now help texts (the bots' parameter descriptions)
        "which migration of [bots.migrate.config.migrations] to run ('' = the only one)": (
            "要运行的迁移（[bots.migrate.config.migrations] 中的名称；留空 = 唯一的那个）"
        ),
        "ignore the incremental cursor and read everything": "忽略增量游标，读取全部数据",
        "stop after this many batches (0 = all)": "处理这么多批次后停止（0 = 全部）",
        "one statement file to import (any format)": "要导入的一个对账单文件（任意格式）",
        "download statements from the bank portal first": "先从网银下载对账单",
        "first day to fetch (default: yesterday)": "下载的起始日期（默认：昨天）",
        "last day to fetch (default: start)": "下载的结束日期（默认：与开始日期相同）",
        "only this account (default: all configured)": "只处理此账户（默认：全部已配置账户）",
        "a ledger Excel export instead of the configured source": "用此账簿 Excel 导出文件代替配置的来源",
        "a reviewed workbook whose decisions to apply": "要应用其复核结论的工作簿",
        "at most this many tickets this run": "本次最多处理的工单数",
        "only this ticket id": "只处理此工单号",
        "log lines to write": "要写入的日志行数",
        "seconds between lines": "每行之间的秒数",
        "the business day to report": "要报告的业务日期",
        "a statement to read": "要读取的对账单",
        "—": "—",
        # the bots' one-line summaries (Bot.summary)
        "OCR receipts and VAT invoices, audit them against the rules, write the claim workbook": (
            "识别小票和增值税发票，按规则审核，生成报销工作簿"
        ),
        "Pull contact-centre metrics, detect anomalies, send the daily 数据通报 with a workbook": (
            "采集呼叫中心指标，发现异常，发送每日数据通报及工作簿"
        ),
        "Move records between systems (SQL, REST, files, web forms): incremental, resumable, proved": (
            "在系统之间迁移数据（SQL、REST、文件、网页表单）：增量、可续跑、逐条核验"
        ),
        "Create new hires' accounts and groups; hand over and disable leavers' accounts; a checklist workbook": (
            "为新员工开通账号和权限组；为离职员工移交并停用账号；生成核对清单"
        ),
        "Check the month's payroll sheet (sums, totals, 个税, contributions) and e-mail encrypted payslips": (
            "核对当月工资表（合计、总额、个税、社保公积金），以邮件发送加密工资条"
        ),
        "Render one employee profile (员工档案) per person from HR records and a .docx template, with PDF": (
            "根据人事记录和 .docx 模板为每人生成员工档案，并导出 PDF"
        ),
        "Match bank statements against the ledger; report exceptions and the 余额调节表": (
            "将银行对账单与账簿勾对；报告未达账项并编制余额调节表"
        ),
        "Fill complaint tickets from their text; call back, close and archive resolved ones": (
            "根据投诉工单内容自动填写字段；对已解决工单回访、结案并归档"
        ),
    }
)

#: messages made at run time (pydantic's field errors, "no bot 'x'") → their Chinese form; first match wins
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Field required$"), "必填"),
    (re.compile(r"^Input should be greater than or equal to (.+)$"), "应大于或等于 {0}"),
    (re.compile(r"^Input should be greater than (.+)$"), "应大于 {0}"),
    (re.compile(r"^Input should be less than or equal to (.+)$"), "应小于或等于 {0}"),
    (re.compile(r"^Input should be less than (.+)$"), "应小于 {0}"),
    (re.compile(r"^Input should be a valid integer\b.*$"), "应为整数"),
    (re.compile(r"^Input should be a finite number$"), "应为有限的数字"),
    (re.compile(r"^Input should be a valid number\b.*$"), "应为数字"),
    (re.compile(r"^Input should be a valid date\b.*$"), "应为日期（格式 YYYY-MM-DD）"),
    (re.compile(r"^Input should be a valid datetime\b.*$"), "应为日期时间（格式 YYYY-MM-DD HH:MM）"),
    (re.compile(r"^Input should be a valid time\b.*$"), "应为时间（格式 HH:MM）"),
    (re.compile(r"^Input should be a valid boolean\b.*$"), "应为是或否"),
    (re.compile(r"^Input should be a valid string$"), "应为文本"),
    (re.compile(r"^Input should be a valid (list|array)$"), "应为列表"),
    (re.compile(r"^Input should be a valid dictionary\b.*$"), "应为对象（键值对）"),
    (re.compile(r"^Input should be (.+)$"), "应为以下之一：{0}"),
    (re.compile(r"^String should have at least (\d+) characters?$"), "至少 {0} 个字符"),
    (re.compile(r"^String should have at most (\d+) characters?$"), "最多 {0} 个字符"),
    (re.compile(r"^String should match pattern (.+)$"), "格式不符（应匹配 {0}）"),
    (re.compile(r"^List should have at least (\d+) items?.*$"), "至少 {0} 项"),
    (re.compile(r"^List should have at most (\d+) items?.*$"), "最多 {0} 项"),
    (re.compile(r"^Extra inputs are not permitted$"), "不接受此参数"),
    (re.compile(r"^not valid JSON: (.+)$"), "不是有效的 JSON：{0}"),
    (re.compile(r"^nested more than (\d+) levels deep$"), "嵌套超过 {0} 层"),
    (re.compile(r"^path (.+?) refused: it does not exist under (.+)$"), "路径 {0} 被拒绝：在 {1} 下不存在"),
    (re.compile(r"^path (.+?) refused: (.+)$"), "路径 {0} 被拒绝：{1}"),
    (re.compile(r"^Value error, (.+)$"), "值无效：{0}"),
    (re.compile(r"^no bot (.+)$"), "没有名为 {0} 的机器人"),
    (re.compile(r"^no run (.+)$"), "没有编号为 {0} 的运行记录"),
    (re.compile(r"^no queue (.+)$"), "没有名为 {0} 的队列"),
    (re.compile(r"^no action (.+)$"), "没有 {0} 这个操作"),
    (re.compile(r"^run (\S+) has no artifact (.+)$"), "运行记录 {0} 没有产出文件 {1}"),
    (re.compile(r"^Not Found$"), "未找到"),
    (re.compile(r"^(\S+) \((\w+)\) may not ([\w-]+): needs role (\w+)$"), "{0}（{1}）无权执行“{2}”：需要 {3} 角色"),
]


def translate_message(text: str, lang: str) -> str:
    """A message made at run time in ``lang``: the catalogue's text, else the first matching pattern."""
    if lang != "zh-CN":
        return text
    if text in ZH:
        return ZH[text]
    for pattern, template in _PATTERNS:
        match = pattern.match(text)
        if match:
            # a role or action named inside is a catalogue word too; 'a' or 'b' reads 'a'、'b'
            groups = [ZH.get(g, g).replace("' or '", "'、'").replace("', '", "'、'") for g in match.groups()]
            return template.format(*groups)
    return text


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

    def param(self, name: str, label: str) -> str:
        """A Run-now form label: the parameter's Chinese name where the catalogue has one."""
        return PARAMS_ZH.get(name, label) if self.lang == "zh-CN" else label

    def message(self, text: str) -> str:
        """A message made at run time (a field error, "no bot 'x'"), translated by pattern where known."""
        return translate_message(str(text), self.lang)

    def count(self, key: str) -> str:
        """A run's count key (``values_stored``) in words."""
        from backroom.schedules.counts import count_label

        return count_label(key, self.lang)

    def attention(self, counts: Mapping[str, int] | None) -> list[str]:
        """What a run left for people, in words ("3 张未通过审核")."""
        from backroom.schedules.counts import attention_phrases

        return attention_phrases(counts or {}, self.lang)

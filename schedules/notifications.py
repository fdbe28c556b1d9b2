"""Messages about runs: per-bot targets and the global on-failure targets, through apprise."""

from __future__ import annotations

import logging
import threading

from backroom.bots.sdk.notify import Notifier
from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.counts import attention_phrases
from backroom.schedules.durations import format_duration
from backroom.schedules.history import Run
from backroom.schedules.i18n import Translator
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.status import BAD, RunStatus

__all__ = ["notify_run", "plain_error", "render_message", "targets_for"]

log = logging.getLogger(__name__)

_ICON = {
    RunStatus.SUCCEEDED: "✅",
    RunStatus.WITH_WARNINGS: "⚠️",
    RunStatus.FAILED: "❌",
    RunStatus.TIMED_OUT: "⏱",
    RunStatus.CANCELLED: "⏹",
    RunStatus.INTERRUPTED: "⚠",
    RunStatus.SKIPPED: "⏭",
}


def targets_for(settings: Settings, run: Run) -> list[str]:
    """The bot's own targets when its ``notify_on`` asks for this ending; the global ones on failure.

    A run that finished with warnings (rejects, failed audits, items to review) goes to the bot's
    targets when they want failures, warnings or everything: someone has work to do.
    """
    bot = settings.bots.get(run.bot, BotSettings())
    failed = run.status in BAD
    warned = run.status == RunStatus.WITH_WARNINGS
    targets: list[str] = []
    wants = set(bot.notify_on)
    if (
        "always" in wants
        or (failed and "failure" in wants)
        or (warned and wants & {"failure", "warning", "success"})
        or (run.status == RunStatus.SUCCEEDED and "success" in wants)
    ):
        targets.extend(bot.notify)
    if failed:
        targets.extend(t for t in settings.notify.on_failure if t not in targets)
    return targets


#: the start of an error line → what it means in plain words (catalogue keys)
_PLAIN_ERRORS = {
    "FileNotFoundError": "A file or folder it needs does not exist",
    "PermissionError": "It was not allowed to read or write a file",
    "ConnectionRefusedError": "The system it talks to refused the connection",
    "TimeoutError": "The system it talks to did not answer in time",
    "MissingSecretError": "A secret it needs is not set",
    "ConfigError": "The configuration is wrong",
    "PathRefused": "The configuration is wrong",
    "BusinessError": "The input was not accepted",
}


def plain_error(error: str, t: Translator) -> str:
    """The first line of ``error`` led by what it means in words (the exception name stays out)."""
    first = error.splitlines()[0][:500] if error else ""
    name, sep, rest = first.partition(": ")
    words = _PLAIN_ERRORS.get(name.rsplit(".", 1)[-1]) if sep else None
    return f"{t(words)}：{rest}" if words and t.lang == "zh-CN" else f"{t(words)}: {rest}" if words else first


def render_message(settings: Settings, run: Run) -> tuple[str, str]:
    """Title and Markdown body in the configured language (``[notify] language``, default zh-CN).

    A short card a person acts on: the bot, how it ended, what was left for people in words, what
    failed in plain words, how long it took, and a link to the run.
    """
    t = Translator(settings.notify.language)
    sep = "：" if t.lang == "zh-CN" else ": "
    status = RunStatus(run.status)
    icon = _ICON.get(status, "")
    title = f"{icon} Backroom · {run.bot} {t(status.value)}"
    trigger = t(str(run.trigger)) + ((" · " + run.triggered_by) if run.triggered_by else "")
    lines = [
        f"**{t('Bot')}**{sep}{run.bot}",
        f"**{t('Status')}**{sep}{t(status.value)}",
        f"**{t('Trigger')}**{sep}{trigger}",
        f"**{t('Duration')}**{sep}{format_duration(run.duration_s)}",
    ]
    phrases = attention_phrases(run.counts or {}, t.lang)
    if phrases:
        lines.append(f"**{t('Needs attention')}**{sep}{('；' if t.lang == 'zh-CN' else '; ').join(phrases)}")
    if run.summary:
        lines.append(f"**{t('Summary')}**{sep}{run.summary}")
    if run.error:
        lines.append(f"**{t('Error')}**{sep}{plain_error(run.error, t)}")
    if settings.notify.console_url:
        link = f"{settings.notify.console_url.rstrip('/')}/runs/{run.id}"
        lines.append(f"[{t('Open run {id}', id=run.id[:8])}]({link})")
    else:
        lines.append(f"{t('Run id')}{sep}{run.id}")
    return title, "\n\n".join(lines)


def notify_run(settings: Settings, run: Run, *, wait: bool = False) -> threading.Thread | None:
    """Send the run's message to whoever should hear about it, in the background."""
    targets = targets_for(settings, run)
    if not targets:
        return None
    title, body = render_message(settings, run)
    resolver = SecretResolver()

    def send() -> None:
        try:
            Notifier(targets, resolver.resolve).send(title, body)
        except Exception as exc:
            log.error("notification for run %s failed: %s", run.id[:8], resolver.redactor.redact(str(exc)))

    thread = threading.Thread(target=send, name=f"notify-{run.id[:8]}", daemon=True)
    thread.start()
    if wait:
        thread.join(timeout=60)
    return thread

"""Messages about runs: per-bot targets and the global on-failure targets, through apprise."""

from __future__ import annotations

import logging
import threading

from backroom.bots.sdk.notify import Notifier
from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.durations import format_duration
from backroom.schedules.history import Run
from backroom.schedules.settings import BotSettings, Settings
from backroom.schedules.status import BAD, RunStatus

__all__ = ["notify_run", "render_message", "targets_for"]

log = logging.getLogger(__name__)

_ICON = {
    RunStatus.SUCCEEDED: "✅",
    RunStatus.FAILED: "❌",
    RunStatus.TIMED_OUT: "⏱",
    RunStatus.CANCELLED: "⏹",
    RunStatus.INTERRUPTED: "⚠",
    RunStatus.SKIPPED: "⏭",
}


def targets_for(settings: Settings, run: Run) -> list[str]:
    bot = settings.bots.get(run.bot, BotSettings())
    failed = run.status in BAD
    targets: list[str] = []
    wants = set(bot.notify_on)
    if (
        "always" in wants
        or (failed and "failure" in wants)
        or (run.status == RunStatus.SUCCEEDED and "success" in wants)
    ):
        targets.extend(bot.notify)
    if failed:
        targets.extend(t for t in settings.notify.on_failure if t not in targets)
    return targets


def render_message(settings: Settings, run: Run) -> tuple[str, str]:
    """Title and Markdown body: bot, status, summary, duration and a link to the run."""
    icon = _ICON.get(run.status, "")
    title = f"{icon} Backroom · {run.bot} {run.status}"
    lines = [
        f"**Bot**: {run.bot}",
        f"**Status**: {run.status}",
        f"**Trigger**: {run.trigger}" + (f" by {run.triggered_by}" if run.triggered_by else ""),
        f"**Duration**: {format_duration(run.duration_s)}",
    ]
    if run.summary:
        lines.append(f"**Summary**: {run.summary}")
    if run.error:
        lines.append(f"**Error**: {run.error.splitlines()[0][:500]}")
    if settings.notify.console_url:
        lines.append(f"[Open run {run.id[:8]}]({settings.notify.console_url.rstrip('/')}/runs/{run.id})")
    else:
        lines.append(f"Run id: {run.id}")
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

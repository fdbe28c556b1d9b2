"""Every text a run reports, passed through the run's redactor before it travels or is stored.

A bot's secret must not reach history by any door: not a log line, and not its ``Result`` either
(summary, outputs, the *keys* of its counts), its progress label, or an error text. The child scrubs each
message before it sends it (with the redactor that knows what the bot resolved), and the supervisor
scrubs it again on arrival (with the values it resolved for the run), so a bot that writes to the pipe
itself gains nothing. Standard library only: the run's process loads it from the forkserver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from backroom.schedules.pipe import ChildMessage, Failed, Finished, LogLine, Progress

__all__ = ["scrub_message", "scrub_value"]

Redact = Callable[[str], str]


def scrub_value(value: Any, redact: Redact) -> Any:
    """A JSON value with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): scrub_value(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, redact) for v in value]
    return value


def _scrub_counts(counts: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """Counts with redacted keys; two keys that redact alike add up instead of hiding each other."""
    out: dict[str, Any] = {}
    for key, number in counts.items():
        name = redact(str(key))
        out[name] = out[name] + number if name in out else number
    return out


def scrub_message(message: ChildMessage, redact: Redact) -> ChildMessage:
    """``message`` with every text in it redacted."""
    match message:
        case LogLine(at, level, logger, text):
            return LogLine(at, level, logger, redact(text))
        case Progress(label, done, total):
            return Progress(redact(label), done, total)
        case Finished(_, summary, counts, outputs):
            return replace(
                message,
                summary=redact(summary) if summary else summary,
                counts=_scrub_counts(counts or {}, redact),
                outputs=scrub_value(outputs or {}, redact),
            )
        case Failed(error, tb):
            return replace(message, error=redact(error), traceback=redact(tb))
    return message

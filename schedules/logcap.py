"""The cap on a run's log: so many lines, so many bytes a line; the rest counted, not stored.

A bot that logs in a loop, or dumps a whole file into one line, must not fill the database or make
its run page weigh 100 MB. The supervisor passes every line through one :class:`LogBudget`: a line
longer than the limit is cut (and says how much was cut), lines past the limit are only counted, and
:meth:`LogBudget.closing_note` gives the one line that says what was left out.
"""

from __future__ import annotations

import datetime as dt

from backroom.schedules.outcome import LogEntry

__all__ = ["LogBudget", "cut_text"]


def cut_text(text: str, max_bytes: int) -> tuple[str, int]:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (on a character boundary); and the bytes cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text, 0
    kept = data[:max_bytes].decode("utf-8", "ignore")
    return kept, len(data) - len(kept.encode("utf-8", "surrogatepass"))


class LogBudget:
    """Admits a run's log lines up to ``max_lines``, each up to ``max_line_bytes``; counts the rest."""

    def __init__(self, max_lines: int, max_line_bytes: int) -> None:
        self.max_lines = max_lines
        self.max_line_bytes = max_line_bytes
        self.stored = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0

    @property
    def full(self) -> bool:
        """True once the run has used its lines up (what comes now is only counted)."""
        return self.stored >= self.max_lines

    def admit(self, entry: LogEntry) -> LogEntry | None:
        """The entry to store (cut when too long), or None when the run has used its lines up."""
        if self.full:
            self.dropped_lines += 1
            self.dropped_bytes += len(entry.message.encode("utf-8", "surrogatepass"))
            return None
        self.stored += 1
        text, cut = cut_text(entry.message, self.max_line_bytes)
        if not cut:
            return entry
        self.dropped_bytes += cut
        return entry._replace(message=f"{text} … [{cut} bytes cut]")

    def count_dropped(self, lines: int, size: int) -> None:
        """Lines the run's process left out itself (it stops sending at the same cap)."""
        self.dropped_lines += max(0, lines)
        self.dropped_bytes += max(0, size)

    def closing_note(self, at: dt.datetime) -> LogEntry | None:
        """One line saying what was left out, or None when nothing was."""
        if not self.dropped_lines and not self.dropped_bytes:
            return None
        text = (
            f"{self.dropped_lines} more lines, {self.dropped_bytes} bytes left out "
            f"(a run's log keeps {self.max_lines} lines of at most {self.max_line_bytes} bytes)"
        )
        return LogEntry(at, "WARNING", "backroom.runner", text)

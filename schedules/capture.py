"""A run's stdout and stderr (file descriptors 1 and 2) into its log, line by line.

Why the descriptors and not ``sys.stdout``: a bot's ``print``, a C library and a program the bot starts
all write to fd 1 and 2, which a run's process otherwise shares with serve (its terminal, its journal)
unredacted. Each descriptor becomes a pipe whose reader turns lines into log records, so they pass the
run's redactor and its caps like any other line. Standard library only: loaded from the forkserver.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["OutputCapture"]

Emit = Callable[[str, str], None]  # (stream name, line)

_CHUNK = 65536


class OutputCapture:
    """Redirects fd 1 and 2 into ``emit`` while started; lines longer than ``max_line_bytes`` are cut."""

    def __init__(self, emit: Emit, max_line_bytes: int) -> None:
        self._emit = emit
        self._max = max_line_bytes
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            reader = threading.Thread(target=self._read, args=(read_end, name), daemon=True, name=f"capture-{name}")
            reader.start()
            self._readers.append(reader)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    def stop(self, wait: float = 1.0) -> None:
        """Flush, point fd 1 and 2 at /dev/null, and let the readers finish what was written.

        A process the bot started may still hold the pipe open; the readers then stop waiting after
        ``wait`` seconds (that process is killed with the run anyway).
        """
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            os.dup2(null, 2)
        finally:
            os.close(null)
        deadline = time.monotonic() + wait
        for reader in self._readers:
            reader.join(max(0.0, deadline - time.monotonic()))

    def _read(self, fd: int, name: str) -> None:
        pending = b""
        cut = 0
        try:
            while True:
                try:
                    chunk = os.read(fd, _CHUNK)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._line(name, line, cut)
                    cut = 0
                if len(pending) > self._max:  # a line with no end yet: keep its start, count the rest
                    cut += len(pending) - self._max
                    pending = pending[: self._max]
            if pending or cut:
                self._line(name, pending, cut)
        finally:
            os.close(fd)

    def _line(self, name: str, data: bytes, cut: int) -> None:
        text = data[: self._max].decode("utf-8", "replace").rstrip("\r")
        cut += max(0, len(data) - self._max)
        if cut:
            text += f" … [{cut} bytes cut]"
        if text.strip() or cut:
            self._emit(name, text)

"""A run's process as the reaper of everything it starts, so that it can tell when it leaves nothing behind.

Scanning ``/proc`` for a run's marker after every run (:mod:`schedules.leftovers`) costs milliseconds of
serve's time per run, and almost every run starts no process at all. A *child subreaper* (Linux
``PR_SET_CHILD_SUBREAPER``) adopts every orphaned descendant — a ``setsid`` or double-forked daemon
included — so when the run's process has no child left, it has no descendant anywhere, and says so with
its result; serve then skips the scan. A run that ends any other way (timeout, cancel, crash) is scanned
as before. Standard library only: a run's process loads it from the forkserver.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

__all__ = ["has_descendants", "make_subreaper"]

_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def make_subreaper() -> bool:
    """Adopt this process's orphaned descendants; False where the kernel cannot (then nothing is claimed)."""
    if not sys.platform.startswith("linux"):
        return False
    return int(_libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0


def has_descendants(subreaper: bool) -> bool:
    """Whether anything this process started may still be running (always True unless it is a subreaper).

    Exited children are reaped on the way (they are zombies, not leftovers)."""
    if not subreaper:
        return True
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False  # no child at all, so no descendant: orphans would have been adopted
        if pid == 0:
            return True  # a child is still running

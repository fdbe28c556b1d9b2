"""Closing a process's ``/proc/PID`` files and memory to other processes of the same OS user.

Serve holds every secret (in its environment, its memory), and a run holds its bot's. A bot runs under
serve's OS user unless ``run_as_user`` is set, and a process may read ``/proc/PID/environ`` (and, where
ptrace is not restricted, the memory) of any other process of its user — unless that process is not
*dumpable*: then its ``/proc/PID`` files belong to root and ptrace is refused. So serve makes itself
undumpable before it starts runs, and each run's process does the same before its bot loads. A
program a run starts (``exec``) is dumpable again, but carries only the run's environment.
Standard library only: a run's process loads it from the forkserver.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["dumpable", "make_undumpable"]

_PR_GET_DUMPABLE = 3
_PR_SET_DUMPABLE = 4


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, found once: the process's own symbols hold it (``find_library`` would run
    ``ldconfig`` in a subprocess — 6 ms of every run's start)."""
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int = 0) -> int:
    if not sys.platform.startswith("linux"):
        return -1
    return int(_libc().prctl(option, value, 0, 0, 0))


def make_undumpable() -> bool:
    """Make this process undumpable (no core files either: they would hold its secrets); False if not Linux."""
    return _prctl(_PR_SET_DUMPABLE, 0) == 0


def dumpable() -> bool:
    """Whether this process is dumpable (True where that cannot be told)."""
    state = _prctl(_PR_GET_DUMPABLE)
    return state != 0

"""Killing what a run left behind: its process group, and every process carrying its marker.

A run's process leads its own process group, so ``killpg`` takes down what it started, but not a
grandchild that called ``setsid`` (or ``daemon()``): that one has a group of its own, and would outlive
a timeout as easily as a successful run. What it cannot shed is the environment it was started with:
every process a run starts inherits :data:`~schedules.runenv.RUN_ID_VARIABLE` in its
``/proc/PID/environ``. After every run, whatever its end, the supervisor kills the group and then
every process whose environment names the run (Linux; elsewhere only the group is killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from backroom.schedules.runenv import RUN_ID_VARIABLE

__all__ = ["kill_leftovers", "marked_processes"]

PROC = Path("/proc")
#: rounds of look-and-kill: a leftover may fork while it is being killed
_ROUNDS = 5


def marked_processes(run_id: str, proc: Path = PROC) -> list[int]:
    """Processes whose environment holds this run's marker (never this process)."""
    marker = f"{RUN_ID_VARIABLE}={run_id}".encode()
    me = os.getpid()
    found = []
    try:
        entries = list(proc.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_leftovers(run_id: str, pgid: int | None, proc: Path = PROC, *, scan: bool = True) -> int:
    """SIGKILL the run's process group and (``scan``) every process marked with ``run_id``; how many were
    marked. ``scan=False`` when the run's process reported that it left no process (:mod:`.reaper`)."""
    if pgid is not None and pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    if not scan:
        return 0
    killed: set[int] = set()
    for _ in range(_ROUNDS):
        pids = [pid for pid in marked_processes(run_id, proc) if pid not in killed or _alive(pid)]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
    return len(killed)


def _alive(pid: int) -> bool:
    """Still a running process (a zombie's environ reads empty, so it is never marked again)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True

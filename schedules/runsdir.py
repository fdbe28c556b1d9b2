"""Whether runs can write their folders: one probe for ``backroom check``, ``/health`` and each run.

A runs folder that cannot be written fails every run, so it must show where an admin looks: ``check``
lists it as a problem, ``/health`` says degraded, and each run fails with an error naming the folder.
The probe writes (and removes) a file, so it also answers for root, for whom permission bits say
nothing, and on a file system mounted read-only. It creates nothing that is not there yet.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["runs_folder_problem"]


def runs_folder_problem(path: Path) -> str | None:
    """None when runs can write under ``path``; else a sentence naming the folder and why not."""
    target = path
    while not target.exists():  # a folder still to be made: its nearest existing parent must take it
        if target.parent == target:
            break
        target = target.parent
    if not target.is_dir():
        return f"the runs folder {path} cannot be made: {target} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=target, prefix=".backroom-probe-"):
            pass
    except OSError as exc:
        return f"the runs folder {path} is not writable: {exc.strerror or exc}"
    return None

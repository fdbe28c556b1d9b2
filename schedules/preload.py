"""Imported once by the forkserver so that every run's process starts with these modules loaded."""

from __future__ import annotations

import bots.context
import bots.registry
import schedules.worker  # noqa: F401

try:  # importing every bot module makes the first line of a run come in milliseconds
    bots.registry.discover()
except Exception:
    pass

"""Imported once by the forkserver so that every run's process starts with these modules loaded."""

from __future__ import annotations

import contextlib

import bots.context
import bots.registry
import schedules.worker  # noqa: F401

# Importing every bot module here makes a run's first line come in milliseconds. A broken bot is
# reported when it is run, not here.
with contextlib.suppress(Exception):
    bots.registry.discover()

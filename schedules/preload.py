"""Imported once by the forkserver so that every run's process starts with these modules loaded."""

from __future__ import annotations

import contextlib
import gc

import backroom.bots.sdk.context
import backroom.schedules.discovery
import backroom.schedules.worker  # noqa: F401

# Importing every bot module here makes a run's first line come in milliseconds. A broken bot is
# reported when it is run, not here.
with contextlib.suppress(Exception):
    backroom.schedules.discovery.discover()

# Everything loaded so far lives as long as the server: move it out of the collector's sight, so a
# run's process never walks (and so copies, page by page) the inherited heap during a collection.
gc.collect()
gc.freeze()

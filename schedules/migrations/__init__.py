"""Migrations of the runner's own tables: run history, audit, scheduler bookkeeping, the owner lock.

The revisions are in ``versions/`` and are applied by :class:`backroom.schedules.history.History`
when it opens the database (so by every runner, worker and CLI command) and by
``backroom db upgrade``. How migrations work, and why each bot keeps a history of its own, is told in
:mod:`backroom.bots.sdk.db`. APScheduler's job-store table (``backroom_apscheduler_jobs``) is not
here: its layout is APScheduler's, and APScheduler creates it.

To change a table: edit the model, then add a revision module to ``versions/`` whose
``down_revision`` is the current head, spelling its operations out (``op.add_column(...)``); the
test ``test_models_match_the_migrations`` fails until the two agree.
"""

from __future__ import annotations

from pathlib import Path

from backroom.bots.sdk.db import Schema

__all__ = ["SCHEMA"]

SCHEMA = Schema("backroom", Path(__file__).resolve().parent / "versions")

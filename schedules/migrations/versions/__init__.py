"""Revisions of the runner's tables (``backroom_*``); loaded by Alembic, not imported."""

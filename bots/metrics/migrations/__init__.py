"""Revisions of the metrics bot's tables (schema ``metrics``); loaded by Alembic, not imported."""

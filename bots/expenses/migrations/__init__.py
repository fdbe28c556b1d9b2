"""Revisions of the expenses bot's tables (schema ``expenses``); loaded by Alembic, not imported."""

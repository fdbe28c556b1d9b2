"""Revisions of the tickets bot's tables (schema ``tickets``); loaded by Alembic, not imported."""

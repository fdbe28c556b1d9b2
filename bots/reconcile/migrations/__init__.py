"""Revisions of the reconcile bot's tables (schema ``reconcile``); loaded by Alembic, not imported."""

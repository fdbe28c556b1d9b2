"""Revisions of the SDK's checkpoint table (schema ``checkpoints``); loaded by Alembic, not imported."""

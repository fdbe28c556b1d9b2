"""Revisions of the payslips bot's tables (schema ``payslips``); loaded by Alembic, not imported."""

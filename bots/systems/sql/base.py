"""SQL databases as systems: the interface every SQL backend offers.

A bot that reads or writes another system's database (the migrate bot's SQL sources and
targets, a ledger query) asks for an engine and works in SQL; what differs between backends is
how the engine is made (a URL and a password reference for SQLAlchemy; a vendor's driver
elsewhere).

    ApplicationError
    └── ConfigError        the table has no usable url
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

from backroom.bots.systems.base import SystemAdapter

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["SqlDatabase"]


class SqlDatabase(SystemAdapter):
    """One database reached through SQLAlchemy."""

    KIND: ClassVar[str] = "sql"

    @abc.abstractmethod
    def engine(self) -> Engine:
        """A new engine for the database (the caller disposes of it)."""

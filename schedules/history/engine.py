"""The database connection and the identity of this process, shared by the history stores."""

from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from backroom.bots.sdk.db import make_engine, upgrade
from backroom.schedules.migrations import SCHEMA

__all__ = ["Store", "make_engine", "owner_alive", "process_owner", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_owner() -> str:
    """host:pid of this process: who supervises a run, who holds the job store."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process named by ``owner`` (host:pid) is still running on this host."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another host's runs are that host's business
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


class Store:
    """An engine and short transactions on it; each store adds the methods of its tables."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        upgrade(self.engine, SCHEMA)  # the tables, created or migrated (see backroom.schedules.migrations)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._session()

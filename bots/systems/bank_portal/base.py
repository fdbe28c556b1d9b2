"""The corporate online bank interface: log in, list accounts, fetch one statement, verified.

A fetched statement is *confirmed*: :func:`verify_download` parses the file and checks it holds as
many lines, and the closing balance, that the portal announced; an incomplete download is a
transient error (fetch it again), never a statement with lines missing.

    ApplicationError
    ├── ConfigError        the portal's table lacks url, password or the one-time-code source
    └── TransientError     a lost session, an expired code, an incomplete download
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from backroom.bots.sdk.errors import TransientError
from backroom.bots.systems.base import SystemAdapter

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["BankPortal", "FetchedStatement", "verify_download"]


@dataclass(frozen=True)
class FetchedStatement:
    path: Path
    account: str
    start: dt.date
    end: dt.date
    announced_lines: int
    announced_closing: Decimal | None


class BankPortal(SystemAdapter):
    """What every bank-portal backend offers, on a page the bot's ``ctx.browser()`` opened."""

    KIND: ClassVar[str] = "bank-portal"

    @abc.abstractmethod
    def login(self, page: Page) -> None:
        """Log in, one-time code included; raise if the portal does not let the bot in."""

    @abc.abstractmethod
    def accounts(self, page: Page) -> list[str]:
        """The account numbers the login may query."""

    @abc.abstractmethod
    def fetch(
        self, page: Page, account: str, start: dt.date, end: dt.date, folder: Path, fmt: str | None = None
    ) -> FetchedStatement:
        """Download one statement into ``folder`` and verify it against what the portal announced."""


def verify_download(fetched: FetchedStatement) -> None:
    """The file must parse and agree with what the portal announced, or the download is incomplete."""
    from backroom.bots.formats.statements import StatementError, parse_statement

    try:
        statements = parse_statement(fetched.path, account=fetched.account)
    except StatementError as exc:
        raise TransientError(f"the downloaded statement is incomplete or damaged: {exc}") from exc
    lines = sum(len(s.lines) for s in statements)
    closing = statements[-1].closing_balance if statements else None
    if lines != fetched.announced_lines:
        raise TransientError(f"downloaded {lines} lines but the portal announced {fetched.announced_lines}")
    if fetched.announced_closing is not None and closing is not None and closing != fetched.announced_closing:
        raise TransientError(f"downloaded closing balance {closing} ≠ announced {fetched.announced_closing}")

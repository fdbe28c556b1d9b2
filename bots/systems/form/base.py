"""Web forms as a write path, for systems whose only way in is a screen built for people.

A form adapter saves one record per call on a page of a logged-in browser and returns what the
screen *confirmed* ("inserted" or "updated"), or raises :class:`FormRejected` with the screen's
own words. Which fields the form has, what identifies a record, and where the system's read API
shows a record (for the read-back proof) come from the system's profile.

    BusinessError
    └── FormRejected       the form refused the record's values (never retried)
    ApplicationError
    └── TransientError     a page did not load, the session ended, the form went stale
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from backroom.bots.sdk.errors import BusinessError
from backroom.bots.systems.base import SystemAdapter

if TYPE_CHECKING:
    from playwright.async_api import Page

__all__ = ["FormAdapter", "FormRejected"]


class FormRejected(BusinessError):
    """The system refused the record after Save; the message is what the screen said."""


class FormAdapter(SystemAdapter):
    """One system's record form. Coroutines, so several pages of one browser work in parallel."""

    KIND: ClassVar[str] = "form"

    @property
    @abc.abstractmethod
    def key_field(self) -> str:
        """The field that identifies a record (its number)."""

    @property
    @abc.abstractmethod
    def fields(self) -> list[str]:
        """Every field the form can set, besides the key."""

    @abc.abstractmethod
    def record_path(self, key: str) -> str:
        """Where the system's read API shows one record (for comparing and proving)."""

    @abc.abstractmethod
    async def login(self, page: Page) -> None:
        """Log in on ``page``; the browser context shares the session with its other pages."""

    @abc.abstractmethod
    async def save(self, page: Page, key: str, values: Mapping[str, Any]) -> str:
        """Create or update one record; returns "inserted" or "updated" as the screen confirmed."""

"""The interface of an account directory, the kind ``accounts``: find, create, group, disable, hand over.

Onboarding and offboarding (:mod:`backroom.bots.onboarding`) speak only this interface; one module per
backend (``rt.py``: Request Tracker 5 through REST2). Every write returns what the system confirmed
by reading it back, never what was sent.

Errors: :class:`AccountRefused` (a business error) when the system refuses a value for this one
person (a name in use, an unknown group): record it and go on with the next person.
:class:`AccountSystemError` (an application error) when the system answers something unusable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from backroom.bots.sdk.errors import ApplicationError, BusinessError

__all__ = ["Account", "AccountDirectory", "AccountRefused", "AccountSystemError", "NewAccount"]


class AccountRefused(BusinessError):
    """The system refused a value for one account (a login in use, a group that does not exist)."""


class AccountSystemError(ApplicationError):
    """The account system answered something unusable (not the expected JSON, an unexpected status)."""


@dataclass(frozen=True)
class NewAccount:
    login: str
    email: str
    real_name: str
    organization: str = ""


@dataclass(frozen=True)
class Account:
    """An account as the system reports it."""

    id: str
    login: str
    email: str
    disabled: bool
    groups: frozenset[str] = field(default_factory=frozenset)  # group names


class AccountDirectory(ABC):
    """One system's accounts. Create one per run and :meth:`close` it."""

    @abstractmethod
    def find(self, login: str) -> Account | None:
        """The account, or None when there is none by that login."""

    @abstractmethod
    def create(self, new: NewAccount) -> Account:
        """Create the account; the result is read back."""

    @abstractmethod
    def add_to_groups(self, login: str, groups: list[str]) -> Account:
        """Make the account a member of ``groups`` (kept memberships stay); the result is read back."""

    @abstractmethod
    def disable(self, login: str) -> Account:
        """Disable the account so it can no longer log in or use its tokens; the result is read back."""

    @abstractmethod
    def open_work(self, login: str) -> list[str]:
        """Ids of the open items (tickets) the account owns."""

    @abstractmethod
    def reassign(self, item: str, to_login: str) -> str:
        """Give ``item`` to ``to_login``; returns the owner read back."""

    def close(self) -> None:  # noqa: B027 - optional for backends without a session
        """Release the session."""

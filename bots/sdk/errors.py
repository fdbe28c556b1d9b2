"""Errors a bot raises, split the way RPA practice splits them.

    BotError
    ├── BusinessError        the data is wrong (an invoice fails a rule, a form rejects a value):
    │                        record it, report it, carry on; never retried.
    └── ApplicationError     the machinery is wrong (a system is down, a page did not load):
        ├── TransientError   worth retrying (timeouts, 429/5xx, lost sessions);
        ├── ConfigError      the deployment is wrong (unknown system, bad option): fix config;
        └── MissingSecretError  a referenced secret is absent; names the reference, never a value.

The runner retries a run only when it ends in a ``TransientError``.
"""

from __future__ import annotations

__all__ = [
    "ApplicationError",
    "BotError",
    "BusinessError",
    "ConfigError",
    "MissingSecretError",
    "TransientError",
]


class BotError(Exception):
    """Base of every error a bot raises on purpose."""


class BusinessError(BotError):
    """A problem with the data itself: report it and go on with the next item."""


class ApplicationError(BotError):
    """A problem with the machinery: the run fails unless it is transient and retried."""


class TransientError(ApplicationError):
    """A passing fault (timeout, 429, 5xx, expired session): the runner may retry the run."""


class ConfigError(ApplicationError):
    """The configuration does not describe a usable system or option."""


class MissingSecretError(ApplicationError):
    """A secret reference could not be resolved. The message names the reference only."""

    def __init__(self, ref: str, why: str = "not set") -> None:
        super().__init__(f"secret {ref!r} is {why}")
        self.ref = ref

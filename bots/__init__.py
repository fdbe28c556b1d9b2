"""Backroom bots and the contract they follow (see :mod:`bots.bot`)."""

from bots.bot import Bot, NoConfig, Params, Result
from bots.context import Context, RunCancelled
from bots.errors import (
    ApplicationError,
    BotError,
    BusinessError,
    ConfigError,
    MissingSecretError,
    TransientError,
)

__all__ = [
    "ApplicationError",
    "Bot",
    "BotError",
    "BusinessError",
    "ConfigError",
    "Context",
    "MissingSecretError",
    "NoConfig",
    "Params",
    "Result",
    "RunCancelled",
    "TransientError",
]

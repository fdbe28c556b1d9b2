"""Backroom bots and the contract they follow (see :mod:`bots.bot`)."""

from backroom.bots.sdk.bot import Bot, NoConfig, Params, Result
from backroom.bots.sdk.context import Context, RunCancelled
from backroom.bots.sdk.errors import (
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

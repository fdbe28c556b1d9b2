"""The bot contract: what every bot is, takes and returns.

A bot is a class with a ``name``, a one-line ``summary``, a pydantic ``Params`` model (what a person
may pass for one run: CLI ``--param``, the console form, or the schedule), an optional ``Config``
model (deployment settings from ``[bots.NAME.config]`` in backroom.toml, validated by
``backroom check``) and ``run(ctx, params) -> Result``.

Bots are found in the ``bots`` package and through the entry-point group ``backroom.bots``, so a
company can ship its own bots as a separate distribution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar as DefaultTypeVar  # PEP 696 defaults, in typing from 3.13

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context

__all__ = ["Bot", "NoConfig", "Params", "Result"]


class Params(BaseModel):
    """Base for a bot's run parameters. Unknown parameters are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NoConfig(BaseModel):
    """The config model of a bot that needs no deployment settings."""

    model_config = ConfigDict(extra="forbid")


class Result(BaseModel):
    """What a run leaves behind besides its artifacts.

    ``status`` lets a bot finish its work and its report yet still mark the run failed (for example
    when rejects exceed their allowed ratio). ``outputs`` are small JSON values that a chained bot
    may receive as parameters.
    """

    status: Literal["succeeded", "failed"] = "succeeded"
    summary: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)


P = TypeVar("P", bound=BaseModel)
C = DefaultTypeVar("C", bound=BaseModel, default=NoConfig)  # a bot without config: Bot[MyParams]


class Bot(Generic[P, C]):
    """Subclass as ``Bot[MyParams, MyConfig]``, set the class attributes and implement :meth:`run`.

    ``run`` receives a ``Context[MyConfig]``: ``ctx.config`` is the validated ``MyConfig``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = Params
    Config: ClassVar[type[BaseModel]] = NoConfig
    #: True when re-running after an interruption is safe (every side effect is keyed).
    idempotent: ClassVar[bool] = False
    #: True when the bot honours ``ctx.dry_run`` (reports without writing).
    supports_dry_run: ClassVar[bool] = False
    #: The work-item queue this bot consumes (``ctx.items()``); the runner starts it when items wait.
    consumes: ClassVar[str | None] = None

    def run(self, ctx: Context[C], params: P) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError(f"bot {type(self).__name__} does not implement run()")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "summary": cls.summary,
            "params_schema": cls.Params.model_json_schema(),
            "idempotent": cls.idempotent,
            "supports_dry_run": cls.supports_dry_run,
        }

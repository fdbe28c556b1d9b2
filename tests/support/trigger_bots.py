"""Bots started by mailbox and condition triggers and fed by work-item queues, for their tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backroom.bots import Bot, Context, Params, Result


class MailedParams(Params):
    files: list[str] = []


class Mailed(Bot[MailedParams]):
    """Reads the attachments it was given; fails its first run when an attachment is named ``fail-once*``."""

    name = "mailed"
    summary = "Reads mailed attachments"
    Params = MailedParams

    def run(self, ctx: Context, params: MailedParams) -> Result:
        names = []
        for given in params.files:
            path = ctx.file(given)
            names.append(path.name)
            if path.name.startswith("fail-once") and not ctx.checkpoint.get("failed-once"):
                ctx.checkpoint.set("failed-once", True)
                raise RuntimeError("failing the first time on purpose")
        sizes = {Path(f).name: Path(f).stat().st_size for f in params.files}
        return Result(summary=f"{len(names)} attachment(s)", counts={"files": len(names)}, outputs={"sizes": sizes})


class ConditionedParams(Params):
    count: int = 0
    ids: list[Any] = []
    rate: float | None = None


class Conditioned(Bot[ConditionedParams]):
    name = "conditioned"
    summary = "Started by a condition; reports the values it was given"
    Params = ConditionedParams

    def run(self, ctx: Context, params: ConditionedParams) -> Result:
        return Result(outputs={"count": params.count, "ids": params.ids, "rate": params.rate})

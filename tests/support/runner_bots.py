"""Bots that misbehave on purpose, for the runner's tests (loaded through ``bot_modules``)."""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

from pydantic import Field

from backroom.bots import Bot, Context, NoConfig, Params, Result, TransientError


class EchoParams(Params):
    text: str = "hello"
    repeat: int = Field(default=1, ge=1, le=100)
    file: str | None = None


class Echo(Bot[EchoParams]):
    name = "echo"
    summary = "Logs its text, writes an artifact, reports progress"
    Params = EchoParams
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context, params: EchoParams) -> Result:
        with ctx.progress("echoing", total=params.repeat) as bar:
            for _ in range(params.repeat):
                ctx.log.info("echo: %s", params.text)
                bar.advance()
        ctx.artifact("echo.txt").write_text(params.text * params.repeat, encoding="utf-8")
        return Result(
            summary=f"echoed {params.text!r}",
            counts={"lines": params.repeat},
            outputs={"text": params.text, "file": params.file, "dry_run": ctx.dry_run},
        )


class Noop(Bot[Params]):
    name = "noop"
    summary = "Does nothing, quickly"

    def run(self, ctx: Context, params: Params) -> Result:
        return Result()


class SleepParams(Params):
    seconds: float = 60


class Sleeper(Bot[SleepParams]):
    name = "sleeper"
    summary = "Sleeps, ignoring cancellation (as a bot stuck in C code would)"
    Params = SleepParams

    def run(self, ctx: Context, params: SleepParams) -> Result:
        ctx.log.info("going to sleep for %s s", params.seconds)
        Path(ctx.artifact("pid")).write_text(str(os.getpid()))
        time.sleep(params.seconds)
        return Result(summary="woke up")


class Auditor(Bot[Params]):
    name = "auditor"
    summary = "Finishes, but half of what it read failed its audit (a run that must not look plain green)"

    def run(self, ctx: Context, params: Params) -> Result:
        return Result(summary="6 read, 3 fail", counts={"documents": 6, "pass": 3, "fail": 3})


class Failer(Bot[Params]):
    name = "failer"
    summary = "Raises"

    def run(self, ctx: Context, params: Params) -> Result:
        raise ValueError("the ledger total does not add up")


class Crasher(Bot[Params]):
    name = "crasher"
    summary = "Segfaults"

    def run(self, ctx: Context, params: Params) -> Result:
        ctypes.string_at(0)
        return Result()


class Flaky(Bot[Params]):
    name = "flaky"
    summary = "Fails transiently on its first attempt"

    def run(self, ctx: Context, params: Params) -> Result:
        if not ctx.checkpoint.get("tried"):
            ctx.checkpoint.set("tried", True)
            raise TransientError("helpdesk answered 503")
        return Result(summary="second time lucky")


class SecretConfig(NoConfig):
    system: str = "helpdesk"


class NeedsSecret(Bot[Params]):
    name = "needs_secret"
    summary = "Uses a system whose token is a secret reference"
    Config = SecretConfig

    def run(self, ctx: Context, params: Params) -> Result:
        token = ctx.secret(ctx.system(ctx.config.system).token)
        ctx.log.info("using token %s", token)
        raise RuntimeError(f"refused with token {token}")

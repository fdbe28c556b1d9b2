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
            if path.name.startswith("transient-once") and not ctx.checkpoint.get("transient-once"):
                from backroom.bots import TransientError

                ctx.checkpoint.set("transient-once", True)
                raise TransientError("the share was busy")
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


class ProduceParams(Params):
    count: int = 10
    business: list[int] = []  # these items' data is wrong: the consumer fails them as business errors
    transient: list[int] = []  # these items fail once with a transient error, then succeed
    deadline_minutes: float | None = None


class Producer(Bot[ProduceParams]):
    name = "producer"
    summary = "Puts numbered items into the 'calls' queue"
    Params = ProduceParams

    def run(self, ctx: Context, params: ProduceParams) -> Result:
        import datetime as dt

        deadline = ctx.now() + dt.timedelta(minutes=params.deadline_minutes) if params.deadline_minutes else None
        items = [
            (f"call-{n}", {"n": n, "business": n in params.business, "transient": n in params.transient})
            for n in range(params.count)
        ]
        added = ctx.queue("calls").put_many(items, deadline=deadline)
        return Result(counts={"queued": added})


class CallerParams(Params):
    wait_for_peers: int = 1  # start taking items only once this many caller runs have started
    backoff: float = 0.0


class Caller(Bot[CallerParams]):
    """Consumes 'calls'; records each item's effect in ``queue_effects`` (made by the test) when that table exists."""

    name = "caller"
    summary = "Handles the items of the 'calls' queue"
    Params = CallerParams
    consumes = "calls"

    def run(self, ctx: Context, params: CallerParams) -> Result:
        import time

        from sqlalchemy import inspect, text

        from backroom.bots.sdk.errors import BusinessError, TransientError

        effects = inspect(ctx.engine).has_table("queue_effects")
        if effects:
            with ctx.engine.begin() as conn:
                conn.execute(text("INSERT INTO queue_starts (run_id) VALUES (:r)"), {"r": ctx.run_id})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # a rendezvous of the runs, so that they overlap for sure
                with ctx.engine.connect() as conn:
                    if conn.scalar(text("SELECT count(*) FROM queue_starts")) >= params.wait_for_peers:
                        break
                time.sleep(0.05)
        handled = 0
        for item in ctx.items(backoff=params.backoff):
            with item:
                handled += 1
                if item.payload["business"]:
                    raise BusinessError(f"call {item.payload['n']}: no phone number")
                if item.payload["transient"] and item.attempt == 1:
                    raise TransientError("line busy")
                if effects:
                    with ctx.engine.begin() as conn:
                        conn.execute(
                            text("INSERT INTO queue_effects (n, run_id) VALUES (:n, :r)"),
                            {"n": item.payload["n"], "r": ctx.run_id},
                        )
        return Result(counts={"handled": handled})


class NoopConsumer(Bot[Params]):
    """Ends every item of 'bench' as done, doing nothing else (the benchmark's consumer)."""

    name = "noop_consumer"
    summary = "Consumes 'bench' doing nothing"
    consumes = "bench"

    def run(self, ctx: Context, params: Params) -> Result:
        handled = 0
        for item in ctx.items():
            with item:
                handled += 1
        return Result(counts={"handled": handled})

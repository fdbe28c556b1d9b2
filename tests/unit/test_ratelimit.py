"""The one rate limiter: evenly spaced starts, measured on a clock the test moves (no sleeping)."""

from __future__ import annotations

import asyncio

from backroom.bots.sdk.ratelimit import RateLimiter


class FakeTime:
    """A monotonic clock that moves only when told; ``sleep`` records instead of waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


def test_starts_are_spaced_by_the_rate() -> None:
    time = FakeTime()
    limiter = RateLimiter(4, clock=time.clock, sleep=time.sleep)

    async def burst() -> None:
        await asyncio.gather(*(limiter.wait() for _ in range(5)))

    asyncio.run(burst())
    assert time.slept == [0.25, 0.5, 0.75, 1.0]  # the first goes at once
    assert limiter.count == 5


def test_a_quiet_spell_frees_the_next_slot() -> None:
    time = FakeTime()
    limiter = RateLimiter(2, clock=time.clock, sleep=time.sleep)
    asyncio.run(limiter.wait())
    time.now += 0.2  # sooner than 1/rate: must wait the rest
    asyncio.run(limiter.wait())
    time.now += 10  # long after: no wait at all
    asyncio.run(limiter.wait())
    assert time.slept == [0.3]


def test_no_rate_means_no_waiting() -> None:
    time = FakeTime()
    limiter = RateLimiter(None, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        asyncio.run(limiter.wait())
    assert time.slept == [] and limiter.count == 3

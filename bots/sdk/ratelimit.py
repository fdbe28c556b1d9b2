"""One rate limiter for every adapter that must stay polite to a remote system.

A limiter spaces request *starts* evenly: at most ``rate`` per second across all the tasks that
share it, so a burst of a hundred coroutines becomes a steady stream the remote system accepts.
It takes its clock and its sleep as arguments, so tests move a fake clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``rate`` starts per second across all tasks (None or 0 = unlimited), evenly spaced."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        #: requests started through this limiter (benchmarks check the achieved rate with it)
        self.count = 0

    def reserve(self) -> float:
        """Claim the next free start slot; returns how many seconds to wait for it (0 = go now)."""
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self.interval
        return start - now

    async def wait(self) -> None:
        """Return when this caller may start its request."""
        self.count += 1
        if not self.interval:
            return
        delay = self.reserve()  # no await inside: coroutines of one loop cannot interleave here
        if delay > 0:
            await self._sleep(delay)

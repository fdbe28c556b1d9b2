"""What the runner's polling trigger watchers share (conditions, mailboxes): the runner's wiring.

A watcher decides *when* a bot starts and hands the start to ``submit`` (the runner's one way to
queue a run); it reads the clock it is given so tests move time instead of sleeping, and resolves
secret references itself so a redactor knows every value it must hide in a recorded error.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.history import History, Run, utcnow
from backroom.schedules.settings import Settings

__all__ = ["TriggerWatcher"]


class TriggerWatcher:
    """The runner's settings, history, ``submit``, pause test, clock and secrets, and a stop flag."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        submit: Callable[[str, dict[str, Any], str], Run | None],
        *,
        is_paused: Callable[[str], bool] = lambda bot: False,
        clock: Callable[[], dt.datetime] = utcnow,
        secret: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self.history = history
        self.submit = submit
        self.is_paused = is_paused
        self.clock = clock
        self._resolver = SecretResolver()
        self.secret = secret or self._resolver.resolve
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

"""Everything a running bot may touch, handed to ``Bot.run`` as ``ctx``.

A bot never reads config files or environment variables itself: it asks the context for a system
(``ctx.http("billing")``), a secret (``ctx.secret(ref)``), a place to write (``ctx.artifact(name)``),
durable state (``ctx.checkpoint``), and reports through ``ctx.log``, ``ctx.progress`` and
``ctx.notify``. Files it reads, moves or archives lie under its roots (``ctx.roots``): ``ctx.inputs``
and ``ctx.folder`` confine folders and skip links that leave them, ``ctx.roots.require`` guards moves.
The runner builds one per run; tests build one with :func:`bots.testing.make_context`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from backroom.bots.sdk.checkpoint import Checkpoint
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.notify import Notifier
from backroom.bots.sdk.paths import InputFolderMissing, PathRefused, RootName, Roots, confine, default_roots
from backroom.bots.sdk.secrets import SecretResolver
from backroom.bots.sdk.system import SystemSettings

if TYPE_CHECKING:
    import httpx
    from playwright.sync_api import Page

    from backroom.bots.sdk.workitems import WorkItem, WorkQueue

__all__ = ["ConfigT", "Context", "Progress", "ProgressSink"]

#: The bot's config model: ``Context[ExpensesConfig]`` hands the bot a typed ``ctx.config``.
ConfigT = TypeVar("ConfigT", bound=BaseModel)

ProgressSink = Callable[[str, int, int | None], None]


class Progress:
    """A progress bar a bot advances; the runner shows it live and stores the last state."""

    def __init__(self, label: str, total: int | None, sink: ProgressSink | None) -> None:
        self.label, self.total, self.done = label, total, 0
        self._sink = sink
        self._emit()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._emit()

    def _emit(self) -> None:
        if self._sink is not None:
            self._sink(self.label, self.done, self.total)


class Context(Generic[ConfigT]):
    """The run's view of the world. See the module docstring.

    Generic in the bot's config model: the runner validates ``[bots.NAME.config]`` with the bot's
    ``Config`` before the run, so ``ctx.config`` of a ``Context[ExpensesConfig]`` *is* an
    ``ExpensesConfig`` and a bot never checks its type.
    """

    config: ConfigT

    def __init__(
        self,
        *,
        run_id: str,
        bot: str,
        run_dir: Path,
        database_url: str,
        systems: Mapping[str, SystemSettings] | None = None,
        config: ConfigT | None = None,
        secrets: SecretResolver | None = None,
        notify_targets: Sequence[str] = (),
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], dt.datetime] | None = None,
        logger: logging.Logger | None = None,
        progress_sink: ProgressSink | None = None,
        cancel_event: threading.Event | None = None,
        dry_run: bool = False,
        home: Path | None = None,
        roots: Roots | None = None,
        consumes: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.bot = bot
        self.run_dir = Path(run_dir)
        self.database_url = database_url
        self.systems = dict(systems or {})
        self.config = config  # type: ignore[assignment]  # None only for bots without a Config
        self.secrets = secrets if secrets is not None else SecretResolver()
        self.timezone = ZoneInfo(timezone)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.log = logger or logging.getLogger(f"backroom.run.{bot}")
        self._progress_sink = progress_sink
        self._cancel = cancel_event or threading.Event()
        self.dry_run = dry_run
        self.home = Path(home) if home else self.run_dir.parent
        #: The folders this run may read, write, move and archive in; the runner passes the configured ones.
        self.roots = roots if roots is not None else Roots(default_roots(self.home, bot, self.run_dir.parent))
        self._notifier = Notifier(notify_targets, self.secret)
        self._checkpoint: Checkpoint | None = None
        self.consumes = consumes  # the bot's ``consumes`` queue, for ctx.items()
        self._engine: Any = None

    # -- time -------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The current time, aware, in UTC (tests move the clock instead of sleeping)."""
        return self._clock()

    def local_now(self) -> dt.datetime:
        return self.now().astimezone(self.timezone)

    # -- secrets and systems -----------------------------------------------------------------
    def secret(self, ref: str) -> str:
        """Resolve ``env:NAME`` / ``keyring:service/user``; the value is redacted from all records."""
        return self.secrets.resolve(ref)

    def system(self, name: str) -> SystemSettings:
        try:
            return self.systems[name]
        except KeyError:
            known = ", ".join(sorted(self.systems)) or "none"
            raise ConfigError(f"system {name!r} is not configured (known: {known})") from None

    def http(self, system: str, **kwargs: Any) -> httpx.Client:
        """An httpx client for ``[systems.<system>]`` with timeouts, retries and auth. Close it."""
        from backroom.bots.sdk.http import make_client

        return make_client(self.system(system), self.secret, **kwargs)

    def async_http(self, system: str, **kwargs: Any) -> httpx.AsyncClient:
        from backroom.bots.sdk.http import make_async_client

        return make_async_client(self.system(system), self.secret, **kwargs)

    @contextmanager
    def browser(self, *, headless: bool = True) -> Iterator[Page]:
        """A Playwright page; if the block fails, a screenshot and the HTML become artifacts."""
        from backroom.bots.sdk.browser import open_page

        with open_page(self.artifacts_dir, timezone=self.timezone.key, headless=headless) as page:
            yield page

    # -- files -------------------------------------------------------------------------------
    @property
    def artifacts_dir(self) -> Path:
        path = self.run_dir / "artifacts"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def artifact(self, name: str) -> Path:
        """A path inside this run's artifact folder; the name may not climb out of it."""
        target = (self.artifacts_dir / name).resolve()
        if not target.is_relative_to(self.artifacts_dir.resolve()):
            raise ValueError(f"artifact name {name!r} escapes the run folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def folder(self, configured: Path | str, root: RootName = "inbox") -> Path:
        """A config folder (relative to ``home``) as its real path, if it lies under the ``root`` root.

        Raises :class:`~backroom.bots.sdk.paths.PathRefused` (a ConfigError) when it does not: config
        and roots disagree, which ``backroom check`` reports before any run.
        """
        path = Path(configured)
        return confine(path if path.is_absolute() else self.home / path, self.roots.root(root), must_exist=False)

    def file(self, given: Path | str, root: RootName = "inbox") -> Path:
        """A file a run was given (relative to the ``root`` root), as its real path under that root.

        Parameters were already confined when the run was triggered; this checks again where the
        file is opened, so a bot never reads a path that was not.
        """
        return confine(given, self.roots.root(root), kind="file")

    def inputs(self, folder: Path | str, patterns: Sequence[str] = ("*",), *, missing_ok: bool = False) -> list[Path]:
        """Files directly inside ``folder`` matching any pattern (case-insensitive), sorted by name.

        ``folder`` (relative to ``home``) must lie under one of the run's roots. A link or anything
        else in it that resolves outside that folder, or is not a plain file (a FIFO, a device), is
        skipped with a warning: a symlink to ``/etc/shadow`` dropped in an inbox is never read.

        A folder that does not exist is an :class:`InputFolderMissing` error, not an empty list: a
        nightly bot reading an unmounted share must fail, not succeed with "0 read". Only a folder that
        legitimately comes and goes (a review drop box) passes ``missing_ok=True``.
        """
        folder = Path(folder)
        if not folder.is_absolute():
            folder = self.home / folder
        self.roots.require(folder, "reading a folder")
        if not folder.is_dir():
            if missing_ok and not folder.exists():
                return []
            raise InputFolderMissing(folder)
        lowered = [p.lower() for p in patterns]
        found = []
        for path in folder.iterdir():
            if not any(fnmatch.fnmatch(path.name.lower(), pat) for pat in lowered):
                continue
            try:
                confine(path, folder, kind="file")
            except PathRefused as exc:
                if not path.is_dir():
                    self.log.warning("skipped %s: %s", path.name, exc.why)
                continue
            found.append(path)
        return sorted(found)

    # -- state -------------------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """SQLAlchemy engine of Backroom's own database (for bot state tables).

        Built like the runner's (:func:`backroom.bots.sdk.db.make_engine`: WAL and a busy timeout on
        SQLite), since a run writes its state while the runner writes history. Each store migrates
        its own tables when it first opens them (:func:`backroom.bots.sdk.db.upgrade`).
        """
        if self._engine is None:
            from backroom.bots.sdk.db import make_engine

            self._engine = make_engine(self.database_url)
        return self._engine

    @property
    def checkpoint(self) -> Checkpoint:
        if self._checkpoint is None:
            self._checkpoint = Checkpoint(self.engine, self.bot)
        return self._checkpoint

    def queue(self, name: str) -> WorkQueue:
        """The work-item queue ``name``: ``ctx.queue("callbacks").put(payload, key=...)`` (see sdk.workitems)."""
        from backroom.bots.sdk.workitems import WorkQueue

        return WorkQueue(self.engine, name, run_id=self.run_id, clock=self.now)

    def items(self, queue: str | None = None, *, max_attempts: int = 3, backoff: float = 60.0) -> Iterator[WorkItem]:
        """The items waiting in the bot's ``consumes`` queue (or ``queue``), one by one, each claimed for this run.

        An item that fails with an application error is tried again after ``backoff`` seconds (doubling),
        at most ``max_attempts`` times in all; see :mod:`backroom.bots.sdk.workitems`.
        """
        name = queue or self.consumes
        if not name:
            raise ConfigError(f'bot {self.bot} consumes no queue: set `consumes = "name"` on it or pass the queue')
        from backroom.bots.sdk.workitems import WorkQueue

        source = WorkQueue(
            self.engine, name, run_id=self.run_id, clock=self.now, max_attempts=max_attempts, backoff=backoff
        )
        for item in source.items():
            self.raise_if_cancelled()
            yield item

    # -- reporting ---------------------------------------------------------------------------
    @contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Progress]:
        yield Progress(label, total, self._progress_sink)

    def notify(
        self, title: str, body: str, attachments: Sequence[Path] = (), *, targets: Sequence[str] | None = None
    ) -> None:
        """Send a message to the bot's configured targets (or ``targets``); secrets stay references."""
        self._notifier.send(title, body, attachments, targets=targets)

    # -- cancellation ------------------------------------------------------------------------
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise RunCancelled(f"run {self.run_id} was cancelled")

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class RunCancelled(Exception):
    """Raised inside a bot that noticed its run was cancelled."""

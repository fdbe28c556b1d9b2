"""``config/backroom.toml`` → validated settings, with errors that name file, table and key.

Git is the source of truth for schedules: the runner makes its job store match these settings on
every start. Secrets appear here only as references (``env:NAME``, ``keyring:service/user``).

A reference of every key lives in README.md ("Configuration reference").
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from backroom.bots.sdk.paths import Roots, default_roots
from backroom.bots.sdk.secrets import SecretRef
from backroom.bots.sdk.system import SystemSettings
from backroom.schedules.durations import parse_duration
from backroom.schedules.errors import InvalidConfig

__all__ = [
    "BotSettings",
    "ChainSettings",
    "ConfigProblem",
    "InvalidConfig",
    "JobSettings",
    "MailSettings",
    "RootSettings",
    "Settings",
    "WatchSettings",
    "WhenSettings",
    "load_settings",
    "parse_settings",
]

Duration = Annotated[float, BeforeValidator(parse_duration)]

DEFAULT_CONFIG = Path("config/backroom.toml")

#: variables of serve's environment a run gets besides the minimal set: where its tools are
DEFAULT_RUN_ENV = ("BACKROOM_CHROMIUM", "PLAYWRIGHT_BROWSERS_PATH", "TESSDATA_PREFIX")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotifySettings(_Strict):
    """Where failures of any bot are announced, and the console address used in links."""

    on_failure: list[str] = Field(default_factory=list)
    console_url: str | None = None
    #: the language of alerts: zh-CN (the default, for staff in Asia/Shanghai) or en
    language: Literal["zh-CN", "en"] = "zh-CN"


class ConsoleUser(_Strict):
    name: str
    role: Literal["viewer", "operator", "admin"] = "viewer"
    password_hash: str | None = None  # argon2 hash (`backroom hash-password`), never a password
    token: SecretRef | None = None  # API token, by secret reference

    @field_validator("password_hash")
    @classmethod
    def _hash_is_argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            raise ValueError("must be an argon2 hash made by `backroom hash-password`, never a password itself")
        return value


class ConsoleSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=0, le=65535)
    session_minutes: int = Field(default=480, ge=1)
    secret_key: SecretRef | None = None  # signs session cookies; by reference; random per start if unset
    users: list[ConsoleUser] = Field(default_factory=list)
    # the address people use, behind a reverse proxy (https://... makes the session cookie Secure)
    public_url: str | None = None
    # Host names the console answers to besides loopback, the bind host and public_url's host
    allowed_hosts: list[str] = Field(default_factory=list)
    # reverse proxies whose X-Forwarded-For is believed (addresses or networks); nobody's by default
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_mb: float = Field(default=32, gt=0)  # larger request bodies are refused before they are read

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value


class WatchSettings(_Strict):
    """File arrival: each new file in ``folder`` starts the bot once with the file as ``param``."""

    folder: str
    patterns: list[str] = Field(default_factory=lambda: ["*"])
    param: str = "file"
    poll: Duration = 5.0
    settle: Duration = 1.0  # a file must keep its size this long before it counts as arrived


class ChainSettings(_Strict):
    """Run this bot after ``bot`` ends with one of the statuses in ``on``."""

    bot: str
    on: list[Literal["succeeded", "with_warnings", "failed", "timed_out", "any"]] = Field(
        default_factory=lambda: ["succeeded"]
    )
    if_output: str | None = None  # run only when the upstream result's outputs[if_output] is truthy
    params: dict[str, str] = Field(default_factory=dict)  # param -> "outputs.KEY" | "run_id" | "status"


class MailSettings(_Strict):
    """Mailbox trigger (``[bots.NAME.mail]``): each matching message starts the bot once.

    The bot gets the message's attachments (saved under its inbox root) as ``param``. After a run
    that succeeded the message is moved to ``move_to`` (or, without it, flagged with ``flag``); it is
    never deleted. A message whose run failed stays where it was and is tried again after ``retry_after``.
    """

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # 993 with tls, 143 otherwise
    # "tls" (IMAPS), "starttls", or "none" (only allowed for a server on loopback)
    security: Literal["tls", "starttls", "none"] = "tls"
    ca_file: str | None = None  # PEM of the CA(s) that signed the server's certificate, besides the system's
    user: str
    password: SecretRef
    folder: str = "INBOX"
    senders: list[str] = Field(default_factory=list)  # glob patterns on the sender's address; any when empty
    subject: str | None = None  # glob pattern on the subject (case-insensitive)
    attachments: list[str] = Field(default_factory=list)  # glob patterns on attachment names; all when empty
    types: list[str] = Field(default_factory=list)  # glob patterns on attachment content types
    require_attachment: bool = True  # a message without a matching attachment starts nothing
    param: str = "files"
    move_to: str | None = "Archive"
    flag: str = "$BackroomDone"  # set after success when ``move_to`` is empty
    poll: Duration = 60.0
    idle: bool = True  # where the server has IDLE, a new message is noticed at once, not at the next poll
    retry_after: Duration = 900.0

    @field_validator("flag")
    @classmethod
    def _flag_is_keyword(cls, value: str) -> str:
        if not re.fullmatch(r"\\?[A-Za-z$][A-Za-z0-9_$-]*", value):
            raise ValueError("must be an IMAP keyword such as '$BackroomDone' or a system flag such as '\\Flagged'")
        return value


class WhenSettings(_Strict):
    """Condition trigger (``[bots.NAME.when]``): a query polled every ``every``; the bot starts on its edge.

    ``sql`` runs on a ``kind = "sql"`` system; ``get`` (a path) is fetched from an HTTP system and
    ``select`` (JSONPath) picks values out of the JSON; ``metric`` reads the metrics bot's store (the
    latest interval of that metric, optionally of one ``source`` and ``dims``). The condition holds
    when rows/values come back (and, with ``above``/``below``, the first value passes the threshold).
    The bot starts when it comes to hold (not while it keeps holding), not again for the same ``key``
    values, nor within ``cooldown``.
    """

    system: str | None = None
    sql: str | None = None
    get: str | None = None
    select: str | None = None
    metric: str | None = None
    source: str | None = None
    dims: dict[str, str] | None = None
    above: float | None = None
    below: float | None = None
    key: list[str] = Field(default_factory=list)  # columns / fields whose values identify "the same" condition
    params: dict[str, str] = Field(default_factory=dict)  # param -> column | "count" | "rows" | "value"
    every: Duration = 60.0
    cooldown: Duration = 0.0

    @field_validator("every")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than zero")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> WhenSettings:
        if sum(x is not None for x in (self.sql, self.get, self.metric)) != 1:
            raise ValueError(
                "give exactly one of 'sql' (a query), 'get' (an HTTP path with 'select') "
                "or 'metric' (the metrics store)"
            )
        if self.metric is None and not self.system:
            raise ValueError("an SQL or HTTP condition needs 'system'")
        if self.get is not None and not self.select:
            raise ValueError("an HTTP condition needs 'select', a JSONPath such as '$.items[*].id'")
        return self


class JobSettings(_Strict):
    """An extra schedule of the same bot with its own parameters."""

    id: str
    schedule: str
    calendar: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class RootSettings(_Strict):
    """The folders one bot's runs may touch (``[bots.NAME.roots]``), relative to ``home`` or absolute.

    Unset roots default to ``var/inbox/<bot>``, ``var/outbox/<bot>``, ``var/archive/<bot>`` and
    ``runs_dir``. Every path a run is given is resolved under these; nothing a run is given widens them.
    """

    inbox: str | None = None
    outbox: str | None = None
    archive: str | None = None


class BotSettings(_Strict):
    enabled: bool = True
    schedule: str | None = None
    calendar: str | None = None
    timeout: Duration = 3600.0
    retries: int = Field(default=0, ge=0, le=20)
    retry_backoff: Duration = 60.0
    max_instances: int = Field(default=1, ge=1)
    misfire_grace: Duration = 3600.0
    notify: list[str] = Field(default_factory=list)
    notify_on: list[Literal["failure", "warning", "success", "always"]] = Field(default_factory=lambda: ["failure"])
    on_interrupted: Literal["leave", "requeue"] = "leave"
    # an interrupted run is requeued at most this many times in a row; then it stays interrupted
    max_requeues: int = Field(default=3, ge=0, le=100)
    params: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    jobs: list[JobSettings] = Field(default_factory=list)
    watch: WatchSettings | None = None
    mail: MailSettings | None = None
    when: WhenSettings | None = None
    after: list[ChainSettings] = Field(default_factory=list)
    roots: RootSettings = Field(default_factory=RootSettings)


class ExecutionSettings(_Strict):
    """Where runs execute: ``local`` (child processes of serve, the default) or ``procrastinate``.

    With ``procrastinate`` serve only schedules and enqueues (the elected leader among serve
    instances); ``backroom worker`` processes on any machine take the runs from PostgreSQL.
    """

    backend: Literal["local", "procrastinate"] = "local"
    # how often the leader checks its advisory-lock connection; a standby polls the lock as often
    leader_heartbeat: Duration = Field(default=1.0, ge=0.1, le=60.0)
    # runs one worker executes at once (each in its own child process); per queue: --concurrency
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    # bot → queue (a capability: "browser", "ocr", "http"); bots not named go to "default"
    queues: dict[str, str] = Field(default_factory=dict)


class Settings(_Strict):
    _roots_cache: dict[tuple, Roots] = PrivateAttr(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    database: str = "sqlite:///var/backroom.db"
    home: str | None = None  # base of relative paths; the current directory when unset
    runs_dir: str = "var/runs"
    max_parallel_runs: int = Field(default=4, ge=1, le=256)
    # The runner prunes its own history (runs, their logs, artifacts and folders) every
    # ``prune_interval`` (0 turns pruning off); the audit log has its own, longer retention.
    retention_days: int = Field(default=90, ge=1)
    audit_retention_days: int = Field(default=365, ge=1)
    prune_interval: Duration = 86400.0
    # The serve that owns the job store renews its lease every sixth of this; one that cannot
    # (frozen, cut off from the database) stops scheduling, and another may take over after it.
    owner_lease: Duration = Field(default=30.0, ge=1.0, le=3600.0)
    bot_modules: list[str] = Field(default_factory=list)  # extra modules holding bots (no entry point)
    # What a run's process gets: a minimal environment (PATH, locale, TZ, HOME, the run id, the
    # secrets its bot references), never serve's; ``run_env`` names the few more variables of serve's
    # environment a run may see (tool locations, never secrets).
    run_env: list[str] = Field(default_factory=lambda: list(DEFAULT_RUN_ENV))
    run_home: str | None = None  # HOME of a run's process; the run's own folder when unset
    run_as_user: str | None = None  # runs execute as this OS user (serve must then run as root)
    # A run's log is capped: lines beyond ``log_max_lines`` and bytes beyond ``log_line_max_bytes`` in
    # one line are counted and summarised in one closing line instead of stored.
    log_max_lines: int = Field(default=20_000, ge=10)
    log_line_max_bytes: int = Field(default=8192, ge=256)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    systems: dict[str, SystemSettings] = Field(default_factory=dict)
    bots: dict[str, BotSettings] = Field(default_factory=dict)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)

    source: Path | None = Field(default=None, exclude=True)

    @field_validator("run_env")
    @classmethod
    def _variable_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as 'Asia/Shanghai')") from None
        return value

    # -- derived values ------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def home_path(self) -> Path:
        if self.home is None:
            return Path.cwd()
        home = Path(self.home)
        if not home.is_absolute() and self.source is not None:
            home = self.source.parent / home
        return home.resolve()

    def path(self, value: str | Path) -> Path:
        """A config path resolved against ``home``."""
        p = Path(value)
        return p if p.is_absolute() else self.home_path / p

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute under ``home``."""
        url = self.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            db_path = self.path(url[len(prefix) :])
            db_path.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(db_path)
        return url

    @property
    def runs_path(self) -> Path:
        return self.path(self.runs_dir)

    @property
    def run_home_path(self) -> Path | None:
        """HOME of every run's process when configured (else each run's own folder)."""
        return self.path(self.run_home) if self.run_home else None

    def roots_for(self, bot: str) -> Roots:
        """The roots of ``bot``: its ``[bots.NAME.roots]`` over the defaults, absolute (see RootSettings).

        ``runs`` is ``runs_dir`` for every bot: run folders, pruning and artifact downloads share it.
        """
        configured = self.bots[bot].roots if bot in self.bots else RootSettings()
        folders = default_roots(self.home_path, bot, self.runs_path)
        for name in ("inbox", "outbox", "archive"):
            value = getattr(configured, name)
            if value is not None:
                folders[name] = self.path(value)
        # Building Roots resolves every folder (a few syscalls each): a burst of 1,000 fires asks for the
        # same bot's roots 1,000 times, so the answer is kept for as long as the folders are the same.
        key = (bot, tuple(sorted((k, str(v)) for k, v in folders.items())))
        cached = self._roots_cache.get(key)
        if cached is None:
            cached = self._roots_cache[key] = Roots(folders)
        return cached


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, located by file, table and key."""

    file: str
    location: str  # e.g. "bots.tickets.schedule"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.location:
            table, _, key = self.location.rpartition(".")
            if table:
                return f"{where}: [{table}] {key}: {self.message}"
            return f"{where}: {key}: {self.message}"
        return f"{where}: {self.message}"


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_settings(data: dict[str, Any], source: Path | str = "<config>") -> Settings:
    """Validate a parsed TOML document; raise :class:`InvalidConfig` listing every problem."""
    file = str(source)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (check its spelling against the configuration reference)"
            elif err["type"] == "missing":
                message = "required key is missing"
            problems.append(ConfigProblem(file, _location(loc), message))
        raise InvalidConfig(problems) from None
    settings.source = Path(source) if source != "<config>" else None
    return settings


def load_settings(path: Path | str | None = None) -> Settings:
    """Read and validate a TOML config file (``BACKROOM_CONFIG`` or config/backroom.toml by default)."""
    path = Path(path or os.environ.get("BACKROOM_CONFIG") or DEFAULT_CONFIG)
    if not path.is_file():
        raise InvalidConfig([ConfigProblem(str(path), "", "configuration file not found")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:  # Python 3.11's tomllib puts the position in the message only
            found = re.search(r"at line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise InvalidConfig([ConfigProblem(str(path), "", f"not valid TOML: {exc}", line)]) from None
    except UnicodeDecodeError as exc:
        raise InvalidConfig([ConfigProblem(str(path), "", f"not UTF-8 text: {exc}")]) from None
    return parse_settings(data, path.resolve())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

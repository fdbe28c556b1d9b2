"""``backroom check``: everything wrong with a configuration, each problem located.

Schema problems come from :mod:`schedules.settings`; this module adds what needs the bots and the
environment: unknown bots, bad schedules and calendars, unknown systems, secrets that are referenced
but not set, bot config and parameters their models reject, chains that point nowhere or in a circle,
a runs folder that cannot be written, a ``run_as_user`` that does not exist, mailbox triggers that
would log in in clear off loopback, condition triggers on unknown systems or with a query that is
not one SELECT or a JSONPath that does not parse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.paths import Roots, config_paths
from backroom.bots.sdk.secrets import SecretResolver, is_secret_ref
from backroom.schedules.calendars import known_calendars
from backroom.schedules.execution import _systems_used
from backroom.schedules.runsdir import runs_folder_problem
from backroom.schedules.settings import ConfigProblem, InvalidConfig, Settings, load_settings
from backroom.schedules.triggers import parse_schedule

__all__ = ["check_settings", "load_checked", "online_trigger_checks"]


def _pydantic_problems(file: str, prefix: str, exc: ValidationError) -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key for this bot"
        elif err["type"] == "missing":
            message = "required key is missing"
        out.append(ConfigProblem(file, f"{prefix}.{loc}" if loc else prefix, message))
    return out


def check_settings(
    settings: Settings, bots: dict[str, Any], resolver: SecretResolver | None = None
) -> list[ConfigProblem]:
    """Every semantic problem in ``settings`` (the schema was validated when it was loaded)."""
    file = str(settings.source or "<config>")
    resolver = resolver or SecretResolver()
    problems: list[ConfigProblem] = []

    def secret(location: str, ref: str) -> None:
        if not resolver.exists(ref):
            problems.append(ConfigProblem(file, location, f"secret {ref!r} is referenced but not set"))

    for name, system in settings.systems.items():
        for key in ("token", "password"):
            ref = getattr(system, key)
            if ref:
                secret(f"systems.{name}.{key}", ref)
    for index, target in enumerate(settings.notify.on_failure):
        if is_secret_ref(target):
            secret(f"notify.on_failure[{index}]", target)
    for index, user in enumerate(settings.console.users):
        if user.token:
            secret(f"console.users[{index}].token", user.token)
    if settings.console.secret_key:
        secret("console.secret_key", settings.console.secret_key)
    problem = runs_folder_problem(settings.runs_path)
    if problem:
        problems.append(ConfigProblem(file, "runs_dir", problem))
    if settings.execution.backend == "procrastinate" and not settings.database_url.startswith("postgresql"):
        problems.append(
            ConfigProblem(
                file,
                "execution.backend",
                f'"procrastinate" needs a PostgreSQL database (database = "postgresql+psycopg://..."), '
                f"not {settings.database_url.split(':', 1)[0]!r}",
            )
        )
    for bot in settings.execution.queues:
        if bot not in settings.bots and bot not in bots:
            problems.append(ConfigProblem(file, f"execution.queues.{bot}", f"unknown bot {bot!r}"))
    if settings.run_as_user:
        import pwd

        try:
            pwd.getpwnam(settings.run_as_user)
        except KeyError:
            problems.append(ConfigProblem(file, "run_as_user", f"no user {settings.run_as_user!r} on this machine"))

    for name, bot in settings.bots.items():
        table = f"bots.{name}"
        bot_cls = bots.get(name)
        if bot_cls is None:
            problems.append(ConfigProblem(file, table, f"unknown bot; known bots: {', '.join(sorted(bots)) or 'none'}"))
            continue
        schedules = [("schedule", bot.schedule, bot.calendar)] if bot.schedule else []
        schedules += [(f"jobs[{i}].schedule", j.schedule, j.calendar or bot.calendar) for i, j in enumerate(bot.jobs)]
        for key, text, calendar in schedules:
            try:
                parse_schedule(text, settings.zone, None)
            except ValueError as exc:
                problems.append(ConfigProblem(file, f"{table}.{key}", str(exc)))
            if calendar and calendar not in known_calendars():
                problems.append(
                    ConfigProblem(
                        file,
                        f"{table}.calendar",
                        f"unknown calendar {calendar!r}; known: {', '.join(known_calendars())}",
                    )
                )
        try:
            roots: Roots | None = settings.roots_for(name)
        except ConfigError as exc:
            problems.append(ConfigProblem(file, f"{table}.roots", str(exc)))
            roots = None
        try:
            config = bot_cls.Config.model_validate(bot.config)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(file, f"{table}.config", exc))
        else:
            if roots is not None:
                problems.extend(_folders_outside_roots(settings, file, table, config, roots))
        for key, params in [("params", bot.params)] + [
            (f"jobs[{i}].params", {**bot.params, **j.params}) for i, j in enumerate(bot.jobs)
        ]:
            try:
                bot_cls.Params.model_validate(params, context={"roots": roots} if roots is not None else None)
            except ValidationError as exc:
                problems.extend(_pydantic_problems(file, f"{table}.{key}", exc))
        for system in _systems_used(settings, name, bot_cls):
            if system not in settings.systems:
                known = ", ".join(sorted(settings.systems)) or "none"
                problems.append(
                    ConfigProblem(file, f"{table}.config", f"unknown system {system!r}; configured systems: {known}")
                )
        for index, target in enumerate(bot.notify):
            if is_secret_ref(target):
                secret(f"{table}.notify[{index}]", target)
        for index, chain in enumerate(bot.after):
            if chain.bot not in settings.bots and chain.bot not in bots:
                problems.append(ConfigProblem(file, f"{table}.after[{index}].bot", f"unknown bot {chain.bot!r}"))
        if bot.watch is not None and bot.watch.param not in bot_cls.Params.model_fields:
            problems.append(
                ConfigProblem(
                    file, f"{table}.watch.param", f"bot {name} has no parameter {bot.watch.param!r} to receive the file"
                )
            )
        if bot.watch is not None and roots is not None:
            watched = settings.path(bot.watch.folder)
            if not _under_root(watched, roots, "inbox"):
                problems.append(_outside(file, table, "watch.folder", watched, roots, "inbox"))
        problems.extend(_trigger_problems(settings, file, table, bot, bot_cls, secret))
    problems.extend(_chain_cycles(settings, file))
    return problems


def _trigger_problems(
    settings: Settings, file: str, table: str, bot: Any, bot_cls: Any, secret: Any
) -> list[ConfigProblem]:
    """Mailbox and condition triggers: their systems, queries and the parameters they fill (nothing is run)."""
    from backroom.schedules.conditions import condition_problems
    from backroom.schedules.mailbox import security_problem

    problems = []
    fields = bot_cls.Params.model_fields
    if bot.mail is not None:
        secret(f"{table}.mail.password", bot.mail.password)
        problem = security_problem(bot.mail)
        if problem:
            problems.append(ConfigProblem(file, f"{table}.mail.security", problem))
        if bot.mail.ca_file and not settings.path(bot.mail.ca_file).is_file():
            problems.append(ConfigProblem(file, f"{table}.mail.ca_file", f"no file {settings.path(bot.mail.ca_file)}"))
        if bot.mail.param not in fields:
            problems.append(
                ConfigProblem(
                    file, f"{table}.mail.param", f"bot has no parameter {bot.mail.param!r} for the attachments"
                )
            )
    if bot.when is not None:
        for key, problem in condition_problems(bot.when, settings.systems):
            problems.append(ConfigProblem(file, f"{table}.when.{key}", problem))
        for param in bot.when.params:
            if param not in fields:
                problems.append(ConfigProblem(file, f"{table}.when.params", f"bot has no parameter {param!r}"))
    return problems


def _under_root(path: Path, roots: Roots, root: str) -> bool:
    return Roots({root: roots.root(root)}).contains(path)


def _outside(file: str, table: str, key: str, path: Path, roots: Roots, root: str) -> ConfigProblem:
    where = f"the bot's {root} root {roots.root(root)}"
    return ConfigProblem(
        file, f"{table}.{key}", f"{path} lies outside {where} (move it there, or set {root} in [{table}.roots])"
    )


def _folders_outside_roots(settings: Settings, file: str, table: str, config: Any, roots: Roots) -> list[ConfigProblem]:
    """Config folders a bot reads or writes (marked ``UnderRoot``) that lie outside the root they name."""
    problems = []
    for where, root, value in config_paths(config):
        path = settings.path(value)
        if not _under_root(path, roots, root):
            problems.append(_outside(file, table, f"config.{where}", path, roots, root))
    return problems


def _chain_cycles(settings: Settings, file: str) -> list[ConfigProblem]:
    graph: dict[str, set[str]] = {}
    for name, bot in settings.bots.items():
        for chain in bot.after:
            graph.setdefault(chain.bot, set()).add(name)
    problems = []
    seen: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node) :], node]
            problems.append(ConfigProblem(file, f"bots.{node}.after", "chains form a loop: " + " → ".join(cycle)))
            return
        if node in seen:
            return
        seen.add(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])

    for start in sorted(graph):
        visit(start, [])
    return problems


def load_checked(path: Any, bots: dict[str, Any] | None = None) -> Settings:
    """Load and fully check a config; raise :class:`InvalidConfig` with every problem."""
    from backroom.schedules.discovery import discover

    settings = load_settings(path)
    problems = check_settings(settings, bots if bots is not None else discover(settings.bot_modules))
    if problems:
        raise InvalidConfig(problems)
    return settings


def online_trigger_checks(settings: Settings, resolver: SecretResolver | None = None) -> list[tuple[str, str, bool]]:
    """For ``backroom check --online``: evaluate each condition once and log in to each mailbox once.

    (location, what was found, ok) per trigger; nothing is started, claimed, moved or recorded.
    """
    from backroom.schedules.conditions import evaluate
    from backroom.schedules.mailbox import connect

    resolver = resolver or SecretResolver()
    out: list[tuple[str, str, bool]] = []
    for name, bot in settings.bots.items():
        if bot.when is not None:
            where = f"bots.{name}.when"
            engines: dict[str, Any] = {}
            try:
                found = evaluate(bot.when, settings.systems, resolver.resolve, engines, settings.database_url)
                verdict = "holds" if found.holds else "does not hold"
                out.append((where, f"{verdict}: {len(found.rows)} row(s), first value {found.value!r}", True))
            except Exception as exc:
                out.append((where, resolver.redactor.redact(f"{type(exc).__name__}: {exc}"), False))
            finally:
                for engine in engines.values():
                    engine.dispose()
        if bot.mail is not None:
            where = f"bots.{name}.mail"
            try:
                ca_file = settings.path(bot.mail.ca_file) if bot.mail.ca_file else None
                client = connect(bot.mail, resolver.resolve, ca_file)
                try:
                    info = client.select_folder(bot.mail.folder, readonly=True)
                    out.append((where, f"{bot.mail.folder}: {int(info.get(b'EXISTS', 0))} message(s)", True))
                finally:
                    client.logout()
            except Exception as exc:
                out.append((where, resolver.redactor.redact(f"{type(exc).__name__}: {exc}"), False))
    return out

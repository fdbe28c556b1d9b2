"""Redmine 5 from Debian's packages, on a free loopback port with its own SQLite database.

Debian's Redmine is multi-tenant: ``REDMINE_INSTANCE`` names a folder under
``/usr/share/redmine/instances`` holding ``config/database.yml``, ``log/``, ``tmp/`` and ``files/``.
A relative name reaching back out of that folder lets an instance live in the test's tmp dir, so
nothing is written under /usr or /etc. The package ships no app server in its Gemfile, so a Gemfile
of the instance's own evaluates Redmine's and adds WEBrick (Debian's ``ruby-webrick``) for
``rails server -u webrick``.

The database is migrated once per session (``rake db:migrate``), then one ``rails runner`` seeds the
default data (as ``rake redmine:load_default_data REDMINE_LANG=en`` does), enables REST and creates
admin's API key; each server runs on a copy and ``reset()`` copies it back.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.realsystems._service import Process, free_port, http_answers, require, run_tool, wait_until

PACKAGES = "redmine redmine-sqlite"
REDMINE_HOME = Path("/usr/share/redmine")
INSTANCES = REDMINE_HOME / "instances"
BOOTSTRAP = Path(__file__).with_name("redmine_bootstrap.rb")
ADMIN_PASSWORD = "backroom-redmine-admin"  # noqa: S105 - a throwaway instance on loopback

GEMFILE = """# written by tests/realsystems/redmine.py: Redmine's Gemfile plus an app server
eval_gemfile "/usr/share/redmine/Gemfile"
gem "sqlite3", "~> 1.4.0" unless @dependencies.any? { |d| d.name == "sqlite3" }
gem "webrick"
"""


@dataclass
class RedmineTemplate:
    """A migrated, seeded database with REST enabled and admin's API key."""

    folder: Path
    database: Path
    api_key: str
    seconds: float


@dataclass
class Redmine:
    """A running Redmine: REST under ``url`` (``/issues.json``), admin's key in ``api_key``."""

    url: str
    api_key: str
    username: str
    password: str
    folder: Path
    database: Path
    template: RedmineTemplate
    process: Process
    startup_seconds: float = field(default=0.0)

    @property
    def headers(self) -> dict[str, str]:
        """What an API client sends: ``X-Redmine-API-Key``."""
        return {"X-Redmine-API-Key": self.api_key}

    def start(self) -> None:
        self.process.start()
        self.startup_seconds = wait_until(lambda: http_answers(f"{self.url}/"), self.process)

    def stop(self) -> None:
        self.process.stop()

    def reset(self) -> None:
        """Back to the freshly seeded database (for tests that need isolation); restarts the server."""
        self.stop()
        shutil.copyfile(self.template.database, self.database)
        self.start()


def _instance(folder: Path) -> tuple[Path, dict[str, str]]:
    """Lay out one instance folder and return its database path and the environment Redmine needs."""
    for sub in ("config", "db", "log", "tmp", "files", "public"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    database = folder / "db" / "redmine.sqlite3"
    (folder / "config" / "database.yml").write_text(
        # timeout: SQLite's busy timeout (ms); without it a write meeting another thread's write
        # fails at once with "database is locked" (a 500) when clients write concurrently
        f"production:\n  adapter: sqlite3\n  database: {database}\n  encoding: utf8\n  timeout: 15000\n",
        encoding="utf-8",
    )
    (folder / "config" / "configuration.yml").write_text(
        f"production:\n  attachments_storage_path: {folder / 'files'}\n  email_delivery:\n    delivery_method: :test\n",
        encoding="utf-8",
    )
    secret = folder / "config" / "secret_key.txt"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32), encoding="utf-8")
    (folder / "Gemfile").write_text(GEMFILE, encoding="utf-8")
    env = {
        **os.environ,
        "RAILS_ENV": "production",
        "REDMINE_INSTANCE": os.path.relpath(folder.resolve(), INSTANCES),
        "BUNDLE_GEMFILE": str(folder / "Gemfile"),
        "BUNDLER_VERSION": "2.3.15",
    }
    return database, env


def build_template(folder: Path) -> RedmineTemplate:
    """Migrate and seed a database with Redmine's rake tasks, then create admin's API key."""
    require([REDMINE_HOME / "bin" / "rails", "ruby"], PACKAGES)
    started = time.monotonic()
    database, env = _instance(folder)
    run_tool([REDMINE_HOME / "bin" / "rake", "db:migrate"], env=env, cwd=REDMINE_HOME)
    output = run_tool([REDMINE_HOME / "bin" / "rails", "runner", BOOTSTRAP, ADMIN_PASSWORD], env=env, cwd=REDMINE_HOME)
    api_key = output.strip().splitlines()[-1]
    return RedmineTemplate(folder=folder, database=database, api_key=api_key, seconds=time.monotonic() - started)


def start(template: RedmineTemplate, folder: Path) -> Redmine:
    """Start ``rails server -u webrick`` on a copy of the template database."""
    database, env = _instance(folder)
    shutil.copyfile(template.database, database)
    port = free_port()
    argv = [
        str(REDMINE_HOME / "bin" / "rails"),
        "server",
        "-u",
        "webrick",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "-P",
        str(folder / "tmp" / "server.pid"),
    ]
    server = Redmine(
        url=f"http://127.0.0.1:{port}",
        api_key=template.api_key,
        username="admin",
        password=ADMIN_PASSWORD,
        folder=folder,
        database=database,
        template=template,
        process=Process("redmine", argv, folder / "log" / "server.log", env=env, cwd=REDMINE_HOME),
    )
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server

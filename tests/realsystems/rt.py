"""Request Tracker 5 from Debian's packages, on a free loopback port with its own SQLite database.

Debian's RT reads ``RT_SITE_CONFIG`` (one file) and ``RT_SITE_CONFIG_DIR`` (instead of the packaged
``/etc/request-tracker5/RT_SiteConfig.d``), so an instance needs nothing outside its own folder:
the database is initialised once per session by ``rt-setup-database-5 --action init`` and kept as
a template; each server runs on a copy, and ``reset()`` puts a fresh copy back.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.realsystems._service import Process, free_port, http_answers, require, run_tool, wait_until

PACKAGES = "request-tracker5 rt5-standalone rt5-db-sqlite"
RT_HOME = Path("/usr/share/request-tracker5")
RT_SERVER = RT_HOME / "libexec" / "rt-server"
SETUP_DATABASE = Path("/usr/sbin/rt-setup-database-5")
BOOTSTRAP = Path(__file__).with_name("rt_bootstrap.pl")
ROOT_PASSWORD = "backroom-rt-root"  # noqa: S105 - a throwaway instance on loopback
BOT_USER = "backroom-bot"
BOT_PASSWORD = "backroom-bot-password"  # noqa: S105 - the bot's user on the same throwaway instance


@dataclass
class RtTemplate:
    """An initialised database (root's password and token set) to copy for each server."""

    folder: Path
    database: Path
    token: str
    seconds: float
    bot_token: str = ""


@dataclass
class RequestTracker:
    """A running RT: REST2 at ``rest_url``; root logs in by ``token`` or ``username``/``password``."""

    url: str
    rest_url: str
    token: str
    username: str
    password: str
    folder: Path
    database: Path
    mailbox_folder: Path
    template: RtTemplate
    process: Process
    startup_seconds: float = field(default=0.0)
    #: the non-root user rt_bootstrap.pl creates with only the rights the tickets bot needs
    bot_username: str = BOT_USER
    bot_password: str = BOT_PASSWORD
    bot_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """What an API client sends: ``Authorization: token ...``."""
        return {"Authorization": f"token {self.token}"}

    def start(self) -> None:
        self.process.start()
        self.startup_seconds = wait_until(lambda: http_answers(f"{self.rest_url}rt"), self.process)

    def stop(self) -> None:
        self.process.stop()

    def reset(self) -> None:
        """Back to the freshly initialised database (for tests that need isolation); restarts the server."""
        self.stop()
        shutil.copyfile(self.template.database, self.database)
        self.start()


def _site_config(folder: Path, database: Path, port: int, bcrypt_cost: int = 4) -> Path:
    """RT_SiteConfig.pm of one instance; RT evaluates it in package RT, so the paths RT's Debian build
    fixes in RT::Generated (VarPath for the mbox, Mason's caches) can be pointed into the folder too."""
    var = folder / "var"
    for sub in ("mason_data", "session_data"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    config = folder / "RT_SiteConfig.pm"
    config.write_text(
        f"""
$RT::VarPath = '{var}';
$RT::MasonDataDir = '{var}/mason_data';
$RT::MasonSessionDir = '{var}/session_data';
Set($rtname, 'backroom-test');
Set($Organization, 'backroom.test');
Set($Timezone, 'UTC');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{database}');
Set($BcryptCost, {bcrypt_cost});
Set($MailCommand, 'mbox');
Set($CorrespondAddress, 'rt@backroom.test');
Set($CommentAddress, 'rt-comment@backroom.test');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($LogToSyslog, undef);
Set($LogToSTDERR, 'warning');
Set($LogToFile, undef);
1;
""",
        encoding="utf-8",
    )
    (folder / "RT_SiteConfig.d").mkdir(exist_ok=True)
    return config


def _environment(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RT_SITE_CONFIG": str(folder / "RT_SiteConfig.pm"),
        "RT_SITE_CONFIG_DIR": str(folder / "RT_SiteConfig.d"),
    }


def build_template(folder: Path, bcrypt_cost: int = 4) -> RtTemplate:
    """Initialise a database with RT's own tool, then root's password and token and Backroom's queues, custom
    fields and bot user (rt_bootstrap.pl)."""
    require([RT_SERVER, SETUP_DATABASE, "perl"], PACKAGES)
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "rt.db"
    # the port does not matter to the set-up tools; the cost is fixed in the hashes made now (12 is RT's default)
    _site_config(folder, database, port=80, bcrypt_cost=bcrypt_cost)
    env = _environment(folder)
    run_tool([SETUP_DATABASE, "--action", "init", "--skip-create"], env=env)
    printed = run_tool(["perl", BOOTSTRAP, ROOT_PASSWORD, BOT_PASSWORD], env=env).strip().splitlines()
    tokens = dict(line.split(" ", 1) for line in printed if line.startswith(("root ", "bot ")))
    return RtTemplate(
        folder=folder,
        database=database,
        token=tokens["root"],
        seconds=time.monotonic() - started,
        bot_token=tokens["bot"],
    )


def start(template: RtTemplate, folder: Path) -> RequestTracker:
    """Start ``rt-server`` (Starlet, two workers) on a copy of the template database."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "rt.db"
    shutil.copyfile(template.database, database)
    _site_config(folder, database, port)
    argv = [str(RT_SERVER), "--host", "127.0.0.1", "--port", str(port), "--max-workers", "2"]
    process = Process("rt-server", argv, folder / "rt-server.log", env=_environment(folder), cwd=folder)
    url = f"http://127.0.0.1:{port}"
    rt = RequestTracker(
        url=url,
        rest_url=f"{url}/REST/2.0/",
        token=template.token,
        bot_token=template.bot_token,
        username="root",
        password=ROOT_PASSWORD,
        folder=folder,
        database=database,
        mailbox_folder=folder / "var",
        template=template,
        process=process,
    )
    try:
        rt.start()
    except BaseException:
        rt.stop()
        raise
    return rt

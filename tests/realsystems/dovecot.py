"""A throwaway Dovecot IMAP server from Debian's ``dovecot-imapd``, on a free loopback port.

The whole instance lives in one folder: its own ``dovecot.conf`` (started with ``dovecot -F -c``, so
the packaged /etc/dovecot is never read), base_dir and state_dir, a passwd-file of users and their
maildirs. Plaintext logins are allowed because it only listens on 127.0.0.1. TLS is there too: a self-signed
certificate for 127.0.0.1 made at start (``ca_file`` trusts it), IMAPS on ``tls_port`` and STARTTLS
on ``port``.

Dovecot refuses mail access as root, so the mail processes run as ``nobody``; the master, the auth
processes and the login chroot stay root. ``nobody`` could not walk down to maildirs under pytest's
0700 tmp folders, so each user's home is ``<folder>/mail/./<user>``: Dovecot chroots the mail
process into ``<folder>/mail`` (as root, before dropping to ``nobody``) and the home becomes ``/<user>``.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.realsystems._service import Process, free_port, require, tcp_answers, wait_until

PACKAGES = "dovecot-imapd"
DOVECOT = "/usr/sbin/dovecot"
IMAP = "/usr/lib/dovecot/imap"
OPENSSL = "/usr/bin/openssl"
MAIL_USER = "nobody"


@dataclass
class Dovecot:
    """A running IMAP server; ``user``/``password`` log in, their maildir is ``maildir``."""

    host: str
    port: int
    user: str
    password: str
    folder: Path
    process: Process
    tls_port: int = 0
    startup_seconds: float = field(default=0.0)

    @property
    def ca_file(self) -> Path:
        """The server's self-signed certificate: trusting it lets a client verify the server."""
        return self.folder / "tls" / "cert.pem"

    @property
    def maildir(self) -> Path:
        return self.maildir_of(self.user)

    def maildir_of(self, user: str) -> Path:
        return self.folder / "mail" / user

    def add_user(self, user: str, password: str) -> None:
        """Another mailbox; Dovecot re-reads the passwd-file when it changes, no restart needed."""
        nobody = pwd.getpwnam(MAIL_USER)
        self.maildir_of(user).mkdir()
        os.chown(self.maildir_of(user), nobody.pw_uid, nobody.pw_gid)  # the mail process chdirs into it
        home = f"{self.folder / 'mail'}/./{user}"  # "/./" marks the chroot; pathlib would drop the "."
        with (self.folder / "users").open("a", encoding="utf-8") as users:
            users.write(f"{user}:{{PLAIN}}{password}::::{home}\n")

    def start(self) -> None:
        self.process.start()
        self.startup_seconds = wait_until(
            lambda: tcp_answers(self.port, self.host) and tcp_answers(self.tls_port, self.host), self.process
        )

    def stop(self) -> None:
        self.process.stop()


def _certificate(folder: Path) -> None:
    """A self-signed certificate (and key) for 127.0.0.1 and localhost, valid for two days."""
    import subprocess

    tls = folder / "tls"
    tls.mkdir()
    subprocess.run(
        [
            OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _config(folder: Path, port: int, mail_uid: int, mail_gid: int, tls_port: int) -> Path:
    config = folder / "dovecot.conf"
    config.write_text(
        f"""# written by tests/realsystems/dovecot.py: one throwaway instance
instance_name = backroom-test-{port}
base_dir = {folder / "run"}
state_dir = {folder / "state"}
log_path = {folder / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{folder / "tls" / "cert.pem"}
ssl_key = <{folder / "tls" / "key.pem"}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_uid = {mail_uid}
mail_gid = {mail_gid}
mail_location = maildir:~
valid_chroot_dirs = {folder / "mail"}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder / "users"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder / "users"}
}}
service auth {{
  user = root
}}
# no brute-force penalty: a test's wrong password must not slow every later login from 127.0.0.1
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth-worker {{
  user = root
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Archive {{
    auto = create
    special_use = \\Archive
  }}
}}
""",
        encoding="utf-8",
    )
    return config


def start(folder: Path) -> Dovecot:
    """Start ``dovecot -F -c`` with user ``tester`` and wait until the IMAP port accepts."""
    require([DOVECOT, IMAP, OPENSSL], PACKAGES)  # openssl comes with dovecot-core
    if os.geteuid() != 0:
        pytest.skip("the Dovecot fixture runs as root (Dovecot's master drops mail processes to 'nobody')")
    nobody = pwd.getpwnam(MAIL_USER)
    folder.mkdir(parents=True, exist_ok=True)
    mail = folder / "mail"
    mail.mkdir()
    os.chown(mail, nobody.pw_uid, nobody.pw_gid)
    port = tls_port = free_port()
    while tls_port == port:
        tls_port = free_port()
    _certificate(folder)
    config = _config(folder, port, nobody.pw_uid, nobody.pw_gid, tls_port)
    process = Process("dovecot", [DOVECOT, "-F", "-c", str(config)], folder / "dovecot.stdout.log", cwd=folder)
    server = Dovecot(
        host="127.0.0.1",
        port=port,
        user="tester",
        password="tester-pass",  # noqa: S106 - a throwaway instance on loopback
        folder=folder,
        process=process,
        tls_port=tls_port,
    )
    (folder / "users").write_text("", encoding="utf-8")
    server.add_user(server.user, server.password)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server

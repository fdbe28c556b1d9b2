"""Finding 1 (least privilege): a run's process read serve's whole environment — every console token
and every system's secret, in ``os.environ`` and in ``/proc/self/environ``. A run now gets PATH, the
locale, TZ, HOME, its run id, and the secrets its own bot references, nothing else."""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import sys
import tempfile
import time
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

CONSOLE_TOKEN = "console-admin-token-5f1e2d"
OTHER_SECRET = "other-bots-secret-a9b8c7"
STRAY = "serve-only-value-33aa44"
OWN_SECRET = "own-token-0d9c8b7a"
KEYRING_SECRET = "from-the-keyring-77e6f5"


class MemoryKeyring(KeyringBackend):
    """A keyring only serve's process (this test's) can see: a run asking the real one gets nothing."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, entries: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self.entries = entries

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def serve_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RUNSEC_CONSOLE_TOKEN", CONSOLE_TOKEN)
    monkeypatch.setenv("RUNSEC_OTHER_TOKEN", OTHER_SECRET)
    monkeypatch.setenv("RUNSEC_STRAY", STRAY)
    monkeypatch.setenv("RUNSEC_OWN_TOKEN", OWN_SECRET)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring({("runsec", "bot"): KEYRING_SECRET}))
    yield
    keyring.set_keyring(previous)


def settings_tables(**extra):
    return {
        "systems": {
            "own": {"kind": "http", "url": "http://127.0.0.1:1", "token": "env:RUNSEC_OWN_TOKEN"},
            "other": {"kind": "http", "url": "http://127.0.0.1:1", "token": "env:RUNSEC_OTHER_TOKEN"},
        },
        "console": {"users": [{"name": "admin", "role": "admin", "token": "env:RUNSEC_CONSOLE_TOKEN"}]},
        "bots": {"env_dump": {"config": {"system": "own", "extra_secret": "keyring:runsec/bot"}}},
        **extra,
    }


def test_run_sees_no_console_token_and_no_other_bots_secret(run_harness, serve_environment) -> None:
    harness = run_harness(**settings_tables())
    run = harness.run("env_dump")
    assert run.status == "succeeded", run.error
    seen = harness.seen(run)
    everything = json.dumps(seen)
    for forbidden in (CONSOLE_TOKEN, OTHER_SECRET, STRAY):
        assert forbidden not in everything
    assert "RUNSEC_CONSOLE_TOKEN" not in everything and "RUNSEC_OTHER_TOKEN" not in everything
    # its own secret is there, by the name its reference gives, and the keyring one was resolved by serve
    assert seen["environ"]["RUNSEC_OWN_TOKEN"] == OWN_SECRET
    assert seen["extra_secret"] == KEYRING_SECRET
    assert KEYRING_SECRET not in json.dumps(seen["environ"]) + seen["proc_self_environ"]
    # the process's start-up environment (the forkserver's) carries nothing of serve's secrets either
    assert OWN_SECRET not in seen["proc_self_environ"]


def test_run_environment_is_the_minimal_set(run_harness, serve_environment, monkeypatch) -> None:
    monkeypatch.setenv("BACKROOM_CHROMIUM", "/usr/bin/chromium")
    harness = run_harness(**settings_tables())
    run = harness.run("env_dump")
    environ = harness.seen(run)["environ"]
    assert environ["BACKROOM_RUN_ID"] == run.id
    assert environ["HOME"] == run.run_dir
    assert environ["BACKROOM_CHROMIUM"] == "/usr/bin/chromium"  # a tool location named in run_env
    allowed = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "BACKROOM_RUN_ID", "RUNSEC_OWN_TOKEN"}
    allowed |= {"BACKROOM_CHROMIUM", "PLAYWRIGHT_BROWSERS_PATH", "TESSDATA_PREFIX"}
    assert set(environ) <= allowed, set(environ) - allowed
    if "PATH" in os.environ:
        assert environ["PATH"] == os.environ["PATH"]


def test_run_home_is_configurable(run_harness, serve_environment, tmp_path) -> None:
    harness = run_harness(**settings_tables(run_home=str(tmp_path / "bot-home")))
    run = harness.run("env_dump")
    assert harness.seen(run)["environ"]["HOME"] == str(tmp_path / "bot-home")


def test_keyring_reference_not_in_the_bots_config_is_not_resolvable(run_harness, serve_environment) -> None:
    tables = settings_tables()
    tables["bots"]["env_dump"]["config"] = {"system": "own"}
    harness = run_harness(**tables)
    # the bot asks for nothing: it may not reach the keyring entry it has no reference to
    run = harness.run("env_dump")
    assert run.status == "succeeded"
    assert KEYRING_SECRET not in json.dumps(harness.seen(run))


def test_forkserver_start_environment_holds_no_serve_secret(run_harness, serve_environment) -> None:
    """``/proc/<parent>/environ`` of a run is the forkserver's: started with the base variables only."""
    harness = run_harness(**settings_tables())
    run = harness.run("env_dump")
    parent = harness.seen(run)["parent_environ"]
    assert "PATH=" in parent or parent.startswith("unreadable") or parent == ""
    for forbidden in (CONSOLE_TOKEN, OTHER_SECRET, STRAY, OWN_SECRET):
        assert forbidden not in parent


def test_run_as_user_runs_the_bot_as_that_user(run_harness, serve_environment) -> None:
    if os.geteuid() != 0:
        pytest.skip("run_as_user needs the runner to run as root")
    nobody = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="backroom-runas-"))
    home.chmod(0o755)
    harness = run_harness(**settings_tables(run_as_user="nobody", runs_dir=str(home / "runs")))
    run = harness.run("env_dump")
    assert run.status == "succeeded", run.error
    assert harness.seen(run)["uid"] == nobody.pw_uid


def test_run_as_user_is_refused_unless_serve_is_root(run_harness, serve_environment, monkeypatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    harness = run_harness(**settings_tables(run_as_user="nobody"))
    run = harness.run("env_dump")
    assert run.status == "failed"
    assert "run_as_user = 'nobody' needs backroom serve to run as root" in run.error


def test_referenced_secrets_follow_systems_named_under_any_key(run_harness) -> None:
    from backroom.schedules.runenv import referenced_secrets

    settings = run_harness(
        systems={
            "bank": {"kind": "http", "url": "http://127.0.0.1:1", "password": "env:BANK_PW", "otp": "keyring:bank/otp"},
            "crm": {"kind": "http", "url": "http://127.0.0.1:1", "token": "env:CRM_TOKEN"},
            "unused": {"kind": "http", "url": "http://127.0.0.1:1", "token": "env:UNUSED_TOKEN"},
        },
        bots={
            "env_dump": {
                "config": {"system": "crm", "extra_secret": "keyring:runsec/bot"},
                "notify": ["env:HOOK_URL", "json://example.invalid/hook"],
            },
            "echo": {"config": {}},
        },
    ).settings
    refs = referenced_secrets(settings, "env_dump", ["bank"])
    assert refs == ["env:BANK_PW", "keyring:bank/otp", "env:CRM_TOKEN", "keyring:runsec/bot", "env:HOOK_URL"]
    assert referenced_secrets(settings, "echo", []) == []


def test_run_env_takes_variable_names_only(tmp_path) -> None:
    from backroom.schedules.settings import InvalidConfig, parse_settings

    with pytest.raises(InvalidConfig, match="is not an environment variable name"):
        parse_settings({"run_env": ["PATH; cat /etc/shadow"]})


def test_serve_and_runs_are_undumpable(run_harness, serve_environment) -> None:
    """Serve makes itself undumpable before it starts runs, and each run's process does the same."""
    from backroom.schedules.undumpable import dumpable

    harness = run_harness(**settings_tables())
    run = harness.run("env_dump", {"serve_pid": os.getpid()})
    seen = harness.seen(run)
    assert not dumpable(), "serve (here: the test process) is still dumpable after starting runs"
    assert seen["dumpable"] is False
    if os.geteuid() != 0:  # root reads any /proc/PID; anyone else finds serve's closed
        assert seen["serve_environ"].startswith("unreadable")


def _environ_readable_by_same_user(undumpable: bool) -> bool:
    """In a forked process of one user (nobody, when we are root): can it read a sibling's environ?"""
    from backroom.schedules.undumpable import make_undumpable

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "user": becomes nobody, starts a target, tries to read the target's environ
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # a plain process of that user: dumpable
            ready_r, ready_w = os.pipe()
            target = os.fork()
            if target == 0:
                if undumpable:
                    make_undumpable()
                os.write(ready_w, b"x")
                time.sleep(30)
                os._exit(0)
            os.read(ready_r, 1)
            try:
                Path(f"/proc/{target}/environ").read_bytes()
                answer = b"1"
            except OSError:
                answer = b"0"
            os.kill(target, 9)
            os.waitpid(target, 0)
            os.write(write_end, answer)
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    return answer == b"1"


def test_an_undumpable_process_is_closed_to_its_own_user() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux /proc")
    assert _environ_readable_by_same_user(undumpable=False)
    assert not _environ_readable_by_same_user(undumpable=True)

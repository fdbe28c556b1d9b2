"""A path handed to a run cannot leave the bot's roots: not by an absolute path, not by '..', not by a
symlink dropped in the inbox, and never into /proc or a device."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.paths import InboxPath, OutboxPath, PathRefused, Roots, confine


class Params(BaseModel):
    statement: InboxPath | None = None
    target: OutboxPath | None = None


@pytest.fixture
def roots(tmp_path: Path) -> Roots:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "outbox").mkdir()
    (tmp_path / "inbox" / "bank.csv").write_text("date,amount\n")
    return Roots({"inbox": tmp_path / "inbox", "outbox": tmp_path / "outbox"})


def validate(roots: Roots | None, **data: object) -> Params:
    return Params.model_validate(data, context={"roots": roots} if roots else None)


def test_a_file_inside_the_inbox_is_accepted_and_resolved(roots: Roots, tmp_path: Path) -> None:
    assert validate(roots, statement="bank.csv").statement == (tmp_path / "inbox" / "bank.csv").resolve()
    absolute = str(tmp_path / "inbox" / "bank.csv")
    assert validate(roots, statement=absolute).statement == Path(absolute).resolve()


@pytest.mark.parametrize("given", ["/proc/self/environ", "/etc/passwd", "../outbox", "../../etc/hostname"])
def test_paths_outside_the_inbox_are_refused(roots: Roots, given: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(roots, statement=given)
    assert "statement" in str(caught.value)
    assert "refused" in str(caught.value)


def test_a_symlink_out_of_the_inbox_is_refused(roots: Roots, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    os.symlink(secret, tmp_path / "inbox" / "innocent.csv")
    with pytest.raises(ValidationError, match="outside the root"):
        validate(roots, statement="innocent.csv")
    os.symlink("/etc/shadow", tmp_path / "inbox" / "shadow.csv")
    with pytest.raises(ValidationError, match="refused"):
        validate(roots, statement="shadow.csv")


def test_a_symlink_to_proc_is_refused_as_kernel_file(roots: Roots, tmp_path: Path) -> None:
    os.symlink("/proc/self/environ", tmp_path / "inbox" / "env.csv")
    with pytest.raises(PathRefused, match="kernel and device"):
        confine("env.csv", roots.root("inbox"))


def test_sockets_and_fifos_are_refused(roots: Roots, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "inbox" / "pipe.csv")
    with pytest.raises(PathRefused, match="plain files and folders"):
        confine("pipe.csv", roots.root("inbox"))
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "inbox" / "s.csv"))
        with pytest.raises(PathRefused, match="plain files and folders"):
            confine("s.csv", roots.root("inbox"))
    finally:
        sock.close()


def test_a_missing_inbox_file_is_refused_but_an_outbox_target_may_be_new(roots: Roots, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        validate(roots, statement="missing.csv")
    assert validate(roots, target="report.xlsx").target == (tmp_path / "outbox" / "report.xlsx").resolve()
    with pytest.raises(ValidationError, match="outside the root"):
        validate(roots, target="../inbox/bank.csv")


def test_without_roots_only_plain_relative_paths_pass() -> None:
    assert validate(None, statement="bank.csv").statement == Path("bank.csv")
    for given in ("/etc/passwd", "../x.csv"):
        with pytest.raises(ValidationError, match="relative to the bot's inbox"):
            validate(None, statement=given)


def test_roots_must_be_absolute_and_never_kernel_trees(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absolute"):
        Roots({"inbox": Path("var/inbox")})
    with pytest.raises(ConfigError, match="kernel or device"):
        Roots({"inbox": Path("/proc/self")})
    roots = Roots({"inbox": tmp_path})
    assert roots.contains(tmp_path / "a" / "b")
    assert not roots.contains(tmp_path.parent / "elsewhere")
    with pytest.raises(ConfigError, match="no 'outbox' root"):
        roots.root("outbox")

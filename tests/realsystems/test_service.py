"""The helpers every real-system fixture shares: the skip that names packages, stopping a process group."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.realsystems._service import REQUIRED_ENV, Process, require, wait_until


def test_a_missing_binary_skips_naming_the_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRED_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"/nonexistent/rt-server not installed: apt-get install rt5-x"):
        require(["/nonexistent/rt-server", sys.executable], "rt5-x rt5-y")
    require([sys.executable, "sh"], "present")  # nothing missing: no skip


def test_a_missing_binary_fails_where_the_systems_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRED_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"):
        require(["no-such-binary-backroom"], "dovecot-imapd")


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    """Prefork servers leave workers behind their parent; stop() must end those too."""
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; wait"
    process = Process("forker", ["sh", "-c", script], tmp_path / "forker.log")
    process.start()
    wait_until(lambda: pids.exists() and pids.read_text().strip() != "", process, timeout=10)
    worker = int(pids.read_text())
    process.stop(timeout=10)
    assert not process.running
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    process.stop()  # stopping twice is harmless


def test_wait_until_reports_a_process_that_died(tmp_path: Path) -> None:
    process = Process("crasher", ["sh", "-c", "echo boom; exit 3"], tmp_path / "crasher.log")
    process.start()
    with pytest.raises(RuntimeError, match=r"crasher exited 3:\nboom"):
        wait_until(lambda: False, process, timeout=10)

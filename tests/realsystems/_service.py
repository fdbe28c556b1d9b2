"""Starting, watching and stopping one real system's processes, shared by every system module.

The systems are separate programs (Perl, Ruby, Go, C), so they run as child processes in a session of
their own: stopping one signals its whole process group (RT's prefork workers, Dovecot's children)
and never anything else on the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from backroom.sandbox.server import free_port

__all__ = ["Process", "free_port", "http_answers", "require", "run_tool", "tcp_answers", "wait_until"]

STARTUP_TIMEOUT = 120.0
REQUIRED_ENV = "BACKROOM_REALSYSTEMS_REQUIRED"


def require(paths: Sequence[str | Path], packages: str) -> None:
    """Skip the test when a binary is missing, naming the Debian packages that provide it.

    A developer machine without them skips; CI installs them with ``.ci/install-realsystems`` and sets
    ``BACKROOM_REALSYSTEMS_REQUIRED=1``, where a missing system fails instead of passing as a skip."""
    missing = [str(p) for p in paths if not (Path(p).exists() if os.sep in str(p) else shutil.which(str(p)))]
    if missing:
        reason = f"{', '.join(missing)} not installed: apt-get install {packages} (or run .ci/install-realsystems)"
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{reason}; {REQUIRED_ENV}=1 says these systems must run here")
        pytest.skip(reason)


def run_tool(
    argv: Sequence[str | Path], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 300.0
) -> str:
    """Run one set-up command to completion; on failure raise with its output so the cause is visible."""
    result = subprocess.run(
        [str(a) for a in argv],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def tcp_answers(port: int, host: str = "127.0.0.1") -> bool:
    """True once something accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_answers(url: str) -> bool:
    """True once ``url`` answers HTTP at all (any status: a 401 or 302 still means the server is up)."""
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    return True


@dataclass
class Process:
    """One long-running child process with its output in ``log``; ``start`` and ``stop`` may repeat."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._popen = subprocess.Popen(  # noqa: S603 - argv is built by the fixtures, never from input
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers; safe to call when already stopped."""
        popen, self._popen = self._popen, None
        if popen is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                popen.wait(timeout=timeout)
                _wait_group_gone(popen.pid, timeout)
                return
            except subprocess.TimeoutExpired:
                continue
        popen.wait(timeout=timeout)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Workers of a prefork server may outlive their parent briefly; wait until the group is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise subprocess.TimeoutExpired(f"process group {pgid}", timeout)


def wait_until(ready: Callable[[], bool], process: Process, timeout: float = STARTUP_TIMEOUT) -> float:
    """Poll ``ready`` until it holds; fail early with the log when the process died. Returns seconds waited."""
    started = time.monotonic()
    while not ready():
        if process._popen is not None and process._popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited {process._popen.returncode}:\n{process.log_tail()}")
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{process.name} did not answer within {timeout:.0f} s:\n{process.log_tail()}")
        time.sleep(0.1)
    return time.monotonic() - started

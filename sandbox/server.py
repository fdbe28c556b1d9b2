"""Running a sandbox ASGI app on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["RunningServer", "free_port", "running", "start"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    port: int
    app: Any
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start(app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> RunningServer:
    """Start ``app`` with uvicorn on ``host`` (loopback by default) and wait until it accepts."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"sandbox-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"sandbox server on port {port} failed to start")
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox server on port {port} did not start within 15 s")
        time.sleep(0.02)
    return RunningServer(url=f"http://{host}:{port}", port=port, app=app, _server=server, _thread=thread)


@contextmanager
def running(app: Any, **kwargs: Any) -> Iterator[RunningServer]:
    server = start(app, **kwargs)
    try:
        yield server
    finally:
        server.stop()

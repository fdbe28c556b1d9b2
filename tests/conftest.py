"""Fixtures every test area shares: real SMTP and webhook receivers on loopback, database URLs,
and a browser check. Area-specific fixtures live in ``tests/fixtures/<area>.py`` and are loaded
here as plugins."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_receipts() -> Path:
    """The labelled SROIE receipts beside the project (never copied into it)."""
    folder = SHARED_DATA / "receipts"
    if not (folder / "img").is_dir():
        pytest.skip(f"shared receipts not found at {folder} (they live in ../shared/data/receipts)")
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("BACKROOM_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("BACKROOM_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@pytest.fixture(scope="session")
def mysql_url() -> str:
    url = os.environ.get("BACKROOM_TEST_MYSQL_URL")
    if not url:
        pytest.skip("BACKROOM_TEST_MYSQL_URL is not set (e.g. mysql+pymysql://root@127.0.0.1:3306/test)")
    return url


@pytest.fixture(scope="session")
def chromium_available() -> None:
    from backroom.bots.sdk.browser import chromium_executable

    if chromium_executable() is None:
        pytest.skip(
            "no Chromium found: install Debian's chromium (backroom setup) or run 'playwright install chromium'"
        )


# -- a real SMTP server ------------------------------------------------------------------------
@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list = field(default_factory=list)

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port; received messages are parsed ``email.message`` objects."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from backroom.sandbox.server import free_port

    server = SmtpServer("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):
            server.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname=server.host, port=server.port, auth_require_tls=False)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# -- a real webhook receiver -------------------------------------------------------------------
@dataclass
class WebhookReceiver:
    url: str
    requests: list = field(default_factory=list)

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on loopback recording every POST: path, headers and body (JSON when it parses)."""
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            payload = b'{"errcode": 0, "errmsg": "ok", "code": 0, "StatusCode": 0}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookReceiver(f"http://127.0.0.1:{httpd.server_address[1]}", received)
    finally:
        httpd.shutdown()
        httpd.server_close()

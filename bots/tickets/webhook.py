"""Receiving dialer outcome webhooks into the tickets bot's events table.

The receiver verifies the HMAC signature, stores the event keyed by its ``event_id`` (a duplicate
delivery hits the primary key and changes nothing) and answers 200 either way so the dialer stops
retrying. Order does not matter: the state machine looks events up by the attempt's idempotency
key, so an outcome of an older attempt arriving late is simply never consulted.

The autoclose run starts it for its own duration when ``webhook.listen`` is set; a deployment may
also mount :func:`make_app` in a long-running server. Polling covers anything that was missed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backroom.bots.sdk.errors import ApplicationError
from backroom.bots.systems.dialer.base import verify_signature
from backroom.bots.tickets.state import StateStore

__all__ = ["make_app", "serve"]


def make_app(store: StateStore, secret: str | None) -> Any:
    """A pure ASGI app: ``POST /`` (any path) with the dialer's JSON event."""

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        status, answer = 200, {"ok": True}
        if scope.get("method") != "POST":
            status, answer = 405, {"error": "POST only"}
        elif secret and not verify_signature(secret, body, headers.get("x-dialer-signature")):
            status, answer = 401, {"error": "bad signature"}
        else:
            try:
                event = json.loads(body)
                if not event.get("event_id") or not event.get("outcome"):
                    raise ValueError("event_id and outcome are required")
                answer["new"] = store.add_event(event, "webhook")
            except (ValueError, TypeError, AttributeError) as exc:
                status, answer = 400, {"error": str(exc)}
        payload = json.dumps(answer).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": payload})

    return app


@contextmanager
def serve(store: StateStore, secret: str | None, listen: str) -> Iterator[str]:
    """Run the receiver on ``host:port`` (port 0 = any free port) for the block; yields its URL."""
    import socket

    import uvicorn

    host, _, port_text = listen.rpartition(":")
    port = int(port_text or 0)
    if port == 0:
        with socket.socket() as sock:
            sock.bind((host or "127.0.0.1", 0))
            port = sock.getsockname()[1]
    config = uvicorn.Config(
        make_app(store, secret),
        host=host or "127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tickets-webhook", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise ApplicationError(f"the outcome webhook receiver could not listen on {listen}")
    try:
        yield f"http://{host or '127.0.0.1'}:{port}/dialer-outcome"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""A REST source paged by ``Link`` headers as RFC 8288 allows them, from a loopback HTTP server.

None of the real systems here (Redmine, RT, Prometheus) pages by ``Link``, so a small server on
loopback speaks it, using what the RFC permits and a shortcut parser misses: several relation types
in one ``rel``, relation types in capitals, several ``Link`` fields, quoted titles holding commas and
semicolons, relative references (``items?...`` and ``?...``), and a link with another ``anchor``.
Before, a ``rel="next nofollow"`` ended the pass after the first page and the run "succeeded".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.migrate.links import next_link, parse_link_values
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.testing import make_context

RECORDS = [{"id": i, "name": f"客户{i}", "region": {"code": f"R{i % 3}"}} for i in range(1, 24)]
PAGE = 7


def _links(after: int, port: int) -> list[str]:
    """The Link fields of the page starting after ``after`` (each page uses other RFC 8288 forms)."""
    if after == 0:
        return ['</api/items?after=0>; rel="first"; title="p 1, of 4; x", <items?after=7&limit=7>; rel="next nofollow"']
    if after == 7:
        return ["<items?after=0&limit=7>; rel=prev", '<items?after=14&limit=7>; REL="NEXT"']
    if after == 14:
        return [f'<http://127.0.0.1:{port}/elsewhere>; rel="next"; anchor="#comments", <?after=21&limit=7>; rel=next']
    return ['<items?after=14&limit=7>; rel="prev"']


class _Server:
    def __init__(self, *, foreign_next: bool = False) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.paths.append(self.path)
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path != "/api/items" or self.headers.get("Authorization") != "Bearer s3cret":
                    self.send_response(404 if url.path != "/api/items" else 401)
                    self.end_headers()
                    return
                after = int(query.get("after", ["0"])[0])
                limit = int(query.get("limit", [str(PAGE)])[0])
                body = json.dumps({"data": RECORDS[after : after + min(limit, PAGE)]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                links = (
                    ['<http://example.invalid/api/items?after=7>; rel="next"']
                    if owner.foreign
                    else _links(after, self.server.server_address[1])
                )
                for field in links:
                    self.send_header("Link", field)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.foreign = foreign_next
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:
        yield s


def _config() -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "items": {
                    "source": {
                        "kind": "rest",
                        "system": "api",
                        "path": "/api/items",
                        "items_key": "data",
                        "paging": "link",
                        "since_param": None,
                        "page_size": PAGE,
                    },
                    "target": {"kind": "sql", "system": "db", "table": "copies"},
                    "key": "id",
                    "fields": {"id": "id", "name": "name", "region": "region.code"},
                }
            }
        }
    )


def _run(tmp_path: Path, url: str, db: Any) -> Any:
    systems = {"api": {"kind": "http", "url": url, "token": "env:API_TOKEN"}, "db": {"kind": "sql", "url": db.url}}
    ctx = make_context(tmp_path, "migrate", systems=systems, environ={"API_TOKEN": "s3cret"}, config=_config())
    try:
        return Migrate().run(ctx, MigrateParams(name="items"))
    finally:
        ctx.close()


def test_every_page_is_followed_through_rfc_8288_link_headers(tmp_path: Path, server: _Server, migrate_sqlite: Any):
    db = migrate_sqlite
    db.sql("CREATE TABLE copies (id INTEGER PRIMARY KEY, name TEXT, region TEXT)")
    result = _run(tmp_path, server.url, db)
    assert result.counts["read"] == 23 and result.counts["inserted"] == 23 and result.counts["batches"] == 4
    assert db.sql("SELECT count(*), min(id), max(id) FROM copies")[0] == (23, 1, 23)
    assert db.sql("SELECT name, region FROM copies WHERE id = 22")[0] == ("客户22", "R1")
    assert [p for p in server.paths if p != "/api/items?limit=1"] == [  # less the column probes
        "/api/items?limit=7",
        "/api/items?after=7&limit=7",
        "/api/items?after=14&limit=7",
        "/api/items?after=21&limit=7",
    ]  # relative references resolved against the page's URL; the anchored link not followed


def test_a_next_page_on_another_host_is_not_followed(tmp_path: Path, migrate_sqlite: Any) -> None:
    migrate_sqlite.sql("CREATE TABLE copies (id INTEGER PRIMARY KEY, name TEXT, region TEXT)")
    with _Server(foreign_next=True) as foreign:
        with pytest.raises(ConfigError, match=r"next page is on another host \(http://example.invalid"):
            _run(tmp_path, foreign.url, migrate_sqlite)
        # refused before any request: following it would have failed to connect (a TransientError)
        assert foreign.paths[-1] == "/api/items?limit=7"


def test_link_values_parse_as_the_rfc_writes_them() -> None:
    values = parse_link_values('<a>; rel="next last"; title="x, <y>; z", <b>;rel=prev;rel=next, junk, <c>; rel')
    assert values == [("a", {"rel": "next last", "title": "x, <y>; z"}), ("b", {"rel": "prev"}), ("c", {"rel": ""})]
    assert next_link(['<p2>; rel="last"', '<p3>; rel="Next"'], "https://h/x/list?page=1") == "https://h/x/p3"
    assert next_link(['<p2>; rel="prev"'], "https://h/x") is None

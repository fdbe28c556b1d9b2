"""Prometheus and node-exporter from Debian's packages, each on a free loopback port.

Prometheus gets a configuration of its own (job ``node``, and job ``prometheus`` scraping itself — a
second target that stays up while node-exporter is stopped — each scraped every second) and keeps its
TSDB in the instance folder. node-exporter is a separate ``Process`` so a test can stop it and watch
``up{job="node"}`` fall to 0, then start it again on the same port.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.realsystems._service import Process, free_port, http_answers, require, wait_until

PACKAGES = "prometheus prometheus-node-exporter"
PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
SCRAPE_INTERVAL_S = 1


@dataclass
class NodeExporter:
    """The scrape target; ``stop()``/``start()`` make it go down and come back on the same port."""

    url: str
    port: int
    process: Process
    startup_seconds: float = 0.0

    def start(self) -> None:
        self.process.start()
        self.startup_seconds = wait_until(lambda: http_answers(f"{self.url}/metrics"), self.process)

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Prometheus:
    """A running Prometheus: the HTTP API under ``url`` (``/api/v1/query``, ``/api/v1/query_range``)."""

    url: str
    folder: Path
    node_exporter: NodeExporter
    process: Process
    startup_seconds: float = 0.0

    def query(self, promql: str) -> list[dict]:
        """An instant query's result vector (raises when Prometheus reports an error)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def wait_for(self, promql: str, predicate: Callable[[list[dict]], bool], timeout: float = 30.0) -> list[dict]:
        """Poll an instant query until ``predicate(result)`` holds: scrapes land once a second."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if predicate(result):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{promql!r} never satisfied the condition; last result: {result}")
            time.sleep(0.2)

    def start(self) -> None:
        self.process.start()
        self.startup_seconds = wait_until(lambda: _ready(self.url), self.process)

    def stop(self) -> None:
        self.process.stop()
        self.node_exporter.stop()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def start(folder: Path) -> Prometheus:
    """Start node-exporter, then Prometheus scraping it; wait until the first scrape has landed."""
    require([PROMETHEUS, NODE_EXPORTER], PACKAGES)
    folder.mkdir(parents=True, exist_ok=True)
    exporter_port, prometheus_port = free_port(), free_port()
    exporter = NodeExporter(
        url=f"http://127.0.0.1:{exporter_port}",
        port=exporter_port,
        process=Process(
            "prometheus-node-exporter",
            [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{exporter_port}"],
            folder / "node-exporter.log",
        ),
    )
    config = folder / "prometheus.yml"
    config.write_text(
        f"""global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {SCRAPE_INTERVAL_S}s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{prometheus_port}"]
""",
        encoding="utf-8",
    )
    argv = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
        "--web.enable-lifecycle",
    ]
    server = Prometheus(
        url=f"http://127.0.0.1:{prometheus_port}",
        folder=folder,
        node_exporter=exporter,
        process=Process("prometheus", argv, folder / "prometheus.log", cwd=folder),
    )
    try:
        exporter.start()
        server.start()
        server.wait_for('up{job="node"}', lambda result: bool(result) and result[0]["value"][1] == "1")
    except BaseException:
        server.stop()
        raise
    return server

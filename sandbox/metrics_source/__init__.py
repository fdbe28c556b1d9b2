"""Sandbox metrics source: contact-centre figures per queue and interval, four ways.

A stand-in for the systems a service centre reads its numbers from (an ACD/WFM reporting API, a
Prometheus server, a BI dashboard with no API). Figures are a pure function of ``(seed, queue,
interval)``, so every pull of the same interval returns the same numbers — which is what lets the
tests check that re-pulling replaces rather than duplicates. Volumes follow a realistic shape in
local time (Asia/Shanghai): quiet nights, a 10:00 peak, a lunch dip, a second peak at 15:00, a busy
Monday and quiet weekends.

Served on one app:

* ``GET /api/v1/queues`` and ``GET /api/v1/metrics?queue=&start=&end=&interval=15|30|60&limit=&cursor=``
  (``Authorization: Bearer <token>`` or HTTP basic; cursor pagination; ISO 8601 times, ``+08:00``);
* ``GET /metrics``: Prometheus exposition of the last complete 15-minute interval;
* ``GET /api/v1/query`` and ``/api/v1/query_range``: the Prometheus HTTP API for plain selectors
  such as ``cc_calls_offered{queue="billing"}`` (a sample at time T is the 15-minute interval that
  *ends* at T);
* ``GET /login`` + ``/dashboard?date=YYYY-MM-DD``: an HTML page (hourly table + SVG chart) behind a
  login form and a session cookie, with no API behind it.

Switches beyond :mod:`sandbox.faults`: ``POST /_sandbox/anomalies`` (a JSON list of
:class:`Anomaly`), ``POST /_sandbox/glitches`` (``non_numeric_every``: every Nth value rendered as
``"N/A"``; ``duplicate_rows``: each API row sent twice). ``layout_variant = 1`` renames and reorders
the dashboard's columns.

    data.py        the figures, anomalies and glitch switches
    served.py      what the routes of one app share (data, clock, credentials)
    api.py         the reporting API
    prometheus.py  exposition and the Prometheus query API
    dashboard.py   the HTML dashboard behind a login
    app.py         create_app: all of the above behind the fault middleware
"""

from __future__ import annotations

from backroom.sandbox.metrics_source.app import create_app
from backroom.sandbox.metrics_source.data import DASHBOARD_COLUMNS, FIELDS, PROM_METRICS, QUEUES, Anomaly, MetricsData

__all__ = [
    "DASHBOARD_COLUMNS",
    "FIELDS",
    "PROM_METRICS",
    "QUEUES",
    "Anomaly",
    "MetricsData",
    "create_app",
]

"""The sandbox metrics source through its APIs: JSON, Prometheus exposition and HTTP API, switches."""

from __future__ import annotations

import datetime as dt

import httpx
from prometheus_client.parser import text_string_to_metric_families

from backroom.sandbox.metrics_source import Anomaly, MetricsData
from tests.fixtures.metrics import METRICS_NOW, METRICS_TOKEN, MetricsSandbox

UTC = dt.UTC


def _client(sandbox: MetricsSandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)


def test_json_api_auth_pagination_and_determinism(metrics_sandbox: MetricsSandbox) -> None:
    assert httpx.get(f"{metrics_sandbox.url}/api/v1/metrics").status_code == 401
    with _client(metrics_sandbox) as client:
        params = {"start": "2026-11-23T00:00:00+08:00", "end": "2026-11-24T00:00:00+08:00", "interval": 60}
        items, cursor, pages = [], None, 0
        while True:
            body = client.get(
                "/api/v1/metrics", params={**params, "limit": 20, **({"cursor": cursor} if cursor else {})}
            ).json()
            items += body["items"]
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert pages == 4 and len(items) == 72
        again = client.get("/api/v1/metrics", params={**params, "limit": 500}).json()["items"]
    assert again == items  # the same interval always has the same figures
    row = items[10]  # billing 10:00 on a Monday, the peak
    assert row["offered"] == row["answered"] + row["abandoned"]
    assert row["answered_within_20s"] <= row["answered_within_30s"] <= row["answered"]
    assert row["interval_start"] == "2026-11-23T10:00:00+08:00"
    night = items[3]
    assert night["offered"] * 5 < row["offered"]  # quiet nights, busy mornings


def test_weekly_shape_monday_busier_than_sunday() -> None:
    data = MetricsData(seed=7)
    monday = data.rows(
        "billing", dt.datetime(2026, 11, 23, 2, tzinfo=UTC), dt.datetime(2026, 11, 23, 3, tzinfo=UTC), 60
    )
    sunday = data.rows(
        "billing", dt.datetime(2026, 11, 22, 2, tzinfo=UTC), dt.datetime(2026, 11, 22, 3, tzinfo=UTC), 60
    )
    assert monday[0]["offered"] > 1.8 * sunday[0]["offered"]


def test_injected_anomaly_and_glitches(metrics_sandbox: MetricsSandbox) -> None:
    with _client(metrics_sandbox) as client:
        params = {
            "queue": "billing",
            "start": "2026-11-23T10:00:00+08:00",
            "end": "2026-11-23T11:00:00+08:00",
            "interval": 60,
        }
        normal = client.get("/api/v1/metrics", params=params).json()["items"][0]
        answer = client.post(
            f"{metrics_sandbox.url}/_sandbox/anomalies",
            json=[
                {
                    "queue": "billing",
                    "start": "2026-11-23T10:00:00+08:00",
                    "end": "2026-11-23T11:00:00+08:00",
                    "kind": "abandon",
                    "factor": 5,
                }
            ],
        )
        assert answer.json() == {"anomalies": 1}
        spiked = client.get("/api/v1/metrics", params=params).json()["items"][0]
        assert spiked["abandoned"] > 3 * normal["abandoned"]
        client.post(f"{metrics_sandbox.url}/_sandbox/glitches", json={"non_numeric_every": 3, "duplicate_rows": True})
        glitchy = client.get("/api/v1/metrics", params=params).json()["items"]
        assert len(glitchy) == 2 and "N/A" in glitchy[0].values()
        assert client.post(f"{metrics_sandbox.url}/_sandbox/glitches", json={"nope": 1}).status_code == 400


def test_outage_anomaly_removes_rows() -> None:
    data = MetricsData(
        anomalies=[
            Anomaly("tech", dt.datetime(2026, 11, 23, tzinfo=UTC), dt.datetime(2026, 11, 23, 1, tzinfo=UTC), "outage")
        ]
    )
    rows = data.rows("tech", dt.datetime(2026, 11, 22, 23, tzinfo=UTC), dt.datetime(2026, 11, 23, 2, tzinfo=UTC), 60)
    assert [r["interval_start"][11:16] for r in rows] == ["07:00", "09:00"]


def test_prometheus_exposition_and_http_api(metrics_sandbox: MetricsSandbox) -> None:
    with _client(metrics_sandbox) as client:
        text = client.get("/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        offered = {s.labels["queue"]: s.value for s in families["cc_calls_offered"].samples}
        assert set(offered) == {"billing", "tech", "vip"}
        instant = client.get("/api/v1/query", params={"query": 'cc_calls_offered{queue="billing"}'}).json()
        assert instant["status"] == "success" and instant["data"]["resultType"] == "vector"
        assert float(instant["data"]["result"][0]["value"][1]) == offered["billing"]
        end = METRICS_NOW.timestamp()
        ranged = client.post(
            "/api/v1/query_range",
            data={"query": "cc_calls_abandoned", "start": str(end - 3600), "end": str(end), "step": "900"},
        ).json()
        assert ranged["data"]["resultType"] == "matrix" and len(ranged["data"]["result"]) == 3
        assert len(ranged["data"]["result"][0]["values"]) == 5
        bad = client.get("/api/v1/query", params={"query": "sum(rate(x[5m]))"})
        assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"


def test_fault_switches_apply(metrics_sandbox: MetricsSandbox) -> None:
    with _client(metrics_sandbox) as client:
        client.post(f"{metrics_sandbox.url}/_sandbox/faults", json={"fail_next": 1, "error_status": 502})
        assert client.get("/api/v1/queues").status_code == 502
        assert client.get("/api/v1/queues").json() == {"queues": ["billing", "tech", "vip"]}


def test_json_adapter_with_basic_auth_and_concurrent_queue_streams(tmp_path, metrics_sandbox: MetricsSandbox) -> None:
    import asyncio

    from backroom.bots.sdk.testing import make_context
    from backroom.bots.systems.metric_sources import SourceConfig, Window, adapter

    systems = {"api": {"kind": "http", "url": metrics_sandbox.url, "username": "ops", "password": "env:DASH_PASS"}}
    ctx = make_context(tmp_path, "metrics", systems=systems, environ=metrics_sandbox.environ)
    source = SourceConfig(
        name="api",
        kind="json",
        system="api",
        options={"queues": ["tech", "vip"], "page_size": 7, "params": {"interval": 30}},
    )
    window = Window(METRICS_NOW - dt.timedelta(hours=6), METRICS_NOW)
    result = asyncio.run(adapter("json").pull(ctx, source, window))
    assert {s.dims for s in result.samples} == {'{"queue":"tech"}', '{"queue":"vip"}'}
    assert len({s.start for s in result.samples}) == 12 and all(s.seconds == 1800 for s in result.samples)
    bad = {"api": {**systems["api"], "password": "env:WRONG"}}
    ctx_bad = make_context(tmp_path, "metrics", systems=bad, environ={"WRONG": "nope"})
    import pytest

    from backroom.bots.systems.metric_sources import MetricSourceError

    with pytest.raises(MetricSourceError, match="401"):
        asyncio.run(adapter("json").pull(ctx_bad, source, window))


def test_dashboard_switches_latency_session_expiry_and_layout(metrics_sandbox: MetricsSandbox) -> None:
    import time

    faults = metrics_sandbox.app.state.faults
    with httpx.Client(base_url=metrics_sandbox.url, follow_redirects=True, timeout=10) as web:
        web.post("/login", data={"username": "ops", "password": "ops-pass"})
        page = web.get("/dashboard", params={"date": "2026-11-23"}).text
        assert "<th>放弃量</th>" in page and 'id="metrics"' in page
        faults.update({"layout_variant": 1, "latency_ms": 150})
        started = time.perf_counter()
        moved = web.get("/dashboard", params={"date": "2026-11-23"}).text
        assert time.perf_counter() - started >= 0.15
        assert "<th>放弃数</th>" in moved and "<th>放弃量</th>" not in moved and 'id="kpi-table"' in moved
        faults.update({"latency_ms": 0, "session_ttl_s": 600})
        signed_in = metrics_sandbox.now
        try:  # sessions age by the sandbox's clock: move it past the TTL instead of sleeping
            metrics_sandbox.set_now(signed_in + dt.timedelta(seconds=590))
            assert web.get("/dashboard").url.path == "/dashboard"
            metrics_sandbox.set_now(signed_in + dt.timedelta(seconds=610))
            expired = web.get("/dashboard")
        finally:
            metrics_sandbox.set_now(signed_in)
        assert expired.url.path == "/login"


def test_prometheus_adapter_instant_mode_and_bad_query(tmp_path, metrics_sandbox: MetricsSandbox) -> None:
    import asyncio

    import pytest

    from backroom.bots.sdk.testing import make_context
    from backroom.bots.systems.metric_sources import MetricSourceError, SourceConfig, Window, adapter

    ctx = make_context(tmp_path, "metrics", systems=metrics_sandbox.systems(), environ=metrics_sandbox.environ)
    window = Window(METRICS_NOW - dt.timedelta(hours=1), METRICS_NOW)
    source = SourceConfig(
        name="p",
        kind="prometheus",
        system="metrics_api",
        options={"mode": "instant", "queries": {"offered": 'cc_calls_offered{queue="vip"}'}},
    )
    result = asyncio.run(adapter("prometheus").pull(ctx, source, window))
    assert [(s.metric, s.dims, s.start, s.seconds) for s in result.samples] == [
        ("offered", '{"queue":"vip"}', METRICS_NOW - dt.timedelta(minutes=15), 900)
    ]
    broken = SourceConfig(
        name="p",
        kind="prometheus",
        system="metrics_api",
        options={"queries": {"offered": "sum by (queue) (rate(cc_calls_offered[5m]))"}},
    )
    with pytest.raises(MetricSourceError, match="unsupported PromQL"):
        asyncio.run(adapter("prometheus").pull(ctx, broken, window))


def test_dashboard_login_form(metrics_sandbox: MetricsSandbox) -> None:
    with httpx.Client(base_url=metrics_sandbox.url, follow_redirects=True, timeout=10) as web:
        assert web.get("/dashboard").url.path == "/login"
        refused = web.post("/login", data={"username": "ops", "password": "wrong"})
        assert refused.status_code == 401 and "用户名或密码错误" in refused.text
        home = web.post("/login", data={"username": "ops", "password": "ops-pass"})
        assert home.url.path == "/" and "运营看板" in home.text
        page = web.get("/dashboard").text
        assert page.count("<tr>") == 1 + 3 * 9  # header + 9 complete hours today for 3 queues
        assert page.count("<polyline") == 3

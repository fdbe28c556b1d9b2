"""The console's HTTP API on a real Runner: auth and roles, validation, runs, logs, artifacts, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.console import ConsoleHarness, token_of


def _audit(h: ConsoleHarness, action: str) -> list:
    return [e for e in h.runner.history.audit_log(limit=500) if e.action == action]


def test_no_token_is_401_and_wrong_token_is_401(console_harness: ConsoleHarness) -> None:
    anonymous = console_harness.client()
    response = anonymous.get("/api/v1/runs")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in response.json()["detail"]
    wrong = anonymous.get("/api/v1/bots", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API token"
    assert anonymous.get("/metrics").status_code == 401


def test_viewer_trigger_is_403_audited_and_nothing_runs(console_harness: ConsoleHarness) -> None:
    h = console_harness
    before = len(h.runner.history.list_runs(bot="noop", limit=500).runs)
    response = h.client("vera").post("/api/v1/bots/noop/runs", json={"params": {}})
    assert response.status_code == 403
    assert "needs role operator" in response.json()["detail"]
    denied = [e for e in _audit(h, "trigger") if e.outcome == "denied" and e.actor == "vera"]
    assert denied and denied[0].target == "noop" and denied[0].source.startswith("testclient")
    assert denied[0].detail["role"] == "viewer"
    assert len(h.runner.history.list_runs(bot="noop", limit=500).runs) == before
    # a viewer may read, but not the audit log (admin only), and that refusal is audited too
    assert h.client("vera").get("/api/v1/bots").status_code == 200
    assert h.client("vera").get("/api/v1/audit").status_code == 403
    assert h.client("otto").get("/api/v1/audit").status_code == 403
    assert h.client("ada").get("/api/v1/audit").status_code == 200


def test_invalid_params_are_422_with_fields_and_nothing_is_queued(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client("otto")
    before = len(h.runner.history.list_runs(bot="echo", limit=1000).runs)
    response = client.post("/api/v1/bots/echo/runs", json={"params": {"repeat": 1000, "colour": "red"}})
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["repeat"]["message"] == "Input should be less than or equal to 100"
    assert errors["colour"]["type"] == "extra_forbidden"
    # a body of the wrong shape is a 422 in the same format
    shape = client.post("/api/v1/bots/echo/runs", json={"params": [1, 2]})
    assert shape.status_code == 422 and shape.json()["errors"][0]["field"] == "params"
    not_json = client.post("/api/v1/bots/echo/runs", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    # dry run asked of a bot that cannot do one
    dry = client.post("/api/v1/bots/noop/runs", json={"dry_run": True})
    assert dry.status_code == 422 and dry.json()["errors"][0]["field"] == "dry_run"
    assert len(h.runner.history.list_runs(bot="echo", limit=1000).runs) == before
    assert any(e.outcome == "rejected" and e.target == "echo" for e in _audit(h, "trigger"))


def test_unknown_ids_are_404(console_harness: ConsoleHarness) -> None:
    client = console_harness.client("ada")
    assert client.get("/api/v1/bots/nope").status_code == 404
    assert client.post("/api/v1/bots/nope/runs", json={}).status_code == 404
    assert client.post("/api/v1/bots/nope/pause").status_code == 404
    assert client.get("/api/v1/runs/" + "0" * 32).status_code == 404
    assert client.get("/api/v1/runs/" + "0" * 32 + "/logs").status_code == 404
    assert client.post("/api/v1/runs/" + "f" * 32 + "/cancel").status_code == 404
    assert client.get("/api/v1/runs/x" * 40).status_code == 404
    assert client.get("/api/v1/runs/" + "0" * 32 + "/artifacts/a.txt").status_code == 404


def test_trigger_run_logs_artifact_and_filters(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client("otto")
    older_run = h.runner.history.create_run("echo", trigger="api", status="succeeded")  # an older page exists
    response = client.post("/api/v1/bots/echo/runs", json={"params": {"text": "对账完成", "repeat": 3}})
    assert response.status_code == 202
    queued = response.json()
    assert queued["status"] == "queued" and queued["params"]["text"] == "对账完成" and queued["triggered_by"] == "otto"
    run = h.finished(queued["id"])
    assert run.status == "succeeded", run.error

    detail = client.get(f"/api/v1/runs/{run.id}").json()
    assert detail["summary"] == "echoed '对账完成'" and detail["counts"] == {"lines": 3}
    assert [a["name"] for a in detail["artifacts"]] == ["echo.txt"]
    logs = client.get(f"/api/v1/runs/{run.id}/logs").json()
    echoed = [line for line in logs["lines"] if line["message"] == "echo: 对账完成"]
    assert len(echoed) == 3
    later = client.get(f"/api/v1/runs/{run.id}/logs", params={"after": echoed[1]["id"]}).json()
    assert next(x["id"] for x in later["lines"]) == echoed[2]["id"]

    download = client.get(detail["artifacts"][0]["url"])
    assert download.status_code == 200 and download.text == "对账完成" * 3
    assert "attachment" in download.headers["content-disposition"]

    page = client.get("/api/v1/runs", params={"bot": "echo", "status": "succeeded", "limit": 1}).json()
    assert page["runs"][0]["id"] == run.id and page["next_cursor"]
    assert all(r["bot"] == "echo" for r in page["runs"])
    older = client.get("/api/v1/runs", params={"bot": "echo", "cursor": page["next_cursor"]}).json()
    assert run.id not in [r["id"] for r in older["runs"]] and older_run.id in [r["id"] for r in older["runs"]]
    today = run.queued_at.astimezone(h.runner.settings.zone).date().isoformat()
    assert run.id in [r["id"] for r in client.get("/api/v1/runs", params={"day": today}).json()["runs"]]
    assert client.get("/api/v1/runs", params={"day": "2001-01-01"}).json()["runs"] == []
    assert client.get("/api/v1/runs", params={"cursor": "garbage"}).status_code == 422
    assert client.get("/api/v1/runs", params={"status": "exploded"}).status_code == 422
    naive = client.get("/api/v1/runs", params={"since": "2001-01-01T00:00:00"})
    assert naive.status_code == 200 and naive.json()["runs"]

    audit = [e for e in _audit(h, "trigger") if e.detail.get("run_id") == run.id]
    assert audit and audit[0].actor == "otto" and audit[0].source.endswith("(api)")


def test_artifact_download_cannot_escape_the_run_folder(console_harness: ConsoleHarness, tmp_path: Path) -> None:
    h = console_harness
    client = h.client("ada")
    run = h.finished(client.post("/api/v1/bots/echo/runs", json={"params": {"text": "x"}}).json()["id"])
    assert run.status == "succeeded"
    secret = Path(run.run_dir) / "outside.txt"
    secret.write_text("not an artifact")
    (Path(run.run_dir) / "artifacts" / "link.txt").symlink_to(secret)
    h.runner.history.set_artifacts(run.id, [("echo.txt", 1), ("link.txt", 1), ("../outside.txt", 1)])
    base = f"/api/v1/runs/{run.id}/artifacts/"
    for attempt in [
        "../outside.txt",
        "..%2Foutside.txt",
        "%2e%2e/outside.txt",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "link.txt",
        "echo.txt%00.png",
        "..\\outside.txt",
    ]:
        response = client.get(base + attempt)
        assert response.status_code == 404, (attempt, response.status_code)
        assert "not an artifact" not in response.text and "root:" not in response.text
    assert client.get(base + "echo.txt").status_code == 200


def test_cancel_a_running_run_pause_resume_and_audit(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client("otto")
    started = client.post("/api/v1/bots/ticker/runs", json={"params": {"steps": 200, "interval": 0.1}}).json()
    h.wait_for(started["id"], lambda r: r.status == "running")
    assert client.post(f"/api/v1/runs/{started['id']}/cancel").status_code == 200
    run = h.finished(started["id"], timeout=20)
    assert run.status == "cancelled"
    again = client.post(f"/api/v1/runs/{started['id']}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert (
        client.post(
            f"/api/v1/runs/{started['id']}/cancel", headers={"Authorization": "Bearer " + token_of("vera")}
        ).status_code
        == 403
    )

    assert client.post("/api/v1/bots/failer/pause").json() == {"bot": "failer", "paused": True}
    bots = {b["name"]: b for b in client.get("/api/v1/bots").json()}
    assert bots["failer"]["paused"] and bots["failer"]["schedules"][0]["next_fire"] is None
    assert client.post("/api/v1/bots/failer/resume").json()["paused"] is False
    schedules = {s["job_id"]: s for s in client.get("/api/v1/schedules").json()}
    assert schedules["failer"]["next_fire"] is not None and schedules["failer"]["description"] == "every 2 h"
    assert schedules["echo"]["description"].startswith("weekdays at 22:00 Asia/Shanghai, skips public holidays")
    actions = [(e.action, e.actor, e.target) for e in h.runner.history.audit_log(limit=50)]
    assert ("cancel", "otto", "ticker") in actions
    assert ("pause", "otto", "failer") in actions and ("resume", "otto", "failer") in actions
    audit = h.client("ada").get("/api/v1/audit", params={"limit": 5}).json()
    assert audit[0]["action"] == "resume" and audit[0]["source"].endswith("(api)")


def test_bot_list_publishes_params_schema_and_openapi(console_harness: ConsoleHarness) -> None:
    client = console_harness.client("vera")
    bots = {b["name"]: b for b in client.get("/api/v1/bots").json()}
    assert set(bots) == {"echo", "sleeper", "failer", "noop", "ticker"}
    assert bots["echo"]["params_schema"]["properties"]["repeat"]["maximum"] == 100
    assert bots["echo"]["supports_dry_run"] is True
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/runs" in spec["paths"] and "/api/v1/bots/{bot}/runs" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "422" in spec["paths"]["/api/v1/bots/{bot}/runs"]["post"]["responses"]


def test_sse_streams_log_lines_and_ends_with_status(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client("otto")
    run_id = client.post("/api/v1/bots/echo/runs", json={"params": {"text": "流", "repeat": 4}}).json()["id"]
    events = []
    with client.stream("GET", f"/api/v1/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if block:
                    events.append(block)
                block = {}
                continue
            key, _, value = line.partition(": ")
            block[key] = value
    kinds = [e.get("event") for e in events if "event" in e]
    assert kinds[-1] == "end" and json.loads(events[-1]["data"])["status"] == "succeeded"
    messages = [json.loads(e["data"])["message"] for e in events if e.get("event") == "log"]
    assert messages.count("echo: 流") == 4
    statuses = [json.loads(e["data"])["status"] for e in events if e.get("event") == "status"]
    assert statuses[-1] == "succeeded"
    # resuming after the last line sends no line twice
    last_log = max(int(e["id"]) for e in events if e.get("event") == "log")
    with client.stream("GET", f"/api/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(last_log)}) as again:
        body = "".join(again.iter_text())
    assert "echo: 流" not in body and "event: end" in body


def test_metrics_and_health(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client("vera")
    run = h.finished(h.client("otto").post("/api/v1/bots/failer/runs", json={}).json()["id"])
    assert run.status == "failed"
    text = client.get("/metrics").text
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(text)}
    runs = {
        (s.labels["bot"], s.labels["status"]): s.value
        for s in families["backroom_runs"].samples
        if s.name == "backroom_runs_total"
    }
    assert runs[("failer", "failed")] >= 1
    assert ("echo", "succeeded") in runs
    last_ok = {s.labels["bot"]: s.value for s in families["backroom_bot_last_success_timestamp_seconds"].samples}
    assert "echo" in last_ok and "failer" not in last_ok
    buckets = [
        s
        for s in families["backroom_run_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["bot"] == "failer"
    ]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value >= 1
    assert {s.labels["bot"] for s in families["backroom_runs_running"].samples} >= {"echo", "sleeper"}
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    anonymous = h.client().get("/health")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}, "no internals for anonymous callers"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_check_bind_refuses_open_console_without_users(tmp_path: Path, host: str) -> None:
    from backroom.schedules.console import UnsafeBind, check_bind
    from tests.fixtures.console import console_settings

    open_settings = console_settings(tmp_path, users=False)
    with pytest.raises(UnsafeBind, match=r"no \[\[console\.users\]\]"):
        check_bind(host, open_settings)
    check_bind("127.0.0.1", open_settings)
    check_bind("localhost", open_settings)
    check_bind("::1", open_settings)
    check_bind(host, console_settings(tmp_path, users=True))


def test_health_is_503_when_the_scheduler_has_stopped(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from backroom.schedules.console.app import create_app
    from backroom.schedules.runner import Runner
    from tests.fixtures.console import console_bots, console_environ, console_settings, token_of

    runner = Runner(console_settings(tmp_path), bots=console_bots())
    runner.start(schedule=True, watch=False)
    client = TestClient(create_app(runner, environ=console_environ()), base_url="http://127.0.0.1:8600")
    client.headers["Authorization"] = f"Bearer {token_of('vera')}"
    try:
        up = client.get("/health")
        assert up.status_code == 200 and up.json()["scheduler"] == "running" and up.json()["bots"] == 5
    finally:
        runner.shutdown(wait=False)
    down = client.get("/health")
    assert down.status_code == 503 and down.json() == {**down.json(), "status": "degraded", "scheduler": "stopped"}

"""The metrics bot end to end against the sandbox metrics source, webhook receiver and SMTP server."""

from __future__ import annotations

import datetime as dt
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from backroom.bots.metrics import Config, Metrics, Params
from backroom.bots.metrics.store import Store, alerts_table, samples_table
from backroom.bots.sdk.testing import make_context
from backroom.sandbox.demo_metrics import PROMETHEUS_QUERIES
from backroom.sandbox.metrics_source import Anomaly
from tests.fixtures.metrics import METRICS_NOW, MetricsSandbox

UTC = dt.UTC
# Monday 2026-11-23, 10:00–13:00 Shanghai: billing abandonment four times normal.
INCIDENT = Anomaly(
    "billing", dt.datetime(2026, 11, 23, 2, tzinfo=UTC), dt.datetime(2026, 11, 23, 5, tzinfo=UTC), "abandon", 4.0
)


def json_source(name: str = "cc_api", system: str = "metrics_api", **options: Any) -> dict[str, Any]:
    return {"name": name, "kind": "json", "system": system, "options": {"params": {"interval": 60}, **options}}


def run_bot(
    tmp_path: Path,
    sandbox: MetricsSandbox,
    sources: list[dict[str, Any]],
    *,
    systems: dict[str, Any] | None = None,
    notify: tuple[str, ...] = (),
    params: Params | None = None,
    database_url: str | None = None,
    environ: dict[str, str] | None = None,
    **config: Any,
) -> tuple[Any, Any]:
    cfg = Config.model_validate({"sources": sources, "history_days": 30, **config})
    ctx = make_context(
        tmp_path,
        "metrics",
        systems=systems or sandbox.systems(),
        environ={**sandbox.environ, **(environ or {})},
        config=cfg,
        clock=lambda: sandbox.now,
        notify_targets=notify,
        database_url=database_url,
    )
    try:
        return Metrics().run(ctx, params or Params()), ctx
    finally:
        ctx.close()


def test_daily_report_with_anomaly_reaches_webhook_wecom_and_email(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, webhook_receiver: Any, smtp_server: Any
) -> None:
    metrics_sandbox.app.state.data.anomalies = [INCIDENT]
    host = webhook_receiver.url.removeprefix("http://")
    mail = f"mailto://{smtp_server.host}:{smtp_server.port}?from=bot@example.com&to=ops@example.com&mode=insecure"
    result, _ctx = run_bot(
        tmp_path,
        metrics_sandbox,
        [json_source()],
        notify=(f"json://{host}/apprise", mail),
        group_webhooks=[{"url": f"{webhook_receiver.url}/cgi-bin/webhook/send?key=k", "style": "wecom"}],
    )
    assert result.status == "succeeded", result.summary
    assert result.counts["values_stored"] == 30 * 24 * 3 * 10
    # the incident is found by threshold, robust and change rules, all on billing
    kinds = {(a["kind"], a["kpi"]) for a in result.outputs["anomalies"]}
    assert ("robust", "abandonment_rate") in kinds
    assert ("threshold", "abandonment_rate") in kinds
    assert result.outputs["queues"] == ["billing"]
    robust = next(a for a in result.outputs["anomalies"] if a["kind"] == "robust" and a["kpi"] == "abandonment_rate")
    assert "11-23" in robust["text"] and "中位数" in robust["text"] and "billing" in robust["text"]
    assert robust["value"] > 3 * robust["reference"]

    requests = webhook_receiver.wait_for(2)  # apprise json + the WeCom markdown (no screenshot here)
    apprise_msg = next(r for r in requests if r["path"] == "/apprise")
    assert "数据通报 2026-11-23" in apprise_msg["body"]["title"]
    assert "放弃率" in apprise_msg["body"]["message"] and "新异常" in apprise_msg["body"]["message"]
    wecom = [r["body"] for r in requests if r["path"].startswith("/cgi-bin/webhook/send")]
    assert wecom[0]["msgtype"] == "markdown"
    assert "数据通报" in wecom[0]["markdown"]["content"]
    assert len(wecom[0]["markdown"]["content"].encode()) <= 4096
    messages = smtp_server.wait_for(1)
    subject = str(make_header(decode_header(str(messages[0]["subject"]))))  # RFC 2047 words → text
    assert subject == "数据通报 2026-11-23"
    attached = [p.get_filename() for p in messages[0].walk() if p.get_filename()]
    assert any(name and name.endswith(".xlsx") for name in attached)

    book = load_workbook(result.outputs["report"])
    assert book.sheetnames[:2] == ["汇总", "异常"] and "cc_api" in book.sheetnames and "趋势" in book.sheetnames
    summary = book["汇总"]
    assert summary.conditional_formatting, "targets are shown with conditional formatting"
    labels = [summary.cell(row=r, column=3).value for r in range(1, summary.max_row + 1)]
    assert "首解率" in labels and "占用率" in labels and "满意度" in labels
    assert len(book["趋势"]._charts) == 7  # one chart per headline KPI
    assert book["趋势"].max_row == 15  # header + 14 days
    raw = book["cc_api"]
    assert raw.max_row == 1 + 24 * 3  # the day's hourly rows for three queues


def _chained(outputs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    from backroom.schedules.events import chain_requests
    from backroom.schedules.history import Run
    from backroom.schedules.settings import parse_settings

    settings = parse_settings(
        {
            "bots": {
                "metrics": {},
                "callbacks": {
                    "after": [{"bot": "metrics", "if_output": "has_anomalies", "params": {"queues": "outputs.queues"}}]
                },
            }
        }
    )
    return chain_requests(settings, Run(id="r1", bot="metrics", status="succeeded", outputs=outputs))


def test_alert_is_announced_once_then_recovers(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, webhook_receiver: Any
) -> None:
    host = webhook_receiver.url.removeprefix("http://")
    notify = (f"json://{host}/alerts",)
    # an ongoing incident on billing since Monday night
    metrics_sandbox.app.state.data.anomalies = [
        Anomaly(
            "billing", dt.datetime(2026, 11, 23, 22, tzinfo=UTC), dt.datetime(2026, 11, 25, tzinfo=UTC), "abandon", 4.0
        )
    ]
    rules = [{"kind": "robust", "kpi": "abandonment_rate", "z": 4.0, "id": "abandon-robust"}]
    intraday = Params(report=False)
    first, _ = run_bot(tmp_path, metrics_sandbox, [json_source()], notify=notify, params=intraday, rules=rules)
    assert [a["key"].split("|")[0] for a in first.outputs["anomalies"]] == ["abandon-robust"]
    assert len(webhook_receiver.wait_for(1)) == 1

    metrics_sandbox.set_now(METRICS_NOW + dt.timedelta(hours=2))
    second, _ = run_bot(tmp_path, metrics_sandbox, [json_source()], notify=notify, params=intraday, rules=rules)
    assert second.outputs["anomalies"] == [] and len(second.outputs["ongoing"]) == 1
    assert second.outputs["sent"] is False
    # the runner's chain trigger starts a follow-up bot only when there is something new
    assert _chained(first.outputs) == [("callbacks", {"queues": ["billing"]})]
    assert _chained(second.outputs) == []
    assert len(webhook_receiver.requests) == 1, "an ongoing anomaly is not announced again"

    metrics_sandbox.app.state.data.anomalies = []  # the incident ends; history is re-pulled clean
    metrics_sandbox.set_now(METRICS_NOW + dt.timedelta(hours=4))
    third, ctx = run_bot(tmp_path, metrics_sandbox, [json_source()], notify=notify, params=intraday, rules=rules)
    assert len(third.outputs["recovered"]) == 1
    msgs = webhook_receiver.wait_for(2)
    assert len(msgs) == 2 and "已恢复" in msgs[1]["body"]["message"]
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(alerts_table.c.status, alerts_table.c.announced)).all()
    assert rows == [("closed", True)]


def test_an_sms_refused_for_one_number_is_resent_next_run_and_nobody_gets_it_twice(
    tmp_path: Path, metrics_sandbox: MetricsSandbox
) -> None:
    from backroom.sandbox.metrics_source.sms_gateway import start_gateway

    gateway = start_gateway("AKID", "sms-secret", {"13900139000"})
    try:
        sms = {
            "provider": "aliyun",
            "url": f"{gateway.url}/",
            "access_key_id": "AKID",
            "access_key_secret": "env:SMS_SECRET",
            "sign_name": "后台数据",
            "template_code": "SMS_1",
            "recipients": ["13800138000", "13900139000"],
        }
        metrics_sandbox.app.state.data.anomalies = [
            Anomaly(
                "billing",
                dt.datetime(2026, 11, 23, 22, tzinfo=UTC),
                dt.datetime(2026, 11, 25, tzinfo=UTC),
                "abandon",
                4.0,
            )
        ]
        rules = [{"kind": "robust", "kpi": "abandonment_rate", "z": 4.0, "id": "abandon-robust"}]

        def run() -> Any:
            result, _ = run_bot(
                tmp_path,
                metrics_sandbox,
                [json_source()],
                params=Params(report=False),
                rules=rules,
                sms=sms,
                environ={"SMS_SECRET": "sms-secret"},
            )
            return result

        first = run()
        assert [(r["phone"], r["ok"]) for r in first.outputs["sms"]] == [("138****8000", True), ("139****9000", False)]
        assert first.counts["sms_pending"] == 1 and [n for n, _ in gateway.delivered] == ["13800138000"]

        gateway.refused.clear()  # the number is taken off the gateway's blacklist
        metrics_sandbox.set_now(METRICS_NOW + dt.timedelta(hours=2))
        second = run()  # nothing new to announce: only the owed message goes out, to the one number
        assert second.outputs["anomalies"] == [] and len(second.outputs["ongoing"]) == 1
        assert [(r["phone"], r["ok"], r.get("resent")) for r in second.outputs["sms"]] == [("139****9000", True, True)]
        assert [n for n, _ in gateway.delivered] == ["13800138000", "13900139000"]
        assert gateway.delivered[0][1] == gateway.delivered[1][1]  # the same message
        assert second.counts["sms_pending"] == 0 and second.counts["sms_delivered"] == 1

        metrics_sandbox.set_now(METRICS_NOW + dt.timedelta(hours=3))
        third = run()
        assert third.outputs["sms"] == [] and len(gateway.delivered) == 2
    finally:
        gateway.stop()


def test_one_source_down_report_still_goes_out_and_source_is_stale(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, webhook_receiver: Any
) -> None:
    systems = {
        **metrics_sandbox.systems(),
        "broken": {
            "kind": "http",
            "url": "http://127.0.0.1:9",
            "token": "env:METRICS_TOKEN",
            "retries": 0,
            "timeout": 2,
        },
    }
    host = webhook_receiver.url.removeprefix("http://")
    result, _ = run_bot(
        tmp_path,
        metrics_sandbox,
        [json_source(), json_source("wfm", "broken")],
        systems=systems,
        notify=(f"json://{host}/d",),
    )
    assert result.status == "succeeded"
    assert result.outputs["stale_sources"] == ["wfm"]
    message = webhook_receiver.wait_for(1)[0]["body"]["message"]
    assert "数据缺失 1 项" in message and "【来源 wfm】拉取失败" in message
    assert "\n无异常。" not in message  # a missing source is not a quiet day
    assert [a["source"] for a in result.outputs["no_data"]] == ["wfm"] and result.counts["no_data"] == 1
    assert "数据未更新" in str(load_workbook(result.outputs["report"])["汇总"]["A2"].value)


def test_run_fails_only_when_every_source_fails_but_report_is_written(
    tmp_path: Path, metrics_sandbox: MetricsSandbox
) -> None:
    metrics_sandbox.app.state.faults.update({"fail_next": 1000, "error_status": 503})
    systems = metrics_sandbox.systems()
    systems["metrics_api"]["retries"] = 0
    result, _ = run_bot(tmp_path, metrics_sandbox, [json_source()], systems=systems)
    assert result.status == "failed"
    assert result.outputs["stale_sources"] == ["cc_api"]
    assert "503" in result.summary or "cc_api" in result.summary
    assert Path(result.outputs["report"]).exists()


def test_retries_through_429_and_duplicate_pulls_never_duplicate(
    tmp_path: Path, metrics_sandbox: MetricsSandbox
) -> None:
    faults = metrics_sandbox.app.state.faults
    # every second request: the pull makes two (the sandbox's request count runs on across tests, so
    # "every fifth" hit this test only when earlier tests happened to leave the count right)
    faults.update({"rate_limit_every": 2, "retry_after_s": 0})
    metrics_sandbox.app.state.glitches.duplicate_rows = True
    first, ctx = run_bot(tmp_path, metrics_sandbox, [json_source()], params=Params(report=False, backfill_days=10))
    assert first.status == "succeeded" and faults.counters.get("429", 0) >= 1
    store = Store(ctx.engine)
    count = store.count("cc_api")
    assert count == 10 * 24 * 3 * 10  # 10 days of hours up to now, 3 queues, 10 metrics
    # pull the same window again (a backfill): still one row per key
    again, _ = run_bot(tmp_path, metrics_sandbox, [json_source()], params=Params(report=False, backfill_days=10))
    assert again.status == "succeeded"
    assert store.count("cc_api") == count
    with ctx.engine.connect() as conn:
        dupes = conn.execute(
            select(func.count()).select_from(
                select(samples_table.c.metric, samples_table.c.dims, samples_table.c.interval_start)
                .group_by(samples_table.c.metric, samples_table.c.dims, samples_table.c.interval_start)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
    assert dupes == 0


def test_non_numeric_cells_are_skipped_and_counted(tmp_path: Path, metrics_sandbox: MetricsSandbox) -> None:
    metrics_sandbox.app.state.glitches.non_numeric_every = 97
    result, _ = run_bot(tmp_path, metrics_sandbox, [json_source()], params=Params(report=False, backfill_days=3))
    assert result.status == "succeeded"
    assert result.counts["values_skipped"] > 0
    assert result.counts["values_stored"] + result.counts["values_skipped"] == 3 * 24 * 3 * 10


def test_prometheus_source_matches_json_source(tmp_path: Path, metrics_sandbox: MetricsSandbox) -> None:
    sources = [
        {"name": "cc_api", "kind": "json", "system": "metrics_api", "options": {"params": {"interval": 15}}},
        {"name": "prom", "kind": "prometheus", "system": "metrics_api", "options": {"queries": PROMETHEUS_QUERIES}},
    ]
    result, ctx = run_bot(tmp_path, metrics_sandbox, sources, params=Params(report=False, backfill_days=2))
    assert result.status == "succeeded", result.summary
    store = Store(ctx.engine)
    start = METRICS_NOW - dt.timedelta(hours=6)
    a = {
        (r["metric"], r["dims"], r["interval_start"]): r["value"]
        for r in store.load(start, METRICS_NOW, sources=["cc_api"])
    }
    b = {
        (r["metric"], r["dims"], r["interval_start"]): r["value"]
        for r in store.load(start, METRICS_NOW, sources=["prom"])
    }
    assert a and a == b


def test_sql_source_on_sqlite(tmp_path: Path, metrics_sandbox: MetricsSandbox) -> None:
    from sqlalchemy import create_engine, text

    wfm = create_engine(f"sqlite:///{tmp_path / 'wfm.db'}")
    with wfm.begin() as conn:
        conn.execute(text("create table stats (ts text, team text, calls_in int, calls_lost int, ok20 int)"))
        for hour in range(24):
            # local naive times: 2026-11-23 00:00 .. 23:00 Shanghai
            conn.execute(
                text("insert into stats values (:ts, '一组', 100, :lost, 85)"),
                {"ts": f"2026-11-23 {hour:02d}:00:00", "lost": 5 if hour != 10 else "N/A"},
            )
    source = {
        "name": "wfm",
        "kind": "sql",
        "options": {
            "url": "env:WFM_URL",
            "query": "select ts, team, calls_in, calls_lost, ok20 from stats",
            "time_field": "ts",
            "minutes_field": None,
            "interval_minutes": 60,
            "dimensions": {"queue": "team"},
            "fields": {"offered": "calls_in", "abandoned": "calls_lost", "answered_within_20s": "ok20"},
        },
    }
    cfg = Config.model_validate({"sources": [source], "history_days": 3})
    ctx = make_context(
        tmp_path,
        "metrics",
        config=cfg,
        clock=lambda: METRICS_NOW,
        environ={"WFM_URL": f"sqlite:///{tmp_path / 'wfm.db'}"},
    )
    result = Metrics().run(ctx, Params(report=True, day=dt.date(2026, 11, 23)))
    assert result.status == "succeeded", result.summary
    assert result.counts["values_skipped"] == 1  # the 'N/A' at 10:00
    rows = Store(ctx.engine).load(METRICS_NOW - dt.timedelta(days=3), METRICS_NOW, sources=["wfm"])
    starts = sorted({r["interval_start"] for r in rows})
    # 00:00 Shanghai on the 23rd is 16:00 UTC on the 22nd: the day crosses UTC midnight
    assert starts[0] == dt.datetime(2026, 11, 22, 16, tzinfo=UTC) and len(starts) == 24
    summary = load_workbook(result.outputs["report"])["汇总"]
    values = {
        summary.cell(row=r, column=3).value: summary.cell(row=r, column=4).value
        for r in range(1, summary.max_row + 1)
        if summary.cell(row=r, column=2).value == "全部"
    }
    assert values["呼入量"] == 2400  # all 24 local hours land on the local day
    ctx.close()


@pytest.mark.postgres
def test_store_on_postgres(tmp_path: Path, metrics_sandbox: MetricsSandbox, postgres_url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(postgres_url)
    _drop_metrics_tables(engine)
    _reset_state(postgres_url)
    try:
        first, _ = run_bot(
            tmp_path,
            metrics_sandbox,
            [json_source()],
            database_url=postgres_url,
            params=Params(report=True, backfill_days=15),
        )
        assert first.status == "succeeded"
        store = Store(engine)
        count = store.count("cc_api")
        again, _ = run_bot(
            tmp_path,
            metrics_sandbox,
            [json_source()],
            database_url=postgres_url,
            params=Params(report=False, backfill_days=15),
        )
        assert again.status == "succeeded" and store.count("cc_api") == count
        rows = store.load(METRICS_NOW - dt.timedelta(hours=1), METRICS_NOW, sources=["cc_api"])
        assert rows and all(r["interval_start"].tzinfo is UTC for r in rows)
        assert {r["interval_start"] for r in rows} == {METRICS_NOW - dt.timedelta(hours=1)}
    finally:
        _drop_metrics_tables(engine)
        engine.dispose()


def _drop_metrics_tables(engine: Any) -> None:
    """The bot's tables and the record of their migrations, so the next run creates them afresh."""
    from sqlalchemy import text

    from backroom.bots.metrics.store import SCHEMA, metadata

    metadata.drop_all(engine, tables=[samples_table, alerts_table], checkfirst=True)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {SCHEMA.version_table}"))


def _reset_state(url: str) -> None:
    """Shared databases keep the bot's checkpoint between sessions: start each test clean."""
    from sqlalchemy import create_engine, delete

    from backroom.bots.sdk.checkpoint import checkpoint_table
    from backroom.bots.sdk.checkpoint import metadata as cp_metadata

    engine = create_engine(url)
    cp_metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(delete(checkpoint_table).where(checkpoint_table.c.bot == "metrics"))
    engine.dispose()


def _sql_source_roundtrip(tmp_path: Path, url: str, ddl: str, ts_sql: str) -> None:
    from sqlalchemy import create_engine, text

    _reset_state(url)

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("drop table if exists metrics_test_stats"))
        conn.execute(text(ddl))
        for hour in range(6):
            conn.execute(
                text(f"insert into metrics_test_stats values ({ts_sql}, '二组', :n, :lost)"),
                {
                    "ts": f"{dt.datetime(2026, 11, 23, 22) + dt.timedelta(hours=hour):%Y-%m-%d %H:%M:%S}",
                    "n": 50 + hour,
                    "lost": "3" if hour != 4 else "无",
                },
            )
    try:
        source = {
            "name": "wfm",
            "kind": "sql",
            "timezone": "Asia/Shanghai",
            "options": {
                "url": "env:WFM_URL",
                "query": "select ts, team, calls_in, calls_lost from metrics_test_stats",
                "time_field": "ts",
                "minutes_field": None,
                "interval_minutes": 60,
                "dimensions": {"queue": "team"},
                "fields": {"offered": "calls_in", "abandoned": "calls_lost"},
            },
        }
        cfg = Config.model_validate({"sources": [source], "history_days": 3})
        ctx = make_context(tmp_path, "metrics", config=cfg, clock=lambda: METRICS_NOW, environ={"WFM_URL": url})
        result = Metrics().run(ctx, Params(report=False))
        assert result.status == "succeeded", result.summary
        assert result.counts["values_skipped"] == 1
        rows = Store(ctx.engine).load(METRICS_NOW - dt.timedelta(days=3), METRICS_NOW, sources=["wfm"])
        offered = {r["interval_start"]: r["value"] for r in rows if r["metric"] == "offered"}
        # 22:00 local on the 23rd is 14:00 UTC; the rows run past local midnight
        assert min(offered) == dt.datetime(2026, 11, 23, 14, tzinfo=UTC) and len(offered) == 6
        assert offered[dt.datetime(2026, 11, 23, 16, tzinfo=UTC)] == 52
        ctx.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text("drop table if exists metrics_test_stats"))
        engine.dispose()


@pytest.mark.postgres
def test_sql_source_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    # the wall-clock text is stored as a naive timestamp (local), as many WFM databases do
    _sql_source_roundtrip(
        tmp_path,
        postgres_url,
        "create table metrics_test_stats (ts timestamp, team text, calls_in int, calls_lost text)",
        "cast(:ts as timestamp)",
    )


@pytest.mark.mysql
def test_sql_source_on_mysql(tmp_path: Path, mysql_url: str) -> None:
    _sql_source_roundtrip(
        tmp_path,
        mysql_url,
        "create table metrics_test_stats (ts datetime, team varchar(20), calls_in int, calls_lost varchar(8))",
        "cast(:ts as datetime)",
    )


def test_dry_run_stores_and_sends_nothing(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, webhook_receiver: Any
) -> None:
    host = webhook_receiver.url.removeprefix("http://")
    cfg = Config.model_validate({"sources": [json_source()], "history_days": 10})
    ctx = make_context(
        tmp_path,
        "metrics",
        systems=metrics_sandbox.systems(),
        environ=metrics_sandbox.environ,
        config=cfg,
        clock=lambda: metrics_sandbox.now,
        dry_run=True,
        notify_targets=(f"json://{host}/d",),
    )
    result = Metrics().run(ctx, Params())
    assert result.status == "succeeded" and result.outputs["sent"] is False
    assert Store(ctx.engine).count() == 0
    assert webhook_receiver.requests == []
    assert Path(result.outputs["report"]).exists()  # the report is still written for review


@pytest.mark.parametrize("style", ["dingtalk", "feishu"])
def test_group_robot_styles(webhook_receiver: Any, style: str) -> None:
    import httpx

    from backroom.bots.metrics.digest import post_group

    with httpx.Client() as client:
        post_group(client, f"{webhook_receiver.url}/robot/send", style, "数据通报", "**放弃率** 12%")
    body = webhook_receiver.wait_for(1)[0]["body"]
    if style == "dingtalk":
        assert body == {"msgtype": "markdown", "markdown": {"title": "数据通报", "text": "**放弃率** 12%"}}
    else:
        assert body["msg_type"] == "text" and "放弃率" in body["content"]["text"]


def test_a_source_silent_past_its_window_is_no_data_until_it_delivers_again(
    tmp_path: Path, metrics_sandbox: MetricsSandbox, webhook_receiver: Any
) -> None:
    """The ACD answers, but with nothing newer than three hours: that is an alert, not a quiet day."""
    host = webhook_receiver.url.removeprefix("http://")
    source = {**json_source(), "stale_after_minutes": 90}
    config = Config.model_validate({"sources": [source], "history_days": 3, "rules": []})
    bot_now = METRICS_NOW + dt.timedelta(hours=3)  # the ACD's own clock stays at METRICS_NOW

    def run() -> Any:
        ctx = make_context(
            tmp_path,
            "metrics",
            systems=metrics_sandbox.systems(),
            environ=metrics_sandbox.environ,
            config=config,
            clock=lambda: bot_now,
            notify_targets=(f"json://{host}/alerts",),
        )
        try:
            return Metrics().run(ctx, Params(report=False))
        finally:
            ctx.close()

    silent = run()
    assert silent.status == "succeeded"
    assert [(a["source"], a["kpi"]) for a in silent.outputs["no_data"]] == [("cc_api", "*")]
    text = webhook_receiver.wait_for(1)[0]["body"]["message"]
    assert "【来源 cc_api】自 2026-11-24 09:00 起没有新数据" in text  # 01:00 UTC, told in Shanghai time
    again = run()  # still silent: not announced twice
    assert again.outputs["no_data"] and not again.outputs["sent"] and len(webhook_receiver.requests) == 1

    metrics_sandbox.set_now(bot_now)  # the ACD catches up
    back = run()
    assert back.outputs["no_data"] == [] and [a["kpi"] for a in back.outputs["recovered"]] == ["*"]
    assert "数据已恢复 1 项" in webhook_receiver.wait_for(2)[1]["body"]["message"]

"""The server-rendered pages: log-in, sessions and CSRF, the generated Run-now form, uploads, i18n."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.console import ConsoleHarness, extract_csrf, password_of


def test_pages_need_login_and_wrong_password_is_refused_and_audited(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client()
    response = client.get("/bots/echo")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/bots/echo"
    form = client.get("/login")
    csrf = extract_csrf(form.text)
    bad = client.post("/login", data={"name": "otto", "password": "guess", "csrf": csrf, "next": "/"})
    assert bad.status_code == 401 and "Wrong user name or password." in bad.text
    nobody = client.post("/login", data={"name": "mallory", "password": "x", "csrf": csrf})
    assert nobody.status_code == 401
    denied = [e for e in h.runner.history.audit_log(limit=20) if e.action == "login" and e.outcome == "denied"]
    assert {e.actor for e in denied} >= {"otto", "mallory"}
    # no CSRF token, no log-in; an off-site "next" is not followed
    assert client.post("/login", data={"name": "otto", "password": password_of("otto")}).status_code == 403
    ok = client.post(
        "/login", data={"name": "otto", "password": password_of("otto"), "csrf": csrf, "next": "//evil.example/x"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    page = client.get("/bots/echo")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]


def test_session_expires_after_the_configured_minutes(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.login("vera")
    assert client.get("/").status_code == 200
    h.now[0] += 31 * 60  # session_minutes = 30
    try:
        response = client.get("/runs")
        assert response.status_code == 303 and "expired=1" in response.headers["location"]
        page = client.get(response.headers["location"])
        assert "Your session has expired" in page.text
        assert client.get("/api/v1/runs").status_code == 401
    finally:
        h.now[0] -= 31 * 60


def test_form_posts_without_csrf_are_refused(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.login("otto")
    before = len(h.runner.history.list_runs(bot="noop", limit=500).runs)
    assert client.post("/bots/noop/run", data={}).status_code == 403
    assert client.post("/bots/noop/run", data={"csrf": "forged"}).status_code == 403
    assert client.post("/bots/noop/pause", data={}).status_code == 403
    # the API with a session cookie needs the header token
    assert client.post("/api/v1/bots/noop/runs", json={}).status_code == 403
    assert len(h.runner.history.list_runs(bot="noop", limit=500).runs) == before
    assert not h.runner.is_paused("noop")


def test_run_form_is_generated_from_the_params_schema(console_harness: ConsoleHarness) -> None:
    page = console_harness.login("vera").get("/bots/ticker").text
    assert re.search(r'<input id="p-report_date" type="date" name="report_date"', page)
    assert re.search(r'<select id="p-mode" name="mode">\s*<option value="quick" selected>quick</option>', page)
    assert 'type="checkbox" name="shout"' in page
    assert re.search(r'type="number" name="steps" value="8" step="1"\s+min="1" max="1000"', page)
    assert 'type="file" name="statement_file"' in page and "var/inbox/ticker" in page
    assert 'name="label" value="tick"' in page  # the config default, not the model's
    assert "every day at 08:30 Asia/Shanghai" in page
    assert "Your role does not allow this action." in page and 'id="run-now"' not in page  # viewer


def test_invalid_form_shows_the_error_next_to_the_field_and_nothing_runs(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.login("otto")
    before = len(h.runner.history.list_runs(bot="ticker", limit=500).runs)
    inbox = h.home / "var/inbox/ticker"
    files_before = sorted(inbox.iterdir()) if inbox.exists() else []
    response = client.post(
        "/bots/ticker/run",
        data={"csrf": client.csrf, "steps": "5000", "report_date": "2026-02-30", "mode": "quick"},
        files={"statement_file": ("statement.csv", b"a,b\n", "text/csv")},
    )
    assert response.status_code == 422
    errors = dict(re.findall(r'<div class="error" data-field="(\w+)">([^<]+)</div>', response.text))
    assert errors["steps"] == "Input should be less than or equal to 1000"
    assert "report_date" in errors and "date" in errors["report_date"]
    assert 'value="5000"' in response.text  # the answer is kept for correction
    assert len(h.runner.history.list_runs(bot="ticker", limit=500).runs) == before
    assert (sorted(inbox.iterdir()) if inbox.exists() else []) == files_before  # no upload kept


def test_upload_lands_in_the_inbox_and_the_run_gets_its_path(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.login("otto")
    inbox = h.home / "var/inbox/ticker"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "对账单.csv").write_bytes(b"already here")
    response = client.post(
        "/bots/ticker/run",
        data={
            "csrf": client.csrf,
            "steps": "2",
            "interval": "0",
            "report_date": "2026-11-23",
            "mode": "thorough",
            "shout": "true",
            "label": "ok",
        },
        files={"statement_file": ("../../对账单.csv", "金额,100.50\n".encode("gb18030"), "text/csv")},
    )
    assert response.status_code == 303, response.text
    run_id = response.headers["location"].rsplit("/", 1)[1]
    run = h.finished(run_id)
    assert run.status == "succeeded", run.error
    saved = Path(run.params["statement_file"])
    assert saved.parent == inbox and saved.name == "对账单-2.csv"
    assert saved.read_bytes() == "金额,100.50\n".encode("gb18030")
    assert (inbox / "对账单.csv").read_bytes() == b"already here"  # never overwritten
    assert run.params["report_date"] == "2026-11-23" and run.params["mode"] == "thorough" and run.params["shout"]
    assert run.summary == "2 steps of OK"
    page = client.get(f"/runs/{run_id}").text
    assert f'src="/api/v1/runs/{run_id}/artifacts/screenshot.png?inline=true"' in page
    assert f'href="/api/v1/runs/{run_id}/artifacts/report.xlsx"' in page
    shot = client.get(f"/api/v1/runs/{run_id}/artifacts/screenshot.png?inline=true")
    assert shot.headers["content-type"] == "image/png" and shot.headers["content-disposition"].startswith("inline")
    uploads = [e for e in h.runner.history.audit_log(limit=20) if e.action == "upload"]
    assert uploads[0].detail["file"] == str(saved) and uploads[0].actor == "otto"


def test_viewer_form_post_is_403_and_audited(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.login("vera")
    response = client.post("/bots/noop/run", data={"csrf": client.csrf})
    assert response.status_code == 403 and "Your role does not allow this action." in response.text
    entry = h.runner.history.audit_log(limit=1)[0]
    assert (entry.actor, entry.action, entry.target, entry.outcome) == ("vera", "trigger", "noop", "denied")
    assert entry.source.endswith("(web)")
    assert client.get("/audit").status_code == 403


def test_failed_run_page_shows_error_and_traceback_and_home_puts_failures_first(
    console_harness: ConsoleHarness,
) -> None:
    h = console_harness
    client = h.login("ada")
    assert client.post("/bots/failer/pause", data={"csrf": client.csrf}).status_code == 303
    assert h.runner.is_paused("failer")
    assert client.post("/bots/failer/resume", data={"csrf": client.csrf}).status_code == 303
    response = client.post("/bots/failer/run", data={"csrf": client.csrf})
    run = h.finished(response.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/runs/{run.id}").text
    assert "the ledger total does not add up" in page and "<summary>Traceback</summary>" in page
    assert "ValueError" in page
    home = client.get("/").text
    names = re.findall(r'class="botname" href="/bots/(\w+)"', home)
    assert names[0] == "failer" and set(names) == {"echo", "sleeper", "failer", "noop", "ticker"}
    audit = client.get("/audit").text
    assert "pause" in audit and "resume" in audit and "ada" in audit
    assert client.get("/runs/" + "0" * 32).status_code == 404
    assert client.get("/bots/nobody").status_code == 404


def test_chinese_interface_when_the_browser_asks(console_harness: ConsoleHarness) -> None:
    client = console_harness.login("ada")
    zh = client.get("/bots/echo", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    assert "立即运行" in zh and "工作日（周一至周五） 22:00（Asia/Shanghai），跳过法定节假日" in zh
    assert '<html lang="zh-CN">' in zh
    en = client.get("/bots/echo", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).text
    assert "Run now" in en and "立即运行" not in en
    switched = client.get("/lang/zh-CN?next=/runs")
    assert switched.headers["location"] == "/runs"
    assert "运行记录" in client.get("/runs", headers={"Accept-Language": "en"}).text  # the cookie wins
    client.get("/lang/en")


def test_password_guessing_is_throttled_per_user_and_address(console_harness: ConsoleHarness) -> None:
    h = console_harness
    client = h.client()
    csrf = extract_csrf(client.get("/login").text)
    for _ in range(5):
        assert client.post("/login", data={"name": "ada", "password": "guess", "csrf": csrf}).status_code == 401
    right = {"name": "ada", "password": password_of("ada"), "csrf": csrf}
    blocked = client.post("/login", data=right)
    assert blocked.status_code == 429 and "Too many failed log-ins" in blocked.text
    assert h.runner.history.audit_log(limit=1)[0].outcome == "throttled"
    other = h.client()
    assert (
        other.post(
            "/login",
            data={"name": "otto", "password": password_of("otto"), "csrf": extract_csrf(other.get("/login").text)},
        ).status_code
        == 303
    )
    h.now[0] += 301  # the window passes
    try:
        assert client.post("/login", data=right).status_code == 303
    finally:
        h.now[0] -= 301


def test_a_run_with_warnings_is_amber_and_says_what_is_left_in_chinese(console_harness: ConsoleHarness) -> None:
    h = console_harness
    run = h.runner.history.create_run("echo", trigger="schedule")
    h.runner.history.update_run(
        run.id, status="with_warnings", counts={"documents": 6, "pass": 3, "fail": 3, "values_stored": 2}
    )
    client = h.login("ada")
    zh = client.get(f"/runs/{run.id}", headers={"Accept-Language": "zh-CN"}).text
    assert 'class="badge s-with_warnings">需关注' in zh
    assert "已读取单据: 6" in zh and "未通过审核: 3" in zh and "已存储数值: 2" in zh
    assert re.search(r'<dd id="attention" class="warn">3 张未通过审核</dd>', zh)
    assert "values_stored:" not in zh and "with_warnings<" not in zh
    en = client.get(f"/runs/{run.id}", headers={"Accept-Language": "en"}).text
    assert "Needs attention" in en and "3 failed the audit" in en

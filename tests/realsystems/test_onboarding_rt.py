"""Onboarding and offboarding against a real Request Tracker 5 (REST2) started by the tests.

A hire gets a privileged RT user in the groups their position needs; a re-run changes nothing. On the
leaver's last day their open ticket goes to their manager, the user is disabled and their auth token
stops working; a re-run changes nothing, and an account someone re-enabled is disabled again.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from backroom.bots.onboarding import Onboarding, OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.config import Position
from backroom.bots.sdk.testing import make_context, make_params
from backroom.schedules.history import History
from tests.realsystems.rt import RequestTracker, _environment

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

TODAY = dt.date(2026, 3, 16)
GRANT = r"""
use strict; use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT; use Encode; RT::LoadConfig(); RT::Init();
my ($group_name, $login) = map { Encode::decode('UTF-8', $_) } @ARGV;
my $group = RT::Group->new(RT->SystemUser);
$group->LoadUserDefinedGroup($group_name) or die "no group $group_name\n";
for my $right (qw(OwnTicket ShowTicket SeeQueue ModifyTicket ManageAuthTokens)) {
    my $ace = RT::ACE->new(RT->SystemUser);
    my ($ok, $msg) = $ace->Create(PrincipalId => $group->PrincipalId, PrincipalType => 'Group',
                                  RightName => $right, Object => RT->System);
    die "grant $right: $msg\n" unless $ok || $msg =~ /already/i;
}
my $user = RT::User->new(RT->SystemUser);
$user->Load($login) or die "no user $login\n";
my $token = RT::AuthToken->new(RT::CurrentUser->new($user));
my ($id, $text, $auth) = $token->Create(Owner => $user->Id, Description => 'leaver test');
die "token: $text\n" unless $id;
print "$auth\n";
"""


def _client(rt: RequestTracker) -> httpx.Client:
    return httpx.Client(base_url=rt.rest_url, headers=rt.headers, timeout=30)


def _hires(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    book.active.append(["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"])
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


AT = dt.datetime(2026, 3, 16, 10, 0, tzinfo=dt.UTC)


def _run(
    tmp_path: Path,
    rt: RequestTracker,
    config: OnboardingConfig,
    smtp_port: int = 1,
    *,
    rt_url: str | None = None,
    at: dt.datetime = AT,
    **params: object,
):
    History(f"sqlite:///{tmp_path / 'backroom.db'}")  # Backroom's database, with the work-item queue
    params.setdefault("today", TODAY)
    ctx = make_context(
        tmp_path,
        "onboarding",
        systems={
            "helpdesk": {"kind": "rt-rest", "url": rt_url or rt.url, "token": "env:RT_TOKEN"},
            "mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{smtp_port}"},
        },
        config=config,
        environ={"RT_TOKEN": rt.token},
        clock=lambda: at,
    )
    try:
        return Onboarding().run(ctx, make_params(OnboardingParams, ctx, **params))
    finally:
        ctx.close()


def test_onboarding_creates_and_offboarding_disables_a_real_rt_user(
    tmp_path: Path, rt_server: RequestTracker, smtp_server
) -> None:
    tag = uuid.uuid4().hex[:6]
    group = f"客服一线-{tag}"
    with _client(rt_server) as rt:
        created = rt.post("group", json={"Name": group})
        assert created.status_code == 201, created.text
    manager, agent = f"mgr-{tag}@example.com", f"agent-{tag}@example.com"
    config = OnboardingConfig(
        positions={
            "客服专员": Position(groups={"helpdesk": [group]}),
            "客服主管": Position(groups={"helpdesk": [group]}),
        },
        mail_system="mail",
        company="示例科技",
    )
    _hires(
        tmp_path / "hires.xlsx",
        [
            ["王经理", f"M{tag}", "310101198001010011", "客服部", "客服主管", "2026-03-02", "", "13800138000", manager],
            [
                "李专员",
                f"A{tag}",
                "310101199001010012",
                "客服部",
                "客服专员",
                "2026-03-16",
                f"M{tag}",
                "13900139000",
                agent,
            ],
        ],
    )

    first = _run(tmp_path, rt_server, config, smtp_server.port, hires="hires.xlsx")
    assert first.status == "succeeded", first.summary
    # account + groups + welcome mail each; badge + laptop each as open items for people
    assert first.counts["done"] == 6 and first.counts["open"] == 4
    welcome = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert set(welcome) == {manager, agent}
    body = welcome[agent].get_payload(decode=True).decode()
    assert f"https://sso.example.com/first-login?user={agent}" in body and "欢迎加入示例科技" in body
    with _client(rt_server) as rt:
        user = rt.get(f"user/{agent}").json()
        assert user["Privileged"] == 1 and int(user["Disabled"]) == 0 and user["EmailAddress"] == agent
        member_ids = {m["id"] for m in rt.get(f"user/{agent}").json()["Memberships"]}
        group_id = rt.post("groups", json=[{"field": "Name", "value": group}]).json()["items"][0]["id"]
        assert str(group_id) in {str(i) for i in member_ids}
        before = rt.get(f"user/{agent}").json()

    again = _run(tmp_path, rt_server, config, smtp_server.port, hires="hires.xlsx")
    assert again.counts["queued"] == 0 and again.counts["done"] == 0  # each hire is one item, queued once
    assert len(smtp_server.messages) == 2  # no second welcome mail
    with _client(rt_server) as rt:
        assert rt.get(f"user/{agent}").json() == before

    # the position's group is given the queue rights (RT grants rights to groups; REST2 cannot) and the
    # agent gets an auth token, then owns an open ticket
    grant = subprocess.run(
        ["perl", "-e", GRANT, group, agent], env=_environment(rt_server.folder), capture_output=True, text=True
    )
    assert grant.returncode == 0, grant.stderr[-2000:]
    token = grant.stdout.strip().splitlines()[-1]
    with _client(rt_server) as rt:
        ticket = rt.post("ticket", json={"Queue": "General", "Subject": f"customer {tag}", "Owner": agent}).json()["id"]
        assert rt.get(f"ticket/{ticket}").json()["Owner"]["id"] == agent
    agent_auth = {"Authorization": f"token {token}"}
    assert httpx.get(f"{rt_server.rest_url}user/{agent}", headers=agent_auth).status_code == 200

    book = Workbook()
    book.active.append(["工号", "最后工作日"])
    book.active.append([f"A{tag}", "2026-03-16"])
    book.save(tmp_path / "leavers.xlsx")
    leave = _run(tmp_path, rt_server, config, leavers="leavers.xlsx")
    assert leave.status == "succeeded", leave.summary
    with _client(rt_server) as rt:
        assert rt.get(f"ticket/{ticket}").json()["Owner"]["id"] == manager
        assert int(rt.get(f"user/{agent}").json()["Disabled"]) == 1
    assert httpx.get(f"{rt_server.rest_url}user/{agent}", headers=agent_auth).status_code == 401
    rows = list(load_workbook(leave.outputs["checklist"]).active.iter_rows(values_only=True))
    handover = next(r for r in rows if r[3] == "handover")
    assert handover[5] == "完成" and f"{ticket}→{manager}" in handover[7]
    assert any(r[3].startswith("收回工牌") and r[5] == "待办（人工）" and r[8] == "行政" for r in rows[1:])

    # a re-run changes nothing; an account re-enabled behind the bot's back is disabled again the next day
    # (the leaver is queued once per day from their last day on)
    with _client(rt_server) as rt:
        before = rt.get(f"user/{agent}").json()
    assert _run(tmp_path, rt_server, config, leavers="leavers.xlsx").counts["done"] == 0
    with _client(rt_server) as rt:
        assert rt.get(f"user/{agent}").json() == before
        assert rt.put(f"user/{before['id']}", json={"Disabled": 0}).status_code == 200
        assert int(rt.get(f"user/{agent}").json()["Disabled"]) == 0
    redo = _run(tmp_path, rt_server, config, leavers="leavers.xlsx", today=TODAY + dt.timedelta(days=1))
    assert redo.counts["queued"] == 1 and redo.counts["done"] == 1 and redo.counts["done_earlier"] == 1
    with _client(rt_server) as rt:
        assert int(rt.get(f"user/{agent}").json()["Disabled"]) == 1


def test_a_leaver_unknown_to_backroom_fails_the_run_and_says_so(tmp_path: Path, rt_server: RequestTracker) -> None:
    book = Workbook()
    book.active.append(["工号", "最后工作日"])
    book.active.append(["X999", "2026-03-01"])
    book.save(tmp_path / "leavers.xlsx")
    result = _run(tmp_path, rt_server, OnboardingConfig(), leavers="leavers.xlsx")
    assert result.status == "failed" and result.counts["failed"] == 1
    rows = list(load_workbook(result.outputs["checklist"]).active.iter_rows(values_only=True))
    assert "disable by hand" in rows[1][7]


def test_rt_down_leaves_the_hire_to_be_retried_and_the_retry_creates_the_user_once(
    tmp_path: Path, rt_server: RequestTracker
) -> None:
    tag = uuid.uuid4().hex[:6]
    login = f"retry-{tag}@example.com"
    row = ["赵专员", f"R{tag}", "310101199001010013", "客服部", "客服专员", "2026-03-16", "", "", login]
    _hires(tmp_path / "hires.xlsx", [row])
    with socket.socket() as probe:  # a loopback port nobody listens on: RT "down"
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    first = _run(tmp_path, rt_server, OnboardingConfig(), rt_url=down, hires="hires.xlsx")
    assert first.status == "failed" and first.counts["items_retrying"] == 1 and first.counts["done"] == 0
    with _client(rt_server) as rt:
        assert rt.get(f"user/{login}").status_code == 404
    # RT is back; the runner starts the bot when the item is due (60 s later), without the list
    retried = _run(tmp_path, rt_server, OnboardingConfig(), at=AT + dt.timedelta(seconds=60))
    assert retried.status == "succeeded", retried.summary
    assert retried.counts["items_done"] == 1 and retried.counts["done"] == 1
    with _client(rt_server) as rt:
        user = rt.get(f"user/{login}").json()
        assert int(user["Disabled"]) == 0 and user["EmailAddress"] == login
    again = _run(tmp_path, rt_server, OnboardingConfig(), at=AT + dt.timedelta(hours=1), hires="hires.xlsx")
    assert again.counts["queued"] == 0 and again.counts["done"] == 0

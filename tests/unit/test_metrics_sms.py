"""The SMS channel against a loopback SMS gateway that checks each provider's signature and answers
per number — including numbers it refuses, so a partial failure must show up per recipient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from backroom.bots.sdk.secrets import SecretResolver
from backroom.bots.sdk.sms import SmsSender, SmsSettings, aliyun_signature, fit_sms
from backroom.sandbox.metrics_source.sms_gateway import SmsGateway, start_gateway

KEY_ID, SECRET = "AKID-test", "s3cret-sms-key"
ENV = {"SMS_SECRET": SECRET, "OPS_MOBILES": "13800138000,13900139000"}
REFUSED = "13900139000"  # the gateway refuses this number (say, it is on a blacklist)
NOW = 1_764_460_800.0  # 2025-11-30 00:00:00 UTC: the time the signatures are stamped with


def _secret(environ: dict[str, str]) -> Any:
    return SecretResolver(environ=environ).resolve


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    server = start_gateway(KEY_ID, SECRET, {REFUSED})
    try:
        yield server
    finally:
        server.stop()


def _settings(provider: str, url: str, **extra: Any) -> SmsSettings:
    return SmsSettings.model_validate(
        {
            "provider": provider,
            "url": url,
            "access_key_id": KEY_ID,
            "access_key_secret": "env:SMS_SECRET",
            "sign_name": "后台数据",
            "template_code": "SMS_123",
            "recipients": ["env:OPS_MOBILES"],
            "max_chars": 20,
            **extra,
        }
    )


def _sender(settings: SmsSettings, waits: list[float] | None = None) -> SmsSender:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)
        clock[0] += seconds

    return SmsSender(settings, _secret(ENV), clock=lambda: clock[0], sleep=sleep, now=lambda: NOW)


TEXT = "**数据通报 2026-11-29**\n- 新异常 2 项：CPU 繁忙度超过上限，系统负载偏高，详见邮件"


def test_aliyun_signed_one_request_per_number_and_partial_failure_recorded(gateway: SmsGateway) -> None:
    results = _sender(_settings("aliyun", f"{gateway.url}/")).send(TEXT)
    assert [(r.phone, r.ok, r.code) for r in results] == [
        ("138****8000", True, "OK"),
        ("139****9000", False, "isv.BLACK_KEY_CONTROL_LIMIT"),
    ]
    sent = [json.loads(s["params"]["TemplateParam"])["content"] for s in gateway.seen]
    assert sent == [fit_sms(TEXT, 20)] * 2 and all(len(t) <= 20 for t in sent)
    assert sent[0].endswith("…") and "**" not in sent[0]
    assert {s["params"]["SignName"] for s in gateway.seen} == {"后台数据"}
    assert {s["method"] for s in gateway.seen} == {"POST"}  # form body: no phone number in any URL


def test_a_wrong_secret_is_refused_by_the_gateway_and_every_number_is_a_failure(gateway: SmsGateway) -> None:
    sender = SmsSender(
        _settings("aliyun", f"{gateway.url}/"), _secret({**ENV, "SMS_SECRET": "wrong"}), sleep=lambda s: None
    )
    results = sender.send("x")
    assert [(r.ok, r.code) for r in results] == [(False, "SignatureDoesNotMatch")] * 2


def test_tencent_one_signed_request_answers_per_number(gateway: SmsGateway) -> None:
    results = _sender(_settings("tencent", f"{gateway.url}/tencent", sdk_app_id="1400000000")).send(TEXT)
    assert [(r.phone, r.ok, r.code) for r in results] == [
        ("138****8000", True, "Ok"),
        ("139****9000", False, "FailedOperation.PhoneNumberInBlacklist"),
    ]
    (request,) = gateway.seen
    assert request["body"]["PhoneNumberSet"] == ["+8613800138000", "+8613900139000"]
    assert request["body"]["TemplateParamSet"] == [fit_sms(TEXT, 20)]


def test_tencent_whole_request_refused_marks_every_number(gateway: SmsGateway) -> None:
    sender = SmsSender(
        _settings("tencent", f"{gateway.url}/tencent", sdk_app_id="1"), _secret({**ENV, "SMS_SECRET": "no"})
    )
    assert [(r.ok, r.code) for r in sender.send("x")] == [(False, "request-failed")] * 2
    assert "AuthFailure.SignatureFailure" in sender.send("x")[0].message


def test_generic_template_signed_and_rate_limited(gateway: SmsGateway) -> None:
    waits: list[float] = []
    settings = _settings(
        "generic",
        f"{gateway.url}/send",
        body={"mobile": "{phone}", "sign": "{sign}", "tpl": "{template}", "params": {"content": "{text}"}},
        per_second=2,
        recipients=["13800138000", "13900139000", "13700137000", "13600136000"],
    )
    results = _sender(settings, waits).send(TEXT)
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].code == "17" and results[1].message == "number refused"
    assert waits == [0.5, 0.5, 0.5]  # 2 per second: the 2nd, 3rd and 4th request wait half a second each
    assert gateway.seen[0]["body"] == {
        "mobile": "13800138000",
        "sign": "后台数据",
        "tpl": "SMS_123",
        "params": {"content": fit_sms(TEXT, 20)},
    }


def test_results_never_carry_a_full_number_and_settings_demand_secret_refs() -> None:
    with pytest.raises(ValidationError, match="secret reference"):
        SmsSettings(
            provider="aliyun",
            url="http://x",
            access_key_id="a",
            access_key_secret="plain",
            sign_name="s",
            template_code="t",
            recipients=["1"],
        )
    with pytest.raises(ValidationError, match="sdk_app_id"):
        _settings("tencent", "http://x")
    sender = SmsSender(_settings("aliyun", "http://127.0.0.1:9/"), _secret(ENV), sleep=lambda s: None)
    results = sender.send("x")  # nothing listens on port 9
    assert [r.ok for r in results] == [False, False]
    assert all("13800138000" not in json.dumps(r.as_dict()) for r in results)


def test_fit_sms_makes_one_plain_line() -> None:
    assert fit_sms("**标题**\n> 甲\n- 乙", 70) == "标题；甲；乙"
    assert len(fit_sms("长" * 100, 70)) == 70


def test_aliyun_signature_matches_the_documented_example() -> None:
    """The worked example of Alibaba Cloud's SMS signature documentation (AccessKeySecret testSecret)."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_number_that_failed_gets_the_message_on_the_next_run_and_no_one_gets_it_twice(
    gateway: SmsGateway, provider: str, tmp_path: Any
) -> None:
    from backroom.bots.sdk.checkpoint import Checkpoint
    from backroom.bots.sdk.sms import SmsOutbox

    state = Checkpoint(f"sqlite:///{tmp_path / 'state.db'}", "metrics")
    extra = {"sdk_app_id": "1400000000"} if provider == "tencent" else {}
    path = "/tencent" if provider == "tencent" else "/"
    settings = _settings(provider, f"{gateway.url}{path}", **extra)

    def outbox() -> SmsOutbox:  # each run builds its own, as the bot does
        return SmsOutbox(state, _sender(settings))

    first = outbox()
    assert first.resend_pending() == []
    results = first.send(SmsOutbox.message_key("digest", "2026-11-29", TEXT), TEXT)
    assert [(r.phone, r.ok) for r in results] == [("138****8000", True), ("139****9000", False)]
    assert [n for n, _ in gateway.delivered] == ["13800138000"] and first.pending() == 1
    stored = json.dumps(dict(state.items(SmsOutbox.PREFIX)), ensure_ascii=False)
    assert "13900139000" not in stored and "13800138000" not in stored  # numbers only as keyed hashes

    # next run, the gateway still refuses: retried for that number only, still pending
    second = outbox()
    assert [(r.phone, r.ok) for r in second.resend_pending()] == [("139****9000", False)]
    assert second.pending() == 1 and [n for n, _ in gateway.delivered] == ["13800138000"]

    # the refusal is lifted: the number gets the same text once; the ledger is then empty
    gateway.refused.clear()
    third = outbox()
    assert [(r.phone, r.ok) for r in third.resend_pending()] == [("139****9000", True)]
    assert [n for n, _ in gateway.delivered] == ["13800138000", "13900139000"]
    assert gateway.delivered[0][1] == gateway.delivered[1][1] == fit_sms(TEXT, 20)
    assert third.pending() == 0 and outbox().resend_pending() == []

    # the same message sent again under its key reaches nobody twice; a new message reaches everyone
    assert outbox().send(SmsOutbox.message_key("digest", "2026-11-29", TEXT), TEXT) == []
    again = outbox().send(SmsOutbox.message_key("digest", "2026-11-30", TEXT), TEXT)
    assert [r.ok for r in again] == [True, True] and len(gateway.delivered) == 4


def test_a_message_failing_for_max_attempts_runs_is_given_up_and_said(gateway: SmsGateway, tmp_path: Any) -> None:
    from backroom.bots.sdk.checkpoint import Checkpoint
    from backroom.bots.sdk.sms import SmsOutbox

    state = Checkpoint(f"sqlite:///{tmp_path / 'state.db'}", "metrics")
    settings = _settings("aliyun", f"{gateway.url}/")
    SmsOutbox(state, _sender(settings), max_attempts=2).send("k1", TEXT)  # attempt 1
    assert len(SmsOutbox(state, _sender(settings), max_attempts=2).resend_pending()) == 1  # attempt 2
    last = SmsOutbox(state, _sender(settings), max_attempts=2)
    assert last.resend_pending() == [] and last.given_up == ["k1"] and last.pending() == 0


def test_a_run_killed_half_way_owes_the_rest_and_does_not_repeat_the_first(gateway: SmsGateway, tmp_path: Any) -> None:
    from backroom.bots.sdk.checkpoint import Checkpoint
    from backroom.bots.sdk.sms import SmsOutbox

    gateway.refused.clear()
    state = Checkpoint(f"sqlite:///{tmp_path / 'state.db'}", "metrics")
    settings = _settings("aliyun", f"{gateway.url}/")
    dying = SmsOutbox(state, _sender(settings))
    real_send, calls = dying.sender.send, []

    def send_then_die(text: str, only: Any = None) -> Any:
        calls.append(only)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed before the second request
        return real_send(text, only=only)

    dying.sender.send = send_then_die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        dying.send("k", TEXT)
    assert [n for n, _ in gateway.delivered] == ["13800138000"]
    after = SmsOutbox(state, _sender(settings))
    assert [(r.phone, r.ok) for r in after.resend_pending()] == [("139****9000", True)]
    assert [n for n, _ in gateway.delivered] == ["13800138000", "13900139000"] and after.pending() == 0

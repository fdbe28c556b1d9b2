"""SMS through the Chinese SMS providers' HTTP APIs, behind one sender.

Chinese SMS gateways send only pre-approved *templates*: a template code, a signature name (【公司】)
and the values of the template's variables. A digest therefore travels as one short variable
(``template_param``), cut to ``max_chars``. Three request shapes are supported:

* ``aliyun``  — Dysmsapi SendSms, RPC style: form parameters signed with HMAC-SHA1 (signature v1);
  one request per number, because SendSms answers for the whole request, not per number;
* ``tencent`` — Tencent Cloud SMS SendSms 2021-01-11, JSON body signed with TC3-HMAC-SHA256; one
  request carries up to 200 numbers and the answer's SendStatusSet says per number;
* ``generic`` — a JSON body from a template (``{phone}``, ``{text}``, ``{sign}``, ``{template}``),
  signed with HMAC-SHA256 in a header; one request per number, success read from ``ok_field``.

Every number gets its own :class:`SmsResult` (masked number, ok, provider code and message): a
partial failure is recorded, never reported as success, and never hidden behind the successes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backroom.bots.sdk.secrets import resolve_if_ref

__all__ = ["SmsOutbox", "SmsResult", "SmsSender", "SmsSettings", "fit_sms"]

SMS_PROVIDERS = ("aliyun", "tencent", "generic")


class SmsSettings(BaseModel):
    """An SMS gateway account and the people a message goes to (``sms`` in a bot's config)."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["aliyun", "tencent", "generic"]
    url: str  # https://dysmsapi.aliyuncs.com/, https://sms.tencentcloudapi.com/, or the gateway's own
    access_key_id: str  # plain or a secret reference
    access_key_secret: str  # a secret reference (env:SMS_SECRET ...)
    sign_name: str = Field(min_length=1)  # the approved 短信签名
    template_code: str = Field(min_length=1)  # the approved template's code / id
    template_param: str = "content"  # the template variable the text goes into (aliyun, generic)
    sdk_app_id: str | None = None  # tencent: SmsSdkAppId
    region: str = "ap-guangzhou"  # tencent: X-TC-Region
    recipients: list[str] = Field(min_length=1)  # mobile numbers, or secret references to comma lists
    max_chars: int = Field(default=60, ge=5, le=500, description="the text is cut to this many characters")
    per_second: float = Field(default=5.0, gt=0, description="requests per second at most")
    batch_size: int = Field(default=200, ge=1, le=200, description="tencent: numbers per request")
    body: dict[str, Any] = Field(default_factory=dict)  # generic: the JSON body template
    ok_field: str = "code"  # generic: the answer's field that says success ...
    ok_value: str = "0"  # ... when it has this value (compared as text)
    signature_header: str = "X-Signature"  # generic: HMAC-SHA256(secret, timestamp + "\n" + body), hex

    @model_validator(mode="after")
    def _check(self) -> SmsSettings:
        from backroom.bots.sdk.secrets import is_secret_ref

        if not is_secret_ref(self.access_key_secret):
            raise ValueError("sms access_key_secret must be a secret reference (env:NAME ...)")
        if self.provider == "tencent" and not self.sdk_app_id:
            raise ValueError("sms provider 'tencent' needs sdk_app_id (SmsSdkAppId)")
        if self.provider == "generic" and not self.body:
            raise ValueError("sms provider 'generic' needs 'body', the JSON template of one request")
        return self


@dataclass
class SmsResult:
    """What the gateway said about one number; ``phone`` is masked (it is personal data)."""

    phone: str
    ok: bool
    code: str
    message: str = ""
    request_id: str = ""
    recipient: str = ""  # a keyed hash of the number (:meth:`SmsSender.recipient_id`): what ledgers store

    def as_dict(self) -> dict[str, Any]:
        return {"phone": self.phone, "ok": self.ok, "code": self.code, "message": self.message}


def fit_sms(text: str, limit: int) -> str:
    """``text`` as one plain line of at most ``limit`` characters: markdown marks gone, cut with "…"."""
    import re

    plain = re.sub(r"[*#>`]+", "", text)
    plain = re.sub(r"^\s*-\s+", "", plain, flags=re.MULTILINE)
    plain = re.sub(r"\s*\n\s*", "；", plain.strip())
    plain = re.sub(r"；{2,}", "；", re.sub(r"\s{2,}", " ", plain))
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def _percent(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Alibaba Cloud RPC signature v1: HMAC-SHA1 over the sorted, percent-encoded query."""
    import base64
    import hashlib
    import hmac

    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_percent('/')}&{_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def tencent_authorization(secret_id: str, secret: str, host: str, payload: bytes, timestamp: int) -> str:
    """Tencent Cloud API 3.0 TC3-HMAC-SHA256 ``Authorization`` header for a JSON POST to ``sms``."""
    import datetime as dt
    import hashlib
    import hmac

    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(f"TC3{secret}".encode(), date), "sms"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of ``timestamp + "\\n" + body``, hex: what the generic gateway checks."""
    import hashlib
    import hmac

    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SmsSender:
    """Sends one text to every recipient of :class:`SmsSettings`; returns a result per number.

    ``clock`` and ``sleep`` pace the requests (``per_second``) and are taken as arguments so tests
    move a clock instead of waiting; ``now`` stamps the signatures.
    """

    def __init__(
        self,
        settings: SmsSettings,
        secret: Callable[[str], str],
        *,
        client: Any = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        import time

        from backroom.bots.sdk.ratelimit import RateLimiter

        self.settings = settings
        self._secret = secret
        self._client = client
        self._sleep = sleep or time.sleep
        self._now = now or time.time
        self.limiter = RateLimiter(settings.per_second, clock=clock or time.monotonic)
        self.waited = 0.0  # seconds spent waiting for the rate limit

    def _numbers(self) -> list[str]:
        out: list[str] = []
        for entry in self.settings.recipients:
            value = resolve_if_ref(entry, self._secret)
            out.extend(p.strip() for p in value.replace(";", ",").split(",") if p.strip())
        return out

    def _pace(self) -> None:
        self.limiter.count += 1
        delay = self.limiter.reserve()
        if delay > 0:
            self.waited += delay
            self._sleep(delay)

    def recipient_id(self, number: str) -> str:
        """A number's identity in delivery ledgers: HMAC-SHA256 keyed with the account's secret, so a
        checkpoint can say who still needs a message without holding the number (personal data) —
        a plain hash of an 11-digit mobile number is reversed by trying them all."""
        import hashlib
        import hmac

        bare = number.strip().removeprefix("+86")
        key = self._secret(self.settings.access_key_secret).encode()
        return hmac.new(key, bare.encode(), hashlib.sha256).hexdigest()[:20]

    def send(self, text: str, only: Collection[str] | None = None) -> list[SmsResult]:
        """Send ``text`` (cut to fit) to every recipient — or only to those whose
        :meth:`recipient_id` is in ``only``; a refused number is a result, not an exception."""
        import httpx

        message = fit_sms(text, self.settings.max_chars)
        numbers = self._numbers()
        ids = {n: self.recipient_id(n) for n in numbers}
        if only is not None:
            numbers = [n for n in numbers if ids[n] in only]
        own = self._client is None
        client = self._client or httpx.Client(timeout=15)
        try:
            results: list[SmsResult] = []
            if self.settings.provider == "tencent":
                for i in range(0, len(numbers), self.settings.batch_size):
                    results.extend(self._tencent(client, numbers[i : i + self.settings.batch_size], message))
            else:
                send_one = self._aliyun if self.settings.provider == "aliyun" else self._generic
                results = [send_one(client, number, message) for number in numbers]
        finally:
            if own:
                client.close()
        for number, result in zip(numbers, results, strict=True):  # every provider answers in order
            result.recipient = ids[number]
        return results

    def _failure(self, numbers: Sequence[str], exc: Exception) -> list[SmsResult]:
        from backroom.bots.sdk.masking import mask_personal

        why = mask_personal(f"{type(exc).__name__}: {exc}")[:200]
        return [SmsResult(mask_personal(n), False, "request-failed", why) for n in numbers]

    def _aliyun(self, client: Any, number: str, message: str) -> SmsResult:
        import datetime as dt
        import json
        import uuid

        from backroom.bots.sdk.masking import mask_personal

        s = self.settings
        params = {
            "AccessKeyId": resolve_if_ref(s.access_key_id, self._secret),
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": number,
            "RegionId": "cn-hangzhou",
            "SignName": s.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": s.template_code,
            "TemplateParam": json.dumps({s.template_param: message}, ensure_ascii=False),
            "Timestamp": dt.datetime.fromtimestamp(self._now(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        # POST, form-encoded: the numbers stay out of URLs (and so out of proxies' and servers' access logs)
        params["Signature"] = aliyun_signature(params, self._secret(s.access_key_secret), "POST")
        self._pace()
        try:
            response = client.post(s.url, data=params)
            body = response.json()
        except (*httpx_errors(), ValueError) as exc:
            return self._failure([number], exc)[0]
        code = str(body.get("Code", response.status_code)) if isinstance(body, dict) else str(response.status_code)
        ok = response.status_code == 200 and code == "OK"
        return SmsResult(
            mask_personal(number), ok, code, str(body.get("Message", ""))[:200], str(body.get("RequestId", ""))
        )

    def _tencent(self, client: Any, numbers: Sequence[str], message: str) -> list[SmsResult]:
        import json
        from urllib.parse import urlsplit

        from backroom.bots.sdk.masking import mask_personal

        s = self.settings
        payload = json.dumps(
            {
                "PhoneNumberSet": [n if n.startswith("+") else f"+86{n}" for n in numbers],
                "SmsSdkAppId": s.sdk_app_id,
                "SignName": s.sign_name,
                "TemplateId": s.template_code,
                "TemplateParamSet": [message],
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(self._now())
        host = urlsplit(s.url).netloc
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": s.region,
            "Authorization": tencent_authorization(
                resolve_if_ref(s.access_key_id, self._secret),
                self._secret(s.access_key_secret),
                host,
                payload,
                timestamp,
            ),
        }
        self._pace()
        try:
            response = client.post(s.url, content=payload, headers=headers)
            answer = response.json().get("Response", {})
        except (*httpx_errors(), ValueError, AttributeError) as exc:
            return self._failure(numbers, exc)
        if "Error" in answer or response.status_code != 200:
            error = answer.get("Error", {})
            exc = RuntimeError(f"{error.get('Code', response.status_code)} {error.get('Message', '')}")
            return self._failure(numbers, exc)
        said = {str(item.get("PhoneNumber", "")).removeprefix("+86"): item for item in answer.get("SendStatusSet", [])}
        results = []
        for number in numbers:
            item = said.get(number.removeprefix("+86"))
            if item is None:  # the gateway did not answer for this number: not delivered, as far as we know
                results.append(
                    SmsResult(mask_personal(number), False, "no-answer", "number missing from SendStatusSet")
                )
                continue
            code = str(item.get("Code", ""))
            results.append(
                SmsResult(
                    mask_personal(number),
                    code == "Ok",
                    code,
                    str(item.get("Message", ""))[:200],
                    answer.get("RequestId", ""),
                )
            )
        return results

    def _generic(self, client: Any, number: str, message: str) -> SmsResult:
        import json

        from backroom.bots.sdk.masking import mask_personal

        s = self.settings
        values = {"phone": number, "text": message, "sign": s.sign_name, "template": s.template_code}

        def render(node: Any) -> Any:
            if isinstance(node, str):
                return node.format(**values)
            if isinstance(node, dict):
                return {k: render(v) for k, v in node.items()}
            if isinstance(node, list):
                return [render(v) for v in node]
            return node

        payload = json.dumps(render(s.body), ensure_ascii=False).encode()
        timestamp = str(int(self._now()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Timestamp": timestamp,
            "X-Access-Key": resolve_if_ref(s.access_key_id, self._secret),
            s.signature_header: generic_signature(self._secret(s.access_key_secret), timestamp, payload),
        }
        self._pace()
        try:
            response = client.post(s.url, content=payload, headers=headers)
            body = response.json()
        except (*httpx_errors(), ValueError) as exc:
            return self._failure([number], exc)[0]
        code = str(body.get(s.ok_field, "")) if isinstance(body, dict) else ""
        ok = response.status_code < 300 and code == s.ok_value
        text = str(body.get("message", body.get("msg", ""))) if isinstance(body, dict) else ""
        return SmsResult(mask_personal(number), ok, code or str(response.status_code), text[:200])


def httpx_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.HTTPError,)


class SmsOutbox:
    """Which recipients still lack which message, kept in a bot's checkpoint, so a number the gateway
    refused (or that a timeout left unknown) gets the message on a later run — and a number that got
    it never gets it twice.

    A message is stored under ``sms_outbox:<key>`` with its text, the recipients that got it and the
    recipients that did not (a complete entry is kept ``keep_days``, so the same key never goes out
    twice); :meth:`resend_pending` retries the latter on each run until they succeed or
    ``max_attempts`` runs have tried (then the entry is dropped and reported as given up, not hidden).
    Numbers are stored only as :meth:`SmsSender.recipient_id` hashes.
    """

    PREFIX = "sms_outbox:"

    def __init__(self, state: Any, sender: SmsSender, *, max_attempts: int = 10, keep_days: float = 35) -> None:
        self.state = state
        self.keep_days = keep_days
        self.sender = sender
        self.max_attempts = max_attempts
        self.given_up: list[str] = []  # keys of messages dropped after max_attempts

    @staticmethod
    def message_key(*parts: object) -> str:
        """A stable key for one message (its kind, day, text, alert keys ...)."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:16]

    def _deliver(self, key: str, entry: dict[str, Any], targets: Collection[str]) -> list[SmsResult]:
        """Send the entry's text to ``targets`` (recipient ids), recording after every request: the
        owed ids are written before the first one, so a run killed half-way leaves the rest owed, not
        forgotten, and those already answered are not asked again."""
        entry = {
            **entry,
            "failed": sorted(set(entry.get("failed", [])) | set(targets)),
            "attempts": int(entry.get("attempts", 0)) + 1,
        }
        self.state.set(self.PREFIX + key, entry)  # kept when complete too: the key must not send again
        order = [i for i in (self.sender.recipient_id(n) for n in self.sender._numbers()) if i in targets]
        gone = set(targets) - set(order)  # numbers since removed from the config: nobody to owe
        step = self.sender.settings.batch_size if self.sender.settings.provider == "tencent" else 1
        out: list[SmsResult] = []
        for start in range(0, len(order), step):
            part = order[start : start + step]
            results = self.sender.send(entry["text"], only=set(part))
            ok = {r.recipient for r in results if r.ok}
            done = set(entry.get("done", [])) | ok
            failed = (set(entry["failed"]) - ok - gone) | {r.recipient for r in results if not r.ok}
            entry = {**entry, "done": sorted(done), "failed": sorted(failed - done)}
            self.state.set(self.PREFIX + key, entry)
            out.extend(results)
        if gone:
            entry = {**entry, "failed": sorted(set(entry["failed"]) - gone)}
            self.state.set(self.PREFIX + key, entry)
        return out

    def send(self, key: str, text: str) -> list[SmsResult]:
        """Send a new message to every recipient that has not had it under ``key`` yet."""
        entry = self.state.get(self.PREFIX + key) or {"text": text, "done": [], "attempts": 0, "at": self.sender._now()}
        everyone = {self.sender.recipient_id(n) for n in self.sender._numbers()}
        return self._deliver(key, entry, everyone - set(entry.get("done", [])))

    def pending(self) -> int:
        """Recipients still owed a message, over all stored messages."""
        return sum(len(entry.get("failed", [])) for _, entry in self.state.items(self.PREFIX))

    def resend_pending(self) -> list[SmsResult]:
        """Retry every stored message to the recipients it failed for (numbers since removed from the
        config are dropped with them)."""
        results: list[SmsResult] = []
        for name, entry in list(self.state.items(self.PREFIX)):
            key = name.removeprefix(self.PREFIX)
            if not entry.get("failed"):  # complete: kept as the key's proof for ``keep_days``, then pruned
                if self.sender._now() - float(entry.get("at", 0)) > self.keep_days * 86400:
                    self.state.delete(name)
                continue
            if int(entry.get("attempts", 0)) >= self.max_attempts:
                self.state.delete(name)
                self.given_up.append(key)
                continue
            results.extend(self._deliver(key, entry, set(entry["failed"]) - set(entry.get("done", []))))
        return results

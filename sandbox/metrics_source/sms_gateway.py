"""A loopback SMS gateway that speaks the Aliyun, Tencent Cloud and a generic SMS API.

It checks every request's signature the way the provider documents it (recomputed here, not taken
from the adapter), answers per number, and refuses the numbers in ``refused`` — so a test sees a
partial failure exactly as a real gateway reports one. SMS providers cannot be reached from a test
machine; this is their stand-in.

Requests: a form ``POST`` or a ``GET`` with a query (Dysmsapi SendSms, signature v1); ``POST /tencent``
(SendSms 2021-01-11, TC3-HMAC-SHA256); any other JSON ``POST`` (generic: HMAC-SHA256 of
``timestamp\\nbody`` in ``X-Signature``, the number in the body's ``mobile``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = ["SmsGateway", "start_gateway"]


def _pe(value: str) -> str:
    return quote(value, safe="~")


def aliyun_ok(params: dict[str, str], secret: str, method: str = "GET") -> bool:
    """Alibaba Cloud RPC signature v1 of a request's parameters (query string or form body)."""
    given = params.pop("Signature", "")
    canonical = "&".join(f"{_pe(k)}={_pe(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&%2F&" + _pe(canonical)
    want = base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(given, want)


def tencent_ok(headers: dict[str, str], body: bytes, key_id: str, secret: str) -> bool:
    """Tencent Cloud API 3.0 TC3-HMAC-SHA256 of a JSON POST to the sms service."""
    timestamp = int(headers.get("X-TC-Timestamp", "0"))
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical = (
        f"POST\n/\n\ncontent-type:{headers.get('Content-Type', '')}\nhost:{headers.get('Host', '')}\n\n"
        "content-type;host\n" + hashlib.sha256(body).hexdigest()
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"TC3{secret}".encode()
    for part in (date, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    want = f"TC3-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    return hmac.compare_digest(headers.get("Authorization", ""), want)


@dataclass
class SmsGateway:
    """A running gateway: ``url``, what it received (``seen``), and the texts it accepted per number."""

    url: str
    key_id: str
    secret: str
    refused: set[str]
    seen: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (number, text) accepted
    stop: Any = None


def start_gateway(key_id: str, secret: str, refused: set[str] | None = None) -> SmsGateway:
    """Start the gateway on a free loopback port; call ``gateway.stop()`` when done."""
    gateway = SmsGateway(url="", key_id=key_id, secret=secret, refused=set(refused or ()))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._aliyun(dict(parse_qsl(urlsplit(self.path).query)), "GET")

        def _aliyun(self, params: dict[str, str], method: str) -> None:
            gateway.seen.append({"path": "aliyun", "method": method, "params": dict(params)})
            number = params.get("PhoneNumbers", "")
            if not aliyun_ok(params, gateway.secret, method):
                self._answer(400, {"Code": "SignatureDoesNotMatch", "Message": "signature mismatch"})
            elif number in gateway.refused:
                self._answer(200, {"Code": "isv.BLACK_KEY_CONTROL_LIMIT", "Message": "blacklisted", "RequestId": "r"})
            else:
                text = json.loads(params.get("TemplateParam", "{}"))
                gateway.delivered.append((number, next(iter(text.values()), "")))
                self._answer(200, {"Code": "OK", "Message": "OK", "BizId": "b1", "RequestId": "r"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = dict(self.headers.items())
            if headers.get("Content-Type", headers.get("content-type", "")).startswith(
                "application/x-www-form-urlencoded"
            ):
                self._aliyun(dict(parse_qsl(body.decode())), "POST")
                return
            data = json.loads(body)
            gateway.seen.append({"path": self.path, "headers": headers, "body": data})
            if self.path.startswith("/tencent"):
                if not tencent_ok(headers, body, gateway.key_id, gateway.secret):
                    self._answer(200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}})
                    return
                statuses = []
                for n in data.get("PhoneNumberSet", []):
                    bare = n.removeprefix("+86")
                    if bare in gateway.refused:
                        statuses.append({"PhoneNumber": n, "Code": "FailedOperation.PhoneNumberInBlacklist"})
                    else:
                        gateway.delivered.append((bare, data["TemplateParamSet"][0]))
                        statuses.append({"PhoneNumber": n, "Code": "Ok", "Message": "send success"})
                self._answer(200, {"Response": {"SendStatusSet": statuses, "RequestId": "t1"}})
                return
            stamp = headers.get("X-Timestamp", "").encode()
            want = hmac.new(gateway.secret.encode(), stamp + b"\n" + body, hashlib.sha256).hexdigest()
            if headers.get("X-Signature") != want:
                self._answer(401, {"code": 401, "message": "bad signature"})
            elif data.get("mobile") in gateway.refused:
                self._answer(200, {"code": 17, "message": "number refused"})
            else:
                gateway.delivered.append((data.get("mobile", ""), json.dumps(data, ensure_ascii=False)))
                self._answer(200, {"code": 0, "message": "ok"})

        def log_message(self, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    gateway.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    gateway.stop = stop
    return gateway

"""Where a payslip goes: an e-mail (SMTP) or a WeCom application message to the employee's user id.

Both say what happened in the same three words (:class:`~backroom.bots.payslips.mailer.Outcome`):
``sent`` once the other side confirmed it, ``failed`` when it refused before taking the payslip (safe
to send again), ``uncertain`` when the payslip may have arrived (never sent again without a person).
The recipient always comes from the HR roster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

import httpx

from backroom.bots.payslips.mailer import Mailer, Outcome
from backroom.bots.payslips.render import Payslip, render_html
from backroom.bots.sdk.errors import ConfigError

if TYPE_CHECKING:
    from backroom.bots.payslips.config import PayslipsConfig
    from backroom.bots.payslips.roster import RosterEntry
    from backroom.bots.sdk.system import SystemSettings

__all__ = ["Channel", "EmailChannel", "WecomChannel", "address_of", "mask_address"]


def address_of(config: PayslipsConfig, person: RosterEntry) -> str:
    """The roster's address for the configured channel ("" when the roster has none)."""
    return person.wecom_user if config.channel == "wecom" else person.email


def mask_address(address: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com``; a user id → ``z***``."""
    if not address:
        return ""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}"


class Channel(Protocol):
    def send(self, slip: Payslip, pdf: bytes, address: str, key: str) -> Outcome: ...

    def close(self) -> None: ...


class EmailChannel:
    def __init__(self, config: PayslipsConfig, system: SystemSettings, secret: Callable[[str], str]) -> None:
        self.config = config
        self.mailer = Mailer(system, secret(system.password) if system.password else None)

    def send(self, slip: Payslip, pdf: bytes, address: str, key: str) -> Outcome:
        hashed = hashlib.sha256(key.encode()).hexdigest()
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = address
        message["Subject"] = slip.title
        message["Message-ID"] = f"<payslip.{hashed[:24]}@backroom>"
        message["X-Backroom-Key"] = hashed
        message.set_content("请使用支持 HTML 的邮件客户端查看；工资条见附件（PDF，已加密）。")
        message.add_alternative(render_html(slip, full=self.config.email_body == "full"), subtype="html")
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"payslip-{slip.month}.pdf")
        return self.mailer.send(message, address)

    def close(self) -> None:
        self.mailer.close()


class WecomChannel:
    """A WeCom application (自建应用) sends the encrypted PDF as a file message to one member.

    ``[systems.NAME] kind = "wecom-app"``: ``url`` the API root, ``username`` the corp id, ``token``
    the application's secret (a reference), ``agentid`` its id. The PDF is uploaded as temporary media
    first (a refusal there is ``failed``); the message counts as sent when WeCom answers ``errcode 0``
    and lists the member in neither ``invaliduser`` nor ``unlicenseduser``.
    """

    def __init__(self, system: SystemSettings, secret: Callable[[str], str]) -> None:
        if system.kind != "wecom-app" or not system.url or not system.username or not system.token:
            raise ConfigError(
                "payslips over WeCom need a system of kind 'wecom-app' with url, username (corp id), token"
            )
        if "agentid" not in system.options:
            raise ConfigError("the wecom-app system needs agentid (the application's id)")
        self.root = system.url.rstrip("/") + "/cgi-bin"
        self.corp, self.agentid = system.username, int(system.options["agentid"])
        self.secret = secret(system.token)
        self.client = httpx.Client(timeout=system.timeout)
        self.token: str | None = None

    def _token(self) -> str:
        if self.token is None:
            data = self.client.get(
                f"{self.root}/gettoken", params={"corpid": self.corp, "corpsecret": self.secret}
            ).json()
            if data.get("errcode"):
                raise ConfigError(f"WeCom refused the application's credentials: errcode {data['errcode']}")
            self.token = str(data["access_token"])
        return self.token

    def send(self, slip: Payslip, pdf: bytes, address: str, key: str) -> Outcome:
        try:
            upload = self.client.post(
                f"{self.root}/media/upload",
                params={"access_token": self._token(), "type": "file"},
                files={"media": (f"payslip-{slip.month}.pdf", pdf, "application/pdf")},
            ).json()
        except (httpx.HTTPError, ValueError) as exc:
            return Outcome("failed", f"upload: {type(exc).__name__}")
        if upload.get("errcode") or not upload.get("media_id"):
            return Outcome("failed", f"upload refused: errcode {upload.get('errcode')}")
        body = {"touser": address, "msgtype": "file", "agentid": self.agentid, "file": {"media_id": upload["media_id"]}}
        try:
            response = self.client.post(f"{self.root}/message/send", params={"access_token": self._token()}, json=body)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return Outcome("uncertain", f"{type(exc).__name__} while sending the message")
        if data.get("errcode"):
            return Outcome("failed", f"message refused: errcode {data['errcode']}")
        if address in str(data.get("invaliduser", "")).split("|") or address in str(data.get("unlicenseduser", "")):
            return Outcome("failed", "WeCom does not know this member (invaliduser)")
        return Outcome("sent", f"msgid {data.get('msgid', '')}")

    def close(self) -> None:
        self.client.close()

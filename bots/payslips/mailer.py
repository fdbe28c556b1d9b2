"""Payslips by e-mail over SMTP (``smtps://`` for implicit TLS, ``starttls = true`` to upgrade a plain
connection), one connection for a batch.

What counts as delivered is what the server confirmed: the ``250`` that ends the DATA command, for
the one recipient. Each outcome is one of three, so the bot knows what a re-run may do:

* ``sent``       the server took responsibility for the message;
* ``failed``     the server refused it before taking it (sender, recipient or content refused, or
                 no connection at all): sending again cannot duplicate it;
* ``uncertain``  the connection broke while the message was being handed over: it may have been
                 delivered, so it is never sent again without a person deciding.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import urlsplit

from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.system import SystemSettings

__all__ = ["Mailer", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    status: Literal["sent", "failed", "uncertain"]
    detail: str = ""


class Mailer:
    """An SMTP session for one run; reconnects when the server closes the connection between messages."""

    def __init__(self, system: SystemSettings, password: str | None) -> None:
        if system.kind != "smtp":
            raise ConfigError(f"payslips need a system of kind 'smtp', not {system.kind!r}")
        parts = urlsplit(system.url or "")
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(
                f"smtp system url must look like smtp://host:port or smtps://host:port, not {system.url!r}"
            )
        self.host = parts.hostname
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.starttls = bool(system.options.get("starttls", False))
        self.verify = bool(system.options.get("verify_tls", True))
        #: a private CA's certificate (PEM) to trust instead of the system's store
        self.ca_file = system.options.get("ca_file") or None
        self.username = system.username
        self.password = password
        self.timeout = system.timeout
        self._smtp: smtplib.SMTP | None = None

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:  # a server may close an idle session: find out before a message is at stake
                self._smtp.noop()
                return self._smtp
            except (OSError, smtplib.SMTPException):
                self._smtp = None
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls(context=self._tls())
        if self.username and self.password:
            smtp.login(self.username, self.password)
        self._smtp = smtp
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> Outcome:
        """Hand ``message`` to the server for ``recipient``; see the module docstring for outcomes."""
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            self._smtp = None
            return Outcome("failed", f"no SMTP session: {type(exc).__name__}")
        try:
            refused = smtp.send_message(message, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else "?"
            return Outcome("failed", f"recipient refused ({code})")
        except smtplib.SMTPSenderRefused as exc:
            return Outcome("failed", f"sender refused ({exc.smtp_code})")
        except smtplib.SMTPDataError as exc:
            return Outcome("failed", f"message refused ({exc.smtp_code})")
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            return Outcome("uncertain", "connection closed while handing over the message")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            return Outcome("uncertain", f"{type(exc).__name__} while handing over the message")
        if refused:
            return Outcome("failed", "recipient refused")
        return Outcome("sent", "250")

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None

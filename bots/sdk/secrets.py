"""Secrets by reference, and the redaction that keeps their values out of every record.

A secret is never written in config; config holds a *reference*:

* ``env:NAME``               the environment variable NAME;
* ``keyring:service/user``   the system keyring entry (``keyring`` package).

Every value resolved through a :class:`SecretResolver` is remembered by its :class:`Redactor`,
so log lines, run records, reports and exception texts can be scrubbed before they are stored.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Annotated

from pydantic import AfterValidator

from backroom.bots.sdk.errors import MissingSecretError
from backroom.bots.sdk.masking import encoded_forms, mask_personal

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "Redactor",
    "SecretRef",
    "SecretResolver",
    "is_secret_ref",
    "parse_ref",
    "require_secret_ref",
    "resolve_if_ref",
]

REDACTED = "***"
_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|keyring:[^/\s]+/[^\s]+)$")


def is_secret_ref(value: str) -> bool:
    """True when ``value`` has the shape of a secret reference."""
    return bool(_REF.match(value or ""))


def require_secret_ref(value: str) -> str:
    """``value`` unchanged if it is a reference; else the one message every config field gives."""
    if not is_secret_ref(value):
        raise ValueError("must be a secret reference such as 'env:NAME' or 'keyring:service/user', not a value")
    return value


#: A config field that holds a secret *reference*, never the secret (``token: SecretRef | None``).
SecretRef = Annotated[str, AfterValidator(require_secret_ref)]


def resolve_if_ref(value: str, secret: Callable[[str], str]) -> str:
    """A value that may be written either plainly or as a reference (a webhook URL), resolved."""
    return secret(value) if is_secret_ref(value) else value


def parse_ref(ref: str) -> tuple[str, str, str | None]:
    """Split a reference into (scheme, name, user); raise ValueError on anything else."""
    if not is_secret_ref(ref):
        raise ValueError(f"expected a secret reference 'env:NAME' or 'keyring:service/user', got {ref!r}")
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        return "env", rest, None
    service, _, user = rest.partition("/")
    return "keyring", service, user


class Redactor:
    """Remembers secret values and blanks them out of any text, in their encoded forms too (URL, base64
    at any alignment), and masks personal data by shape (:mod:`backroom.bots.sdk.masking`)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if not value or len(value) < 3:
            return  # too short to redact without mangling ordinary text
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._values.update(encoded_forms(value))
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return mask_personal(text)

    def __bool__(self) -> bool:
        return True  # personal data is masked even before any secret is known


class RedactingFilter(logging.Filter):
    """A logging filter that renders the message and removes every known secret from it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor:
            message = record.getMessage()
            record.msg = self.redactor.redact(message)
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                import traceback

                record.exc_text = self.redactor.redact("".join(traceback.format_exception(*record.exc_info)))
                record.exc_info = None
        return True


class SecretResolver:
    """Resolves references against the environment and the keyring, feeding a redactor."""

    def __init__(self, redactor: Redactor | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self._environ = environ if environ is not None else os.environ

    def resolve(self, ref: str) -> str:
        try:
            scheme, name, user = parse_ref(ref)
        except ValueError as exc:
            raise MissingSecretError(ref, "not a valid reference (expected env:NAME or keyring:service/user)") from exc
        if scheme == "env":
            value = self._environ.get(name)
            if value is None or value == "":
                raise MissingSecretError(ref, "not set in the environment")
        else:
            value = _keyring_get(name, user or "")
            if value is None:
                raise MissingSecretError(ref, "not found in the system keyring")
        self.redactor.add(value)
        return value

    def exists(self, ref: str) -> bool:
        try:
            self.resolve(ref)
        except MissingSecretError:
            return False
        return True


def _keyring_get(service: str, user: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        return None
    try:
        return keyring.get_password(service, user)
    except KeyringError:
        return None

"""How a remote system is described in config: ``[systems.NAME]``.

``kind`` picks the adapter backend (``rt-rest``, ``browser``, ``http``, ``sql`` ...) within the kind of
system the bot asks for (``backroom.bots.systems.registry`` maps the pair to a class). Credentials are
secret references, resolved only when a run needs them. Anything else a backend needs goes in
``options`` (or directly in the table: unknown keys are kept as options).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backroom.bots.sdk.secrets import SecretRef

__all__ = ["SECRET_FIELDS", "SystemSettings"]

SECRET_FIELDS = ("token", "password", "username_ref", "otp")


class SystemSettings(BaseModel):
    """One remote system. Secret-bearing fields must be references (``env:`` / ``keyring:``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    url: str | None = None
    token: SecretRef | None = None
    username: str | None = None
    password: SecretRef | None = None
    timeout: float = Field(default=30.0, gt=0, description="seconds per request")
    retries: int = Field(default=4, ge=0, description="retries on 429/5xx/connection errors")
    rate_limit: float | None = Field(default=None, gt=0, description="requests per second, at most")
    concurrency: int = Field(default=8, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_options(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            extra = {k: v for k, v in data.items() if k not in known}
            if extra:
                data = {k: v for k, v in data.items() if k in known}
                data["options"] = {**extra, **(data.get("options") or {})}
        return data

    def secret_refs(self) -> list[str]:
        return [v for v in (self.token, self.password) if v]

"""The tickets bot's deployment settings (``[bots.tickets.config]``) and run parameters.

Every rule a supervisor may want to change lives here rather than in code: which fields are
required and where they go, the confidence below which a value goes to review, which resolved
tickets may be closed without a human, quiet hours, attempts, and what to do when nobody answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.bots.sdk.bot import Params
from backroom.bots.sdk.paths import ArchiveFolder
from backroom.bots.systems.helpdesk.base import TicketRecord
from backroom.bots.tickets.extract import DEFAULT_CATEGORY_RULES, DEFAULT_PATTERNS, DEFAULT_URGENCY

__all__ = ["ArchiveConfig", "AutocloseConfig", "FillConfig", "TicketsConfig", "TicketsParams", "WebhookConfig"]

_STRICT = ConfigDict(extra="forbid")

DEFAULT_FIELD_MAP = {
    "name": "CustomerName",
    "mobile": "Mobile",
    "landline": "Landline",
    "id_card": "IDCard",
    "order_no": "OrderNo",
    "account_no": "AccountNo",
    "amount": "Amount",
    "product": "Product",
    "category": "Category",
    "urgency": "Urgency",
    "callback_time": "CallbackTime",
}


class FillConfig(BaseModel):
    """``tickets fill``: which tickets, which fields, how sure before writing."""

    model_config = _STRICT
    # "open" too: a customer's reply moves a new ticket to open before anyone filled it
    query: str = "Queue = 'Complaints' AND (Status = 'new' OR Status = 'open')"
    fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FIELD_MAP), description="extracted field -> helpdesk custom field"
    )
    required: list[str] = Field(default_factory=lambda: ["name", "mobile", "category"])
    review_threshold: float = Field(0.6, ge=0, le=1)
    review_field: str = "ReviewNeeded"
    regulator_field: str = "Regulator"
    patterns: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    category_rules: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_CATEGORY_RULES))
    urgency: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_URGENCY))
    products: list[str] = Field(
        default_factory=lambda: [
            "畅享套餐",
            "家庭宽带",
            "5G尊享套餐",
            "流量包",
            "信用卡",
            "智能电视",
            "iPhone 15",
            "会员月卡",
            "Unlimited Plan",
            "Home Broadband",
            "Credit Card",
            "Smart TV",
            "Premium Membership",
        ]
    )

    @field_validator("patterns")
    @classmethod
    def _compile(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {name!r} is not a valid regular expression: {exc}") from None
        return value


class WebhookConfig(BaseModel):
    """Where the dialer posts outcomes while a run is going (polling works without it)."""

    model_config = _STRICT
    listen: str | None = Field(None, description="host:port to listen on during a run, e.g. 127.0.0.1:8099")
    public_url: str | None = Field(None, description="URL the dialer can reach, when not the listen address")
    secret: str | None = Field(None, description="secret reference for the HMAC signature, e.g. env:DIALER_HOOK")


class ArchiveConfig(BaseModel):
    """What marks a ticket archived in the helpdesk once its record is written and verified.

    ``queue`` moves it to ``queue`` (works on a stock RT: the bot's user needs CreateTicket there);
    ``status`` sets ``status`` (the queue needs a lifecycle with it); ``field`` writes the record's
    SHA-256 into the custom field ``field``; ``none`` leaves the ticket as closed. With ``queue`` or
    ``status``, a non-empty ``field`` also receives the SHA-256.
    """

    model_config = _STRICT
    action: Literal["queue", "status", "field", "none"] = "queue"
    queue: str = "Complaints-Archive"
    status: str = "archived"
    field: str = ""

    @model_validator(mode="after")
    def _complete(self) -> ArchiveConfig:
        self.field = self.field.strip()
        needed = {"queue": self.queue, "status": self.status, "field": self.field}.get(self.action, "x")
        if not needed.strip():
            raise ValueError(f"archive action {self.action!r} needs {self.action} = '...' (which one to use)")
        return self

    def changes(self, sha256: str) -> dict[str, Any]:
        """The update that marks a ticket archived."""
        out: dict[str, Any] = {}
        if self.action == "queue":
            out["Queue"] = self.queue
        elif self.action == "status":
            out["Status"] = self.status
        if self.field and self.action != "none":
            out["CustomFields"] = {self.field: sha256}
        return out

    def done(self, ticket: TicketRecord) -> bool:
        """Whether ``ticket`` already shows the archive mark (a resumed run does not archive twice)."""
        if self.action == "queue":
            return ticket.queue == self.queue
        if self.action == "status":
            return ticket.status == self.status
        if self.action == "field":
            return bool(ticket.field_value(self.field))
        return False


class AutocloseConfig(BaseModel):
    """``tickets autoclose``: selection rules, calling rules, outcome policy, archive."""

    model_config = _STRICT
    query: str = "Queue = 'Complaints' AND Status = 'resolved'"
    min_age_hours: float = Field(24, ge=0)
    simple_categories: list[str] = Field(default_factory=lambda: ["network", "service", "delivery"])
    max_amount: Decimal = Decimal("500")
    escalation_fields: list[str] = Field(default_factory=lambda: ["Escalated", "Regulator"])
    vip_field: str = "VIP"
    vip_numbers: list[str] = Field(default_factory=list)
    do_not_call: list[str] = Field(default_factory=list)
    phone_field: str = "Mobile"
    category_field: str = "Category"
    amount_field: str = "Amount"
    quiet_start: dt.time = Field(dt.time(9, 0), description="no calls before this local time")
    quiet_end: dt.time = Field(dt.time(20, 0), description="no calls from this local time; equal to start = any time")
    skip_public_holidays: bool = True
    call_on_weekends: bool = True
    max_attempts: int = Field(3, ge=1, le=10)
    attempt_spacing_minutes: float = Field(120, ge=0)
    channel: Literal["call", "sms", "wecom"] = "call"
    script: str = "您好，这里是客服中心回访。关于您的工单#{id}（{subject}），问题是否已经解决？您对处理结果满意吗？"
    no_answer_policy: Literal["close", "handoff"] = "handoff"
    human_queue: str = "Complaints-L2"
    raise_priority_by: int = 20
    archive_dir: ArchiveFolder = Field(
        Path("var/archive/tickets"), description="under the archive root ([bots.tickets.roots] archive)"
    )
    # the lifecycle: RT's stock one ends in "resolved", and an archived ticket moves to a queue
    closed_status: str = Field(
        "resolved", description="the status a closed ticket gets; must be in the queue's lifecycle"
    )
    archive: ArchiveConfig = Field(default_factory=lambda: ArchiveConfig())
    concurrency: int = Field(16, ge=1, le=256)
    wait_for_outcomes_s: float = Field(0, ge=0, description="how long one run waits for outcomes to come in")
    poll_interval_s: float = Field(1.0, gt=0)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)


class TicketsConfig(BaseModel):
    model_config = _STRICT
    helpdesk: str = Field("helpdesk", description="name of the [systems.*] table of the helpdesk")
    dialer: str = Field("dialer", description="name of the [systems.*] table of the call platform")
    fill: FillConfig = Field(default_factory=FillConfig)
    autoclose: AutocloseConfig = Field(default_factory=AutocloseConfig)


class TicketsParams(Params):
    """``fill`` fills required fields of new tickets; ``autoclose`` calls back, closes and archives
    resolved simple complaints; ``all`` does both, fill first."""

    action: Literal["fill", "autoclose", "all"] = "fill"
    limit: int | None = Field(None, ge=1, description="at most this many tickets this run")
    ticket: int | None = Field(None, description="only this ticket id")
    recheck: list[int] = Field(
        default_factory=list,
        description="autoclose: ticket ids an operator wants redone (e.g. recheck=12,15); each is taken from the"
        " start by the rules again, its history kept, and the requeue recorded in the report and the state row",
    )

    @field_validator("recheck", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

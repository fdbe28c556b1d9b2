"""The API's request and response models: what the OpenAPI schema says comes in and goes back.

One model per shape; a run is always :class:`RunOut` (or :class:`RunDetail`, which adds what only
the single-run route returns), validated straight from the ORM record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.schedules.history import Run
from backroom.schedules.status import RunStatus, Trigger

__all__ = [
    "MAX_JSON_DEPTH",
    "ArtifactOut",
    "AuditOut",
    "BotOut",
    "BotState",
    "ErrorOut",
    "FieldError",
    "Health",
    "InvalidOut",
    "LogLineOut",
    "LogList",
    "RunDetail",
    "RunList",
    "RunOut",
    "ScheduleOut",
    "TriggerIn",
    "json_depth",
]

# How deeply a parameter value may nest. Bots take flat records; the bound keeps a hostile value
# (100,000 nested lists) from reaching code that recurses over it (validation, JSON columns,
# templates), where it would end as a RecursionError and a 500 instead of a 422 naming the field.
MAX_JSON_DEPTH = 32


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``value`` nests (a scalar is 0), counted without recursion; stops past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ErrorOut(BaseModel):
    detail: str


class InvalidOut(BaseModel):
    detail: str
    errors: list[FieldError]


class RunOut(BaseModel):
    """The public view of a run record (no traceback, no owner), read straight off the ORM ``Run``."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    bot: str
    job_id: str | None
    trigger: Trigger
    triggered_by: str | None
    status: RunStatus
    params: dict[str, Any]
    attempt: int
    parent_run_id: str | None
    dry_run: bool
    scheduled_for: dt.datetime | None
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_s: float | None
    summary: str | None
    counts: dict[str, Any]
    outputs: dict[str, Any]
    progress: dict[str, Any] | None
    error: str | None
    cancel_requested: bool

    @field_validator("params", "counts", "outputs", mode="before")
    @classmethod
    def _empty_dict(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("dry_run", "cancel_requested", mode="before")
    @classmethod
    def _false(cls, value: Any) -> Any:
        return bool(value)

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls.model_validate(run)


class ArtifactOut(BaseModel):
    name: str
    size: int
    url: str


class RunDetail(RunOut):
    traceback: str | None
    artifacts: list[ArtifactOut]
    log_url: str
    events_url: str


class RunList(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class LogLineOut(BaseModel):
    id: int
    at: dt.datetime
    level: str
    logger: str
    message: str


class LogList(BaseModel):
    run_id: str
    status: RunStatus
    lines: list[LogLineOut]
    last_id: int
    more: bool = False  # more lines follow: ask again with after=last_id


class ScheduleOut(BaseModel):
    job_id: str
    bot: str
    schedule: str
    calendar: str | None
    description: str
    next_fire: dt.datetime | None
    paused: bool


class BotOut(BaseModel):
    name: str
    summary: str
    params_schema: dict[str, Any]
    idempotent: bool
    supports_dry_run: bool
    paused: bool
    schedules: list[ScheduleOut]
    last_run: RunOut | None


class TriggerIn(BaseModel):
    params: dict[str, Any] = Field(default_factory=dict, description="values for the bot's Params model")
    dry_run: bool = False

    @field_validator("params")
    @classmethod
    def _shallow(cls, value: dict[str, Any]) -> dict[str, Any]:
        if json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
        return value


class BotState(BaseModel):
    bot: str
    paused: bool


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    source: str
    outcome: str
    detail: dict[str, Any]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    scheduler: str
    runs_folder: str = "ok"
    bots: int
    active_runs: int

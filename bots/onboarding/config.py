"""The onboarding bot's settings (``[bots.onboarding.config]``) and run parameters."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.bots.sdk.bot import Params
from backroom.bots.sdk.paths import InboxPath

__all__ = ["HrApi", "HumanStep", "OnboardingConfig", "OnboardingParams", "Position"]


class Position(BaseModel):
    """What a position needs in each account system: ``system name -> groups`` (the groups carry the rights)."""

    model_config = ConfigDict(extra="forbid")

    groups: dict[str, list[str]] = Field(default_factory=dict)


class HumanStep(BaseModel):
    """A step no system can do (badge, laptop): an open item on the checklist, assigned to a role."""

    model_config = ConfigDict(extra="forbid")

    step: str
    role: str
    on: str = Field(default="hire", pattern="^(hire|leave)$")


class HrApi(BaseModel):
    """An HR system's REST API (``[systems.NAME]`` of kind ``http``) that lists hires and leavers as JSON."""

    model_config = ConfigDict(extra="forbid")

    system: str
    hires_path: str = "/api/hires"
    leavers_path: str | None = "/api/leavers"


class OnboardingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``[systems.NAME]`` of kind ``accounts`` backends (``rt-rest``) where people get accounts
    systems: list[str] = Field(default_factory=lambda: ["helpdesk"])
    #: read hires and leavers from an HR system when a run names no list
    hr_api: HrApi | None = None
    #: position (岗位) -> what it needs; a position not listed gets a plain account in every system
    positions: dict[str, Position] = Field(default_factory=dict)
    #: ``[systems.NAME]`` of kind ``smtp`` for the welcome mail; none: no welcome mail is sent
    mail_system: str | None = None
    sender: str = "hr@example.com"
    company: str = "Backroom"
    #: the welcome mail's first-login link; ``{login}`` is replaced. Never a password.
    first_login_url: str = "https://sso.example.com/first-login?user={login}"
    human_steps: list[HumanStep] = Field(
        default_factory=lambda: [
            HumanStep(step="工牌 (badge)", role="行政"),
            HumanStep(step="电脑 (laptop)", role="IT"),
            HumanStep(step="收回工牌和电脑 (badge and laptop back)", role="行政", on="leave"),
        ]
    )

    @field_validator("first_login_url")
    @classmethod
    def _link(cls, value: str) -> str:
        if not value.startswith("https://") or "{login}" not in value:
            raise ValueError("expected an https:// link containing {login}")
        return value


class OnboardingParams(Params):
    """Paths are relative to the bot's inbox root."""

    #: the new-hire list: 姓名, 工号, 身份证号, 部门, 岗位, 入职日期, 直属上级, 手机, 邮箱 (default: none,
    #: or the HR system's API when ``hr_api`` is configured and neither list is given)
    hires: InboxPath | None = None
    #: the leaver list: 工号, 最后工作日 (accounts are disabled from that day on)
    leavers: InboxPath | None = None
    #: the day the run acts for (default: today, local time)
    today: dt.date | None = None

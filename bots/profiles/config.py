"""The profiles bot's settings (``[bots.profiles.config]``) and run parameters."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.bots.sdk.bot import Params
from backroom.bots.sdk.paths import InboxPath

__all__ = ["ProfilesConfig", "ProfilesParams", "SqlRecords"]

PERSON_FIELDS = ("工号", "姓名", "性别", "出生日期", "部门", "岗位", "入职日期", "学历", "手机", "邮箱", "照片")


class SqlRecords(BaseModel):
    """HR records from a database (a ``[systems.NAME]`` of kind ``sql``) instead of a workbook."""

    model_config = ConfigDict(extra="forbid")

    system: str
    #: one row per person, columns named as the 员工 sheet's (``SELECT emp_no AS "工号", …``)
    people: str
    #: part (教育经历, 工作经历, 证书, 培训) -> query whose rows carry a 工号 column
    parts: dict[str, str] = Field(default_factory=dict)

    @field_validator("parts")
    @classmethod
    def _parts(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in value if k not in ("教育经历", "工作经历", "证书", "培训")]
        if unknown:
            raise ValueError(f"unknown parts {', '.join(unknown)}; known: 教育经历, 工作经历, 证书, 培训")
        return value


class ProfilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: read the records from a database when a run names no workbook
    sql: SqlRecords | None = None

    company: str = "Backroom"
    #: fields of the 员工 sheet a profile may not lack; a missing one is listed, never a blank box
    required: list[str] = Field(default_factory=lambda: ["姓名", "部门", "岗位", "入职日期", "学历", "照片"])
    #: parts that must have at least one row (教育经历, 工作经历, 证书, 培训)
    required_parts: list[str] = Field(default_factory=lambda: ["教育经历"])
    #: also render each profile as PDF
    pdf: bool = True

    @field_validator("required")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in PERSON_FIELDS]
        if unknown:
            raise ValueError(f"unknown fields {', '.join(unknown)}; known: {', '.join(PERSON_FIELDS)}")
        return value

    @field_validator("required_parts")
    @classmethod
    def _parts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in ("教育经历", "工作经历", "证书", "培训")]
        if unknown:
            raise ValueError(f"unknown parts {', '.join(unknown)}; known: 教育经历, 工作经历, 证书, 培训")
        return value


class ProfilesParams(Params):
    """Paths are relative to the bot's inbox root."""

    #: HR records workbook: sheets 员工 (one row per person), 教育经历, 工作经历, 证书, 培训 (rows by 工号);
    #: default: the configured SQL source
    records: InboxPath | None = None
    #: the .docx template (docxtpl tags); default: the built-in layout
    template: InboxPath | None = None
    #: folder of photos named in the 照片 column (relative to the inbox root)
    photos: str = "."
    #: only this department (a batch); default: everyone
    department: str | None = None

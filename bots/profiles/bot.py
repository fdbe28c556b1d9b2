"""The profiles bot (简历制作): one profile document per employee, in batches by department.

Reads HR's records workbook (:mod:`backroom.bots.profiles.records`), renders each person through
HR's .docx template (or the built-in one, also written out as ``profile-template.docx`` to start
from), and a PDF of the same. Documents go to ``profiles/DEPARTMENT/工号-姓名.docx``; a person
missing required fields still gets a document with the gaps marked, and the report lists them.
Only counts reach the log.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from openpyxl import Workbook

from backroom.bots.profiles.config import ProfilesConfig, ProfilesParams
from backroom.bots.profiles.records import Person, read_records, read_records_sql
from backroom.bots.profiles.render import Profile, render_docx, render_pdf, write_default_template
from backroom.bots.reports import YELLOW_FILL, highlight_rows, write_table
from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.paths import PathRefused, confine

if TYPE_CHECKING:
    from pathlib import Path

    from backroom.bots.sdk.context import Context

__all__ = ["Profiles"]

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


class Profiles(Bot[ProfilesParams, ProfilesConfig]):
    name = "profiles"
    summary = "Render one employee profile (员工档案) per person from HR records and a .docx template, with PDF"
    Params = ProfilesParams
    Config = ProfilesConfig
    idempotent = True

    def run(self, ctx: Context[ProfilesConfig], params: ProfilesParams) -> Result:
        config = ctx.config
        if params.records is not None:
            people = read_records(ctx.file(params.records))
        elif config.sql is not None:
            people = self._from_sql(ctx, config)
        else:
            raise ConfigError("profiles need a records workbook (--param records=...) or [bots.profiles.config.sql]")
        if params.department is not None:
            people = [p for p in people if p.fields.get("部门") == params.department]
        if params.template is not None:
            template = ctx.file(params.template)
        else:
            template = write_default_template(ctx.artifact("profile-template.docx"))
        photos = confine(params.photos, ctx.roots.root("inbox"), kind="dir", must_exist=False)

        report: list[list[str]] = []
        with ctx.progress("rendering profiles", total=len(people)) as progress:
            for person in people:
                ctx.raise_if_cancelled()
                missing = [f for f in config.required if not person.fields.get(f)]
                missing += [f"{part}（无记录）" for part in config.required_parts if not person.parts[part]]
                photo = self._photo(photos, person.fields.get("照片", ""))
                if person.fields.get("照片") and photo is None and "照片" not in missing:
                    missing.append("照片（文件不存在）")
                profile = Profile(config.company, person, photo, missing)
                department = _safe(person.fields.get("部门") or "未分部门")
                stem = _safe(f"{person.number}-{person.fields.get('姓名', '')}")
                docx = render_docx(template, profile, ctx.artifact(f"profiles/{department}/{stem}.docx"))
                if config.pdf:
                    render_pdf(profile, docx.with_suffix(".pdf"))
                report.append([person.number, person.fields.get("姓名", ""), department, docx.name, "、".join(missing)])
                progress.advance()

        book = Workbook()
        ws = book.active
        ws.title = "档案"
        last = write_table(ws, ["工号", "姓名", "部门", "文件", "待补充"], report)
        highlight_rows(ws, "E", 2, last, "", YELLOW_FILL)
        summary_path = ctx.artifact("profiles.xlsx")
        book.save(summary_path)
        incomplete = sum(1 for row in report if row[4])
        summary = f"{len(report)} profiles rendered, {incomplete} with fields to complete"
        ctx.log.info("profiles: %s", summary)
        return Result(
            summary=summary,
            counts={"profiles": len(report), "incomplete": incomplete},
            outputs={"report": str(summary_path)},
        )

    @staticmethod
    def _from_sql(ctx: Context[ProfilesConfig], config: ProfilesConfig) -> list[Person]:
        from backroom.bots.systems.registry import backend_class

        source = config.sql
        assert source is not None
        settings = ctx.system(source.system)
        database = backend_class("sql", settings.kind, where=f"[systems.{source.system}]")(settings, ctx.secret)
        engine = database.engine()
        try:
            return read_records_sql(engine, source.people, source.parts)
        finally:
            engine.dispose()

    @staticmethod
    def _photo(folder: Path, name: str) -> Path | None:
        if not name:
            return None
        try:
            return confine(folder / name, folder, kind="file")
        except PathRefused:
            return None

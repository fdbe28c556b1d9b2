"""Profiles (简历制作 / 员工档案): one profile document per employee from HR's records and HR's template.

bot.py        the Profiles bot (params, config, run)
config.py     its Config (required fields, template) and Params
records.py    HR records: one workbook, a sheet per part (员工, 教育经历, 工作经历, 证书, 培训)
render.py     the .docx from a docxtpl template HR edits (a default one is written if none is set),
              and a PDF of the same profile (CJK font)
"""

from __future__ import annotations

from backroom.bots.profiles.bot import Profiles
from backroom.bots.profiles.config import ProfilesConfig, ProfilesParams

__all__ = ["Profiles", "ProfilesConfig", "ProfilesParams"]

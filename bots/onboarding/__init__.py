"""Onboarding and offboarding (入职 / 离职): accounts created, grouped and handed over, step by step.

    bot.py        the Onboarding bot: new hires get their accounts, leavers lose them
    config.py     its Config (systems, position → groups, human steps) and Params
    people.py     the new-hire and leaver lists (workbook or CSV)
    checklist.py  the checklist workbook: one row per employee and step

Accounts are reached through the ``accounts`` adapter kind (:mod:`backroom.bots.systems.accounts`).
"""

from __future__ import annotations

from backroom.bots.onboarding.bot import Onboarding
from backroom.bots.onboarding.config import OnboardingConfig, OnboardingParams

__all__ = ["Onboarding", "OnboardingConfig", "OnboardingParams"]

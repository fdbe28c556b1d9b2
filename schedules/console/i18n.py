"""The console's view of the message catalogue (:mod:`backroom.schedules.i18n`), kept under its old name.

The catalogue moved out of the console so that alerts, the CLI and reports use the same texts without
importing the web application.
"""

from __future__ import annotations

from backroom.schedules.i18n import LANGUAGES, ZH, Translator, negotiate

__all__ = ["LANGUAGES", "ZH", "Translator", "negotiate"]

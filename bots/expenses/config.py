"""The expenses bot's settings (``[bots.expenses.config]``) and run parameters.

Every audit rule is configurable: who the company is (buyer name and taxpayer IDs a fapiao must
carry), how old a document may be, limits per category and per day, what counts as low
confidence, and how a weekend or holiday receipt is treated.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.bots.sdk.bot import Params
from backroom.bots.sdk.paths import InboxLocation, InboxPath

__all__ = ["ExpensesConfig", "ExpensesParams", "PaddleDirs"]

Verdict = Literal["pass", "review", "fail"]


class PaddleDirs(BaseModel):
    """Where PaddleOCR's inference models live (only for ``engine = "paddle"``)."""

    model_config = ConfigDict(extra="forbid")
    det_model_dir: Path | None = None
    rec_model_dir: Path | None = None
    cls_model_dir: Path | None = None


class RapidModels(BaseModel):
    """Other PP-OCR ONNX models for the default ``rapid`` engine (e.g. PP-OCRv6 tiny: about four
    times faster, weaker on addresses); unset keeps the bundled PP-OCRv6 small."""

    model_config = ConfigDict(extra="forbid")
    det_model_path: Path | None = None
    rec_model_path: Path | None = None
    rec_keys_path: Path | None = None


_IMAGES = ["*.jpg", "*.jpeg", "*.png", "*.tif", "*.tiff", "*.bmp", "*.webp"]


class ExpensesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The company's names as printed on fapiao (购买方名称); any of them passes.
    company_names: list[str] = Field(default_factory=list)
    #: The company's unified social credit codes (购买方纳税人识别号).
    company_tax_ids: list[str] = Field(default_factory=list)
    #: Per-document limits by category ("meals" = 500); "*" is the default for other categories.
    category_limits: dict[str, Decimal] = Field(default_factory=dict)
    #: Per employee per day, across documents.
    daily_limit: Decimal | None = None
    #: Documents older than this many days before the end of the claim month fail.
    max_age_days: int = 90
    #: A key field read with less confidence than this goes to review instead of being trusted.
    min_confidence: float = 0.80
    #: Weekend / public-holiday documents (China's official calendar): "review", "fail" or "pass".
    weekend_verdict: Verdict = "review"
    #: Claimed amounts may differ from the receipt total by at most this much.
    amount_tolerance: Decimal = Decimal("0.00")
    #: OCR engine and its worker processes (0 = one per core, 1 = in the bot's own process).
    engine: Literal["rapid", "paddle", "tesseract"] = "rapid"
    workers: int = 0
    paddle: PaddleDirs = Field(default_factory=PaddleDirs)
    rapid: RapidModels = Field(default_factory=RapidModels)
    #: Day-first reading of ambiguous numeric dates (12/03/2024 = 12 March).
    dayfirst: bool = True
    #: PDFs with more pages are rejected (a receipt or invoice is short).
    max_pages: int = 20
    #: Where files go after the run, relative to the inbox.
    processed_dir: str = "processed"
    rejected_dir: str = "rejected"
    #: Which files in the inbox are documents.
    patterns: list[str] = Field(default_factory=lambda: [*_IMAGES, "*.pdf", "*.ofd", "*.xml"])

    @field_validator("processed_dir", "rejected_dir")
    @classmethod
    def _inside_the_inbox(cls, value: str) -> str:
        if not value or Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a folder name inside the inbox (not absolute, no '..')")
        return value

    @field_validator("company_tax_ids")
    @classmethod
    def _valid_ids(cls, ids: list[str]) -> list[str]:
        from backroom.ocr.chinese import valid_uscc

        bad = [i for i in ids if not valid_uscc(i)]
        if bad:
            raise ValueError(f"not valid 18-character unified social credit codes: {', '.join(bad)}")
        return [i.upper() for i in ids]

    def limit_for(self, category: str) -> Decimal | None:
        return self.category_limits.get(category, self.category_limits.get("*"))


class ExpensesParams(Params):
    """One audit run. Paths are relative to the bot's inbox root (``[bots.expenses.roots] inbox``)
    and refused when they resolve outside it."""

    #: The folder to read: documents directly in it, or in one sub-folder per employee.
    inbox: InboxLocation = Path(".")
    #: Optional claims sheet (Excel: employee, category, claimed amount, files); default: the
    #: ``claims*.xlsx`` found in the inbox, if any.
    claims: InboxPath | None = None
    #: The month being claimed (any day in it); default: the current month.
    claim_month: dt.date | None = None
    #: Employee for files that no claims row or sub-folder names.
    employee: str = "unknown"
    #: One file to audit (set by the runner's file-arrival trigger); default: the whole inbox.
    file: InboxLocation | None = None

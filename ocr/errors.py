"""Errors of the ``ocr`` package: one root, split into the document's fault and the machinery's.

    OcrError                     every error ``ocr`` raises on purpose
    ├── DocumentError            the file is not a readable document (empty, corrupt, encrypted,
    │                            too many pages, too many pixels, unknown type): about the data;
    │                            also a ValueError
    └── EngineError              the OCR machinery: also a RuntimeError
        ├── EngineUnavailable    the engine cannot run here (package, models or binary missing,
        │                        unknown name): fix the installation; stops a batch
        └── EngineFailed         the engine ran and failed on one image: that document fails,
                                 the batch reads on

``ocr`` imports nothing of ``bots``, so these are not the SDK's business/application errors; a bot
converts them at its boundary (a ``DocumentError`` becomes a rejected file, an
``EngineUnavailable`` a failed run), as httpx maps transport errors onto its own tree.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DocumentError", "EngineError", "EngineFailed", "EngineUnavailable", "OcrError"]


class OcrError(Exception):
    """The root: catch this to handle anything ``ocr`` raises on purpose."""


class DocumentError(OcrError, ValueError):
    """A file that cannot be read as a document: empty, corrupt, encrypted, too long, too large, unknown type."""

    def __init__(self, path: Path | str, reason: str, *, kind: str = "unreadable") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason
        self.kind = kind


class EngineError(OcrError, RuntimeError):
    """Something is wrong with the OCR machinery rather than with a document."""


class EngineUnavailable(EngineError):
    """The engine cannot run here (package or models missing); the message says how to fix it."""


class EngineFailed(EngineError):
    """The engine ran but could not read one image; the document fails, the batch goes on."""

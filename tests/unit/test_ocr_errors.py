"""ocr's one error tree: a document's fault and the machinery's never share a branch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import backroom.ocr as ocr
from backroom.ocr.errors import DocumentError, EngineError, EngineFailed, EngineUnavailable, OcrError


def test_the_tree() -> None:
    assert issubclass(DocumentError, OcrError) and not issubclass(DocumentError, EngineError)
    assert issubclass(EngineUnavailable, EngineError) and issubclass(EngineFailed, EngineError)
    assert issubclass(EngineError, OcrError) and issubclass(EngineError, RuntimeError)
    assert issubclass(DocumentError, ValueError)  # callers that caught ValueError still do
    assert ocr.DocumentError is DocumentError and ocr.EngineUnavailable is EngineUnavailable


def test_every_error_ocr_raises_on_purpose_is_an_ocr_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(OcrError):
        ocr.load_pages(empty)
    with pytest.raises(OcrError):
        ocr.get_engine("easy")


def test_an_image_tesseract_cannot_take_fails_that_document_only() -> None:
    from backroom.ocr.engines import TesseractEngine

    engine = TesseractEngine.__new__(TesseractEngine)  # no binary needed: encoding fails first
    engine.binary, engine.languages = "tesseract", "chi_sim"
    with pytest.raises(EngineFailed, match="could not encode"):
        engine.read(np.zeros((0, 0, 3), dtype=np.uint8))

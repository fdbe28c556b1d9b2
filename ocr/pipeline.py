"""One document in, its type and fields out: pages → QR codes → OCR → the right extractor.

This is what the CLI, the expenses bot and the worker pool call. Structured invoices come first:
an OFD (a zip holding ``OFD.xml``) or an invoice XML states its fields, so it is read directly
(:mod:`ocr.ofd`, :mod:`ocr.xmlinvoice`) and never OCR'd. Anything else is read page by page: a
fapiao QR code first, then OCR (or the PDF text layer), and the lines go to the fapiao or receipt
extractor; a page that fits neither is ``unknown``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backroom.ocr.documents import STRUCTURED_SUFFIXES, iter_pages, read_page
from backroom.ocr.einvoice import order_fields
from backroom.ocr.engines import Line, get_engine
from backroom.ocr.errors import DocumentError, EngineUnavailable
from backroom.ocr.fapiao import extract_fapiao, looks_like_fapiao
from backroom.ocr.fields import Extraction
from backroom.ocr.qr import QRCode, decode_qr
from backroom.ocr.receipts import extract_receipt, receipt_score

if TYPE_CHECKING:
    import numpy as np

    from backroom.ocr.engines import Engine

__all__ = ["DocumentResult", "classify", "read_document"]


@dataclass
class DocumentResult:
    """What one file yielded. ``error`` is set (and ``extraction`` is ``None``) when unreadable."""

    path: Path
    extraction: Extraction | None
    seconds: float = 0.0
    pages: int = 0
    error: str | None = None
    error_kind: str | None = None
    rotation: int = 0
    thumbnail: bytes | None = field(default=None, repr=False)  # small JPEG of page 1

    @property
    def type(self) -> str:
        return self.extraction.type if self.extraction else "unknown"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": str(self.path), "type": self.type}
        if self.extraction is not None:
            data.update({k: v for k, v in self.extraction.to_json().items() if k != "type"})
        else:
            data["fields"] = {}
        if self.error:
            data["error"] = self.error
        return data


def classify(lines: list[Line], codes: list[QRCode]) -> str:
    if looks_like_fapiao(lines, codes):
        return "fapiao"
    if receipt_score(lines) >= 2:
        return "receipt"
    return "unknown"


def _thumbnail(image: np.ndarray, size: int = 360) -> bytes:
    import cv2

    h, w = image.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return data.tobytes() if ok else b""


def _structured(path: Path, max_pages: int) -> tuple[Extraction, int] | None:
    """An OFD or invoice XML read without OCR; ``None`` when the file is neither (by content, then name)."""
    from backroom.ocr.ofd import is_ofd, read_ofd
    from backroom.ocr.xmlinvoice import read_xml_invoice

    suffix = path.suffix.lower()
    if suffix not in STRUCTURED_SUFFIXES and not path.is_file():
        return None
    with path.open("rb") as handle:
        head = handle.read(64)
    if head[:4] == b"PK\x03\x04" or suffix == ".ofd":
        data = path.read_bytes()
        if not data:
            raise DocumentError(path, "the file is empty (0 bytes); expected an OFD", kind="empty")
        if not is_ofd(data):
            raise DocumentError(path, "not an OFD document (expected a zip holding OFD.xml)", kind="corrupt")
        return read_ofd(path, data, max_pages=max_pages)
    if suffix == ".xml" or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        data = path.read_bytes()
        if not data.strip():
            raise DocumentError(path, "the file is empty; expected an invoice XML", kind="empty")
        return read_xml_invoice(path, data), 1
    return None


def read_document(
    path: Path | str,
    engine: Engine | str = "rapid",
    *,
    max_pages: int = 20,
    dayfirst: bool = True,
    thumbnail: bool = False,
) -> DocumentResult:
    """Read one file. Never raises for a bad document: the result carries the error instead."""
    path = Path(path)
    started = time.perf_counter()
    lines: list[Line] = []
    codes: list[QRCode] = []
    pages = 0
    rotation = 0
    thumb = None
    try:
        structured = _structured(path, max_pages) if path.is_file() else None
        if structured is not None:
            extraction, pages = structured
            order_fields(extraction)
            return DocumentResult(path, extraction, time.perf_counter() - started, pages)
        eng = get_engine(engine) if isinstance(engine, str) else engine
        for page in iter_pages(path, max_pages=max_pages):
            pages += 1
            page_codes = decode_qr(page.image)
            codes.extend(page_codes)
            lines.extend(read_page(page, eng))
            if not page_codes and page.rotation:
                codes.extend(decode_qr(page.image))
            if page.index == 0:
                rotation = page.rotation
                if thumbnail:
                    thumb = _thumbnail(page.image)
    except DocumentError as exc:
        return DocumentResult(path, None, time.perf_counter() - started, pages, exc.reason, exc.kind)
    except EngineUnavailable:
        raise
    except Exception as exc:  # one odd document must not end a 2,000-document run
        reason = f"OCR failed on this document ({type(exc).__name__}: {exc})"
        return DocumentResult(path, None, time.perf_counter() - started, pages, reason, "ocr_failed")
    kind = classify(lines, codes)
    if kind == "fapiao":
        extraction = order_fields(extract_fapiao(lines, codes))
    elif kind == "receipt":
        extraction = extract_receipt(lines, dayfirst=dayfirst)
    else:
        extraction = Extraction(type="unknown", lines=lines, qr=[c.text for c in codes])
    return DocumentResult(path, extraction, time.perf_counter() - started, pages, rotation=rotation, thumbnail=thumb)

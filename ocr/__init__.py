"""Reading receipts and Chinese VAT invoices: engines, documents, QR codes, fields.

    engines.py    Engine protocol; RapidOCR (default, PP-OCR ONNX), PaddleOCR, Tesseract
    documents.py  images and PDF pages in; oriented, deskewed, sensibly sized pages out
    qr.py         QR codes first: a fapiao QR beats any OCR
    receipts.py   receipt fields (company, address, date, total, ...) from layout rules
    fapiao.py     fapiao fields, QR-first, with cross-checks
    chinese.py    大写 amounts and unified social credit code checksums
    pipeline.py   one document in, its type and fields out
    pool.py       many documents through a worker pool, streamed
    cli.py        ``backroom ocr FILE_OR_DIR... [--engine ...] [--json]``

``ocr`` imports neither ``bots`` nor ``schedules``.
"""

from __future__ import annotations

from backroom.ocr.documents import DocumentError, Page, load_pages
from backroom.ocr.engines import Engine, EngineUnavailable, Line, get_engine
from backroom.ocr.fields import Extraction, Field
from backroom.ocr.pipeline import DocumentResult, read_document
from backroom.ocr.pool import read_many

__all__ = [
    "DocumentError",
    "DocumentResult",
    "Engine",
    "EngineUnavailable",
    "Extraction",
    "Field",
    "Line",
    "Page",
    "get_engine",
    "load_pages",
    "read_document",
    "read_many",
]

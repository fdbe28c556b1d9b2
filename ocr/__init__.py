"""Reading receipts and Chinese VAT invoices: engines, documents, QR codes, fields.

    engines.py    Engine protocol; RapidOCR (default, PP-OCR ONNX), PaddleOCR, Tesseract
    documents.py  images and PDF pages in; oriented, deskewed, sensibly sized pages out (PDF text
                  layers first, glyph-by-glyph layers merged into words)
    qr.py         QR codes first: a fapiao QR beats any OCR
    receipts.py   receipt fields (company, address, date, total, ...) from layout rules
    fapiao.py     fapiao fields, QR-first, with cross-checks
    einvoice.py   the field set of structured e-invoices (数电票), checked against itself
    ofd.py        OFD (GB/T 33190) invoices: tags, embedded XML, metadata and page text, no OCR
    xmlinvoice.py 数电票 XML (EInvoice) and 税控 e-invoice XML (eInvoice)
    chinese.py    大写 amounts and unified social credit code checksums
    pipeline.py   one document in, its type and fields out (OFD and XML read directly)
    pool.py       many documents through a worker pool, streamed
    cli.py        ``backroom ocr FILE_OR_DIR... [--engine ...] [--json]``
    errors.py     the one error tree:

    OcrError
    ├── DocumentError            the file is not a readable document (the data's fault)
    └── EngineError              the OCR machinery's fault
        ├── EngineUnavailable    cannot run here: package, models or binary missing
        └── EngineFailed         ran and failed on one image

``ocr`` imports neither ``bots`` nor ``schedules``; a bot converts these errors at its boundary.
"""

from __future__ import annotations

from backroom.ocr.documents import Page, load_pages
from backroom.ocr.engines import Engine, Line, get_engine
from backroom.ocr.errors import DocumentError, EngineError, EngineFailed, EngineUnavailable, OcrError
from backroom.ocr.fields import Extraction, Field
from backroom.ocr.pipeline import DocumentResult, read_document
from backroom.ocr.pool import read_many

__all__ = [
    "DocumentError",
    "DocumentResult",
    "Engine",
    "EngineError",
    "EngineFailed",
    "EngineUnavailable",
    "Extraction",
    "Field",
    "Line",
    "OcrError",
    "Page",
    "get_engine",
    "load_pages",
    "read_document",
    "read_many",
]

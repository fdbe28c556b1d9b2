"""A CPU-bound bot for the scale-out benchmark: a real OCR of one receipt (loaded through ``bot_modules``)."""

from __future__ import annotations

from backroom.bots import Bot, Context, Params, Result


class OcrParams(Params):
    file: str = ""  # given per run (a default, so the bot needs no params in config)


class OcrReceipt(Bot[OcrParams]):
    name = "ocr_receipt"
    summary = "Reads one receipt image with rapidocr (one thread), as an OCR batch's run would"
    Params = OcrParams
    idempotent = True

    def run(self, ctx: Context, params: OcrParams) -> Result:
        from backroom.ocr.engines import get_engine
        from backroom.ocr.pipeline import read_document

        if not params.file:
            raise ValueError("ocr_receipt needs a file")
        # every run is a process of its own: the models load in each one (part of what is measured)
        document = read_document(params.file, get_engine("rapid", threads=1))
        return Result(summary=f"read a {document.type}", outputs={"type": document.type})

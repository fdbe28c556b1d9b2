"""Receipts and Chinese VAT invoices (fapiao) rendered as images, with ground-truth JSON.

For the demo and the tests (never the only data the OCR is judged on): every document is drawn
deterministically from a seed with a CJK font from Debian's packages (fonts-wqy-microhei or
fonts-noto-cjk), then photographed badly on purpose: a small tilt, optional upside-down turn, blur,
sensor noise and JPEG compression. A fapiao carries the QR code real ones carry (see
:mod:`ocr.qr`); ``qr_mismatch=True`` makes the QR disagree with the printed amount, as a forged or
altered invoice would.

    python -m backroom.sandbox.documents OUT_DIR --fapiao 20 --receipts 10 --seed 7

    render.py   fonts, the camera's faults (Distortion), saving with the truth
    fapiao.py   make_fapiao, make_uscc
    receipt.py  make_receipt
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backroom.sandbox.documents.fapiao import make_fapiao, make_uscc
from backroom.sandbox.documents.receipt import make_receipt
from backroom.sandbox.documents.render import FONT_CANDIDATES, Distortion, find_font, save_with_truth

__all__ = [
    "FONT_CANDIDATES",
    "Distortion",
    "find_font",
    "main",
    "make_fapiao",
    "make_receipt",
    "make_uscc",
    "write_fapiao",
    "write_receipt",
    "write_set",
]


def write_fapiao(path: Path, seed: int, **kwargs: Any) -> dict[str, Any]:
    """Render a fapiao to ``path`` (JPEG/PNG/PDF...) and its truth beside it as ``.json``."""
    image, truth = make_fapiao(seed, **kwargs)
    save_with_truth(image, truth, Path(path))
    return truth


def write_receipt(path: Path, seed: int, **kwargs: Any) -> dict[str, Any]:
    image, truth = make_receipt(seed, **kwargs)
    save_with_truth(image, truth, Path(path))
    return truth


def write_set(folder: Path, *, fapiao: int = 10, receipts: int = 5, seed: int = 0, strength: float = 1.0) -> list[Path]:
    """A folder of generated documents (``fapiao_NNN.jpg``, ``receipt_NNN.jpg``) with truths."""
    folder = Path(folder)
    paths = []
    for i in range(fapiao):
        path = folder / f"fapiao_{i:03d}.jpg"
        write_fapiao(path, seed * 10_000 + i, strength=strength)
        paths.append(path)
    for i in range(receipts):
        path = folder / f"receipt_{i:03d}.jpg"
        write_receipt(path, seed * 10_000 + 5_000 + i, strength=strength)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fapiao", type=int, default=10)
    parser.add_argument("--receipts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strength", type=float, default=1.0, help="0 = clean scans, 1 = phone photos")
    args = parser.parse_args(argv)
    for path in write_set(args.out, fapiao=args.fapiao, receipts=args.receipts, seed=args.seed, strength=args.strength):
        print(path)
    return 0

"""Images and PDF pages in; upright, deskewed, sensibly sized page images (and text layers) out.

Why each step exists:

- Phones write JPEGs sideways and record the turn in EXIF; we apply it before anything else.
- A 48-megapixel photo of a receipt wastes memory and time: the detector works at about 1,000 px
  anyway, so huge images are decoded at reduced size (JPEG draft mode) and scaled to ``max_side``.
- An image whose header announces more than ``max_pixels`` (:data:`MAX_PIXELS`, 40 megapixels) is
  refused *before* it is decoded (a 13300×13300 PNG, under Pillow's own bomb limit, took 2.18 GB);
  a JPEG that draft mode can bring under the limit is decoded at that reduced size instead.
- PDFs are rendered page by page with pypdfium2. An e-invoice PDF usually carries a text layer; its
  lines (with boxes) are read directly so no OCR is needed, and the page image is still rendered
  for the QR code and the thumbnail.
- Scans are often a few degrees off; :func:`deskew` straightens them so rows line up.
- Pages turned 90/180/270 degrees are detected after a first OCR pass (:func:`read_page`).

Every failure is a :class:`DocumentError` naming the file and what was expected.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backroom.ocr.engines import Line, sort_lines
from backroom.ocr.errors import DocumentError

if TYPE_CHECKING:
    import numpy as np

    from backroom.ocr.engines import Engine

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "STRUCTURED_SUFFIXES",
    "SUFFIXES",
    "DocumentError",
    "Page",
    "deskew",
    "iter_pages",
    "load_pages",
    "merge_glyphs",
    "read_page",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
#: Structured invoice files, read without OCR (:mod:`ocr.ofd`, :mod:`ocr.xmlinvoice`).
STRUCTURED_SUFFIXES = (".ofd", ".xml")
SUFFIXES = (*IMAGE_SUFFIXES, ".pdf", *STRUCTURED_SUFFIXES)
PDF_DPI = 200
#: The most pixels an image may announce and still be decoded: a phone photo is 12-48 MP, a 600-dpi A4
#: scan 35 MP. Decoded as RGB that is 120 MB at most, per worker.
MAX_PIXELS = 40_000_000


@dataclass
class Page:
    """One page: its image (BGR ndarray) and, for text-layer PDFs, the lines read from that layer."""

    image: np.ndarray
    index: int = 0
    text_lines: list[Line] | None = None
    rotation: int = 0  # degrees clockwise applied to make it upright
    skew: float = 0.0  # degrees removed by deskewing
    meta: dict[str, Any] = field(default_factory=dict)


def _check_file(path: Path) -> bytes:
    if not path.is_file():
        raise DocumentError(path, "file not found", kind="missing")
    data = path.read_bytes()
    if not data:
        raise DocumentError(path, "the file is empty (0 bytes); expected an image or a PDF", kind="empty")
    return data


def load_pages(
    path: Path | str,
    *,
    max_pages: int = 20,
    max_side: int = 2500,
    do_deskew: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> list[Page]:
    """All pages of an image or PDF, ready for OCR. See :func:`iter_pages`."""
    return list(iter_pages(path, max_pages=max_pages, max_side=max_side, do_deskew=do_deskew, max_pixels=max_pixels))


def iter_pages(
    path: Path | str,
    *,
    max_pages: int = 20,
    max_side: int = 2500,
    do_deskew: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> Iterator[Page]:
    """Yield pages one at a time so a long PDF never sits in memory whole.

    PDF pages are rendered at most ``max_side`` pixels long; an image announcing more than
    ``max_pixels`` is refused from its header (:class:`DocumentError` of kind ``too_large``).
    """
    path = Path(path)
    data = _check_file(path)
    if data[:5] == b"%PDF-" or path.suffix.lower() == ".pdf":
        yield from _pdf_pages(path, data, max_pages=max_pages, max_side=max_side)
        return
    for index in range(_frame_count(path, data, max_pages)):
        image = _decode_image(path, data, max_side=max_side, frame=index, max_pixels=max_pixels)
        page = Page(image=image, index=index)
        if do_deskew:
            page.image, page.skew = deskew(image)
        yield page


@contextmanager
def _open_image(data: bytes) -> Iterator[Any]:
    """``Image.open`` without Pillow's bomb *warning*: the size is checked here, against ``max_pixels``."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as img:
            yield img


def _frame_count(path: Path, data: bytes, max_pages: int) -> int:
    """Pages in a multi-page TIFF (1 for every other image); too many is an error, as for PDFs."""
    from PIL import Image

    try:
        with _open_image(data) as img:
            count = int(getattr(img, "n_frames", 1) or 1)
    except Image.DecompressionBombError as exc:
        raise DocumentError(path, f"the image is too large to decode safely ({exc})", kind="too_large") from None
    except Exception:  # decoding reports the precise problem just after
        return 1
    if count > max_pages:
        raise DocumentError(
            path, f"the image has {count} pages; a receipt or invoice has at most {max_pages}", kind="too_long"
        )
    return count


def _too_large(path: Path, size: tuple[int, int], max_pixels: int) -> DocumentError:
    width, height = size
    return DocumentError(
        path,
        f"the image is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); at most "
        f"{max_pixels / 1e6:g} megapixels are decoded (scan at a lower resolution, or send a PDF)",
        kind="too_large",
    )


def _draft_to_fit(img: Any, max_side: int, max_pixels: int) -> None:
    """Ask a JPEG to decode at 1/2, 1/4 or 1/8 size: half when it is far above ``max_side``, smaller
    while it would still exceed ``max_pixels`` (decoding at the smaller size never holds the full one)."""
    width, height = img.size
    factor = 2 if max(width, height) > 2 * max_side else 1
    while factor < 8 and (width // factor) * (height // factor) > max_pixels:
        factor *= 2
    if factor > 1:
        img.draft("RGB", (width // factor, height // factor))


def _decode_image(
    path: Path, data: bytes, *, max_side: int, frame: int = 0, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _open_image(data) as img:  # reads the header only: the size is known, nothing decoded
            if frame:
                img.seek(frame)
            if img.format == "JPEG" and (max(img.size) > 2 * max_side or img.size[0] * img.size[1] > max_pixels):
                _draft_to_fit(img, max_side, max_pixels)
            if img.size[0] * img.size[1] > max_pixels:  # after draft: what would really be decoded
                raise _too_large(path, img.size, max_pixels)
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode not in ("RGB", "L"):
                background = Image.new("RGB", img.size, "white")
                rgba = img.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                img = background
            img = img.convert("RGB")
            if max(img.size) > max_side:
                scale = max_side / max(img.size)
                img = img.resize(
                    (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))), Image.LANCZOS
                )
            rgb = np.asarray(img)
    except DocumentError:
        raise
    except UnidentifiedImageError:
        raise DocumentError(
            path, f"not a readable image (expected one of {', '.join(SUFFIXES)})", kind="corrupt"
        ) from None
    except Image.DecompressionBombError as exc:
        raise DocumentError(path, f"the image is too large to decode safely ({exc})", kind="too_large") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DocumentError(path, f"the image is corrupt or truncated ({exc})", kind="corrupt") from None
    if min(rgb.shape[:2]) < 16:
        raise DocumentError(path, f"the image is too small ({rgb.shape[1]}x{rgb.shape[0]} px)", kind="corrupt")
    return rgb[:, :, ::-1].copy()  # BGR, as OpenCV and the engines expect


def _pdf_pages(path: Path, data: bytes, *, max_pages: int, max_side: int) -> Iterator[Page]:
    import numpy as np
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise DocumentError(
                path, "the PDF is password-protected; ask for an unprotected copy", kind="encrypted"
            ) from None
        raise DocumentError(path, f"not a readable PDF ({exc})", kind="corrupt") from None
    try:
        count = len(pdf)
        if count == 0:
            raise DocumentError(path, "the PDF has no pages", kind="corrupt")
        if count > max_pages:
            raise DocumentError(
                path,
                f"the PDF has {count} pages; a receipt or invoice has at most {max_pages} "
                "(split it, or raise max_pages)",
                kind="too_long",
            )
        for index in range(count):
            page = pdf[index]
            width_pt, height_pt = page.get_size()
            scale = min(PDF_DPI / 72, max_side / max(width_pt, height_pt, 1))
            bitmap = page.render(scale=scale)
            rgb = np.asarray(bitmap.to_pil().convert("RGB"))
            lines = _pdf_text_lines(page, scale, height_pt, index)
            yield Page(image=rgb[:, :, ::-1].copy(), index=index, text_lines=lines or None, meta={"pdf_scale": scale})
            page.close()
    finally:
        pdf.close()


def _pdf_text_lines(page: Any, scale: float, height_pt: float, index: int) -> list[Line]:
    """Text runs of the PDF's text layer as lines in rendered-pixel coordinates (top-left origin)."""
    textpage = page.get_textpage()
    try:
        lines = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                box = (left * scale, (height_pt - top) * scale, right * scale, (height_pt - bottom) * scale)
                lines.append(Line(" ".join(text.split()), box, 1.0, index))
        if sum(len(ln.text) for ln in lines) < 10:
            return []
        if _glyph_level(lines):
            lines = merge_glyphs(_pdf_chars(textpage, scale, height_pt, index))
        return sort_lines(lines)
    finally:
        textpage.close()


def _glyph_level(lines: list[Line]) -> bool:
    import statistics

    return len(lines) >= 20 and statistics.median(len(ln.text) for ln in lines) <= 1.5


def _pdf_chars(textpage: Any, scale: float, height_pt: float, index: int) -> list[Line]:
    """Every character of a text layer with its own box (a rect may hold a glyph of its neighbour)."""
    chars = []
    for i in range(textpage.count_chars()):
        text = textpage.get_text_range(i, 1).strip()
        if not text:
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        box = (left * scale, (height_pt - top) * scale, right * scale, (height_pt - bottom) * scale)
        chars.append(Line(text, box, 1.0, index))
    return chars


def merge_glyphs(lines: list[Line]) -> list[Line]:
    """Words out of a text layer that places every glyph on its own (converters such as easyofd
    draw an OFD's text one character at a time, in no particular order): glyphs on one baseline
    closer than 0.6 of their height join. A layer of words and phrases is returned unchanged."""
    import statistics

    if not _glyph_level(lines):
        return lines
    height = statistics.median(max(ln.height, 1.0) for ln in lines)
    rows: list[list[Line]] = []

    def fits(row: list[Line], glyph: Line) -> bool:
        # same baseline band: a full-height glyph's centre near the row's, or a small one (a
        # decimal point, a comma) lying inside the row's height
        anchor = row[0]
        if anchor.page != glyph.page:
            return False
        top, bottom = min(ln.y0 for ln in row), max(ln.y1 for ln in row)
        overlap = min(bottom, glyph.y1) - max(top, glyph.y0)
        small = glyph.height < 0.5 * anchor.height
        return abs(anchor.cy - glyph.cy) <= height * 0.5 or (small and overlap >= 0.6 * max(glyph.height, 1.0))

    for line in sorted(lines, key=lambda ln: (ln.page, ln.cy)):
        row = next((r for r in reversed(rows[-3:]) if fits(r, line)), None)
        if row is not None:
            row.append(line)
        else:
            rows.append([line])
    merged: list[Line] = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        current = row[0]
        last = row[0]
        for glyph in row[1:]:
            if glyph.text == last.text and abs(glyph.x0 - last.x0) < max(last.x1 - last.x0, 1.0) * 0.5:
                continue  # the same glyph drawn twice (bold by overprinting)
            last = glyph
            if glyph.x0 - current.x1 <= max(current.height, glyph.height) * 0.6:
                box = (current.x0, min(current.y0, glyph.y0), max(current.x1, glyph.x1), max(current.y1, glyph.y1))
                current = Line(current.text + glyph.text, box, min(current.confidence, glyph.confidence), current.page)
            else:
                merged.append(current)
                current = glyph
        merged.append(current)
    return merged


def deskew(image: np.ndarray, *, max_angle: float = 15.0, min_angle: float = 0.5) -> tuple[np.ndarray, float]:
    """Straighten a page tilted by a few degrees; returns (image, angle removed in degrees).

    Text rows are long dark runs: after thresholding and a wide horizontal dilation each row is a
    blob whose min-area rectangle gives its tilt; the median over the rows is robust to pictures
    and stamps. Angles under ``min_angle`` are left alone (rotation blurs), over ``max_angle`` are
    not skew but a turned page, handled elsewhere.
    """
    import cv2
    import numpy as np

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = gray.shape
    factor = 1000 / max(h, w) if max(h, w) > 1000 else 1.0
    small = cv2.resize(gray, (round(w * factor), round(h * factor))) if factor < 1 else gray
    _, binary = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    blobs = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_RECT, (25, 3)))
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles, weights = [], []
    for contour in contours:
        (_, _), (cw, ch), angle = cv2.minAreaRect(contour)
        if cw < ch:
            cw, ch = ch, cw
            angle -= 90
        if cw < 60 or cw < 4 * ch:
            continue
        while angle > 45:
            angle -= 90
        while angle < -45:
            angle += 90
        angles.append(angle)
        weights.append(cw)
    if len(angles) < 3:
        return image, 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    median = float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    if abs(median) < min_angle or abs(median) > max_angle:
        return image, 0.0
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), median, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    fill = (255, 255, 255) if image.ndim == 3 else 255
    rotated = cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=fill)
    return rotated, median


def _rotate(image: np.ndarray, degrees: int) -> np.ndarray:
    import cv2

    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(image, codes[degrees]) if degrees in codes else image


def _mostly_vertical(lines: list[Line]) -> bool:
    long = [ln for ln in lines if len(ln.text) >= 3]
    if len(long) < 3:
        return False
    tall = sum(1 for ln in long if (ln.y1 - ln.y0) > 1.5 * (ln.x1 - ln.x0))
    return tall > 0.6 * len(long)


def _quality(lines: list[Line]) -> float:
    return sum(ln.confidence * len(ln.text) for ln in lines)


def read_page(page: Page, engine: Engine) -> list[Line]:
    """OCR one page, turning it upright first if needed; returns lines in the upright page's frame.

    A text layer wins over OCR. A page whose text boxes are mostly taller than wide is turned 90
    degrees both ways and the better reading kept. An upside-down page is caught by the engine's
    own angle classifier when it has one (``upside_down``) and read again the right way up.
    """
    if page.text_lines:
        return page.text_lines
    lines = engine.read(page.image)
    if _mostly_vertical(lines):
        best = (lines, 0, page.image)
        for degrees in (90, 270):
            turned = _rotate(page.image, degrees)
            attempt = engine.read(turned)
            if _quality(attempt) > _quality(best[0]):
                best = (attempt, degrees, turned)
        lines, page.rotation, page.image = best
    checker = getattr(engine, "upside_down", None)
    if lines and checker is not None and checker(page.image, lines):
        page.image = _rotate(page.image, 180)
        page.rotation = (page.rotation + 180) % 360
        lines = engine.read(page.image)
    return [Line(ln.text, ln.box, ln.confidence, page.index) for ln in lines]


def angle_of(lines: list[Line]) -> float:
    """Mean slope of long lines in degrees (diagnostics)."""
    slopes = [math.degrees(math.atan2(ln.y1 - ln.y0, ln.x1 - ln.x0)) for ln in lines if len(ln.text) > 5]
    return sum(slopes) / len(slopes) if slopes else 0.0

"""Loading documents: formats, EXIF turns, huge photos, deskew, text-layer PDFs, and the bad inputs
(corrupt image, zero-byte file, password-protected PDF, 100-page PDF) with clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backroom.ocr.documents import DocumentError, deskew, load_pages, read_page
from backroom.ocr.engines import EngineUnavailable, PaddleEngine, get_engine
from tests.fixtures.expenses import (
    write_corrupt_image,
    write_encrypted_pdf,
    write_long_pdf,
    write_text_pdf,
)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(DocumentError, match=r"empty\.jpg: the file is empty \(0 bytes\)") as info:
        load_pages(path)
    assert info.value.kind == "empty"


def test_corrupt_image(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"corrupt|not a readable image") as info:
        load_pages(write_corrupt_image(tmp_path / "broken.jpg"))
    assert info.value.kind == "corrupt"


def test_password_protected_pdf(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="password-protected") as info:
        load_pages(write_encrypted_pdf(tmp_path / "locked.pdf"))
    assert info.value.kind == "encrypted"


def test_hundred_page_pdf_is_refused_before_rendering(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="has 100 pages; a receipt or invoice has at most 20") as info:
        load_pages(write_long_pdf(tmp_path / "long.pdf", 100))
    assert info.value.kind == "too_long"
    assert len(load_pages(tmp_path / "long.pdf", max_pages=100, max_side=200)) == 100


def test_text_layer_pdf_is_read_without_ocr(tmp_path: Path) -> None:
    path = write_text_pdf(tmp_path / "e-receipt.pdf", ["ACME TRADING SDN BHD", "Date: 05/03/2018", "TOTAL 8.20"])
    (page,) = load_pages(path)
    assert [ln.text for ln in page.text_lines or []] == ["ACME TRADING SDN BHD", "Date: 05/03/2018", "TOTAL 8.20"]
    assert page.text_lines[0].y0 < page.text_lines[2].y0  # top-left origin, reading order
    assert page.image.shape[2] == 3

    class Refuses:
        name = "refuses"

        def read(self, image: np.ndarray) -> list:
            raise AssertionError("a text-layer page must not be OCRed")

    assert read_page(page, Refuses())[2].text == "TOTAL 8.20"


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP", "WEBP"])
def test_image_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"doc.{fmt.lower()}"
    Image.new("RGB", (300, 200), "white").save(path, format=fmt)
    (page,) = load_pages(path)
    assert page.image.shape == (200, 300, 3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (400, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways: rotate 90° clockwise to view
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif.tobytes())
    (page,) = load_pages(path)
    assert page.image.shape[:2] == (400, 200)


def test_huge_photo_is_scaled(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 6000), (240, 240, 240)).save(buffer, format="JPEG", quality=60)
    path.write_bytes(buffer.getvalue())
    (page,) = load_pages(path, max_side=2500)
    assert max(page.image.shape[:2]) == 2500


def test_deskew_straightens_a_tilted_page() -> None:
    from backroom.sandbox.documents import Distortion, make_receipt

    image, _ = make_receipt(4, distortion=Distortion(tilt=4.0))
    bgr = np.asarray(image)[:, :, ::-1].copy()
    _, angle = deskew(bgr)
    assert abs(abs(angle) - 4.0) < 0.8
    straight, _ = make_receipt(4, distortion=Distortion())
    assert deskew(np.asarray(straight)[:, :, ::-1].copy())[1] == 0.0


def test_paddle_engine_names_the_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "det"
    with pytest.raises(EngineUnavailable) as info:
        PaddleEngine(det_model_dir=missing, rec_model_dir=tmp_path)
    message = str(info.value)
    assert str(missing) in message and "det_model_dir" in message
    assert "paddleocr ocr" in message and "[ocr.paddle]" in message
    with pytest.raises(EngineUnavailable, match="needs det_model_dir set"):
        PaddleEngine()


def test_paddle_engine_with_models_present_but_no_package(tmp_path: Path) -> None:
    for name in ("det", "rec"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "inference.pdmodel").write_bytes(b"\0")
    with pytest.raises(EngineUnavailable, match="paddleocr and paddlepaddle packages"):
        get_engine("paddle", det_model_dir=str(tmp_path / "det"), rec_model_dir=str(tmp_path / "rec"))


def test_unknown_engine() -> None:
    with pytest.raises(EngineUnavailable, match="unknown OCR engine 'easy'"):
        get_engine("easy")


def test_multi_page_tiff(tmp_path: Path) -> None:
    path = tmp_path / "scan.tiff"
    first, second = Image.new("RGB", (300, 200), "white"), Image.new("RGB", (200, 300), "white")
    first.save(path, save_all=True, append_images=[second])
    pages = load_pages(path)
    assert [p.index for p in pages] == [0, 1]
    assert pages[1].image.shape[:2] == (300, 200)
    with pytest.raises(DocumentError, match="has 2 pages"):
        load_pages(path, max_pages=1)

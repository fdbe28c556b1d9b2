"""Finding 5 of issue 13: a 13300×13300 PNG (177 megapixels, under Pillow's own bomb limit) took 2.18 GB
in ``backroom ocr``. An image announcing more than ``MAX_PIXELS`` is now refused from its header, before
anything is decoded, with an error naming the file and its size; a large JPEG is decoded scaled down."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from backroom.ocr.documents import MAX_PIXELS, iter_pages
from backroom.ocr.errors import DocumentError

SIDE = 13_300


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_bomb_png(path: Path, side: int = SIDE) -> Path:
    """A valid ``side``×``side`` one-bit PNG of zeros, compressed row by row (a few dozen kB on disk)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_bomb_png(tmp_path_factory.mktemp("bomb") / "scan-13300.png")
    assert path.stat().st_size < 1_000_000
    return path


def test_the_bomb_is_under_pillows_own_limit_but_over_ours(bomb: Path) -> None:
    from PIL import Image

    with pytest.warns(Image.DecompressionBombWarning), Image.open(bomb) as img:  # Pillow alone only warns
        assert img.size == (SIDE, SIDE)
        assert SIDE * SIDE < 2 * Image.MAX_IMAGE_PIXELS and SIDE * SIDE > MAX_PIXELS


def test_a_huge_image_is_refused_from_its_header_without_decoding(bomb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    def no_decoding(self: Any) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(DocumentError) as caught:
        next(iter_pages(bomb))
    assert caught.value.kind == "too_large"
    assert "scan-13300.png" in str(caught.value)
    assert (
        "13300×13300 pixels (176.9 megapixels)" in caught.value.reason
        and "at most 40 megapixels" in caught.value.reason
    )


def test_the_document_result_carries_the_error_and_the_batch_goes_on(bomb: Path) -> None:
    from backroom.ocr.pipeline import read_document

    class NoEngine:
        def read(self, image: Any) -> list[Any]:
            raise AssertionError("nothing reaches the engine")

    result = read_document(bomb, NoEngine())  # type: ignore[arg-type]
    assert result.extraction is None and result.error_kind == "too_large"
    assert "13300×13300" in (result.error or "")


def test_refusing_the_bomb_keeps_memory_small(bomb: Path) -> None:
    """In a fresh process, whose peak resident memory (VmHWM, reset by exec unlike ru_maxrss) is its own:
    well under what decoding alone would take (the unguarded decode peaked at 2.4 GB)."""
    script = (
        "import re, sys\n"
        "from backroom.ocr.documents import iter_pages\n"
        "from backroom.ocr.errors import DocumentError\n"
        "try:\n"
        "    next(iter_pages(sys.argv[1]))\n"
        "except DocumentError as exc:\n"
        "    status = open('/proc/self/status').read()\n"
        "    print(exc.kind, re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(bomb)], capture_output=True, text=True, timeout=120)
    kind, peak_kb = done.stdout.split()
    assert kind == "too_large", done.stderr
    assert int(peak_kb) < 150_000, f"peak {int(peak_kb) // 1024} MB"


def test_a_large_jpeg_is_decoded_scaled_down_but_a_png_of_the_same_size_is_refused(tmp_path: Path) -> None:
    from PIL import Image

    image = Image.new("RGB", (1600, 1200), "white")
    jpeg, png = tmp_path / "photo.jpg", tmp_path / "scan.png"
    image.save(jpeg, quality=80)
    image.save(png)
    (page,) = list(iter_pages(jpeg, max_pixels=1_000_000, do_deskew=False))
    assert page.image.shape[0] * page.image.shape[1] <= 1_000_000  # drafted at 1/2: 800×600
    with pytest.raises(DocumentError, match=r"1600×1200 pixels \(1.9 megapixels\); at most 1 megapixels"):
        list(iter_pages(png, max_pixels=1_000_000))


def test_pillows_own_bomb_error_is_a_document_error(tmp_path: Path) -> None:
    """Beyond twice Pillow's limit, Pillow raises before we can look: that too names the file."""
    from PIL import Image

    big = write_bomb_png(tmp_path / "giant.png", side=20_000)  # 400 MP > 2 × 89 MP
    assert 2 * Image.MAX_IMAGE_PIXELS < 20_000 * 20_000
    with pytest.raises(DocumentError, match=r"giant\.png") as caught:
        next(iter_pages(big))
    assert caught.value.kind == "too_large"

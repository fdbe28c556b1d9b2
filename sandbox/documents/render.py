"""Drawing and photographing documents: the CJK font, the camera's faults, saving with the truth beside."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "CENT",
    "FONT_CANDIDATES",
    "Distortion",
    "cjk_font",
    "faker_for",
    "find_font",
    "photograph",
    "save_with_truth",
]

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
)
CENT = Decimal("0.01")


def find_font() -> tuple[str, int]:
    """A font file with CJK glyphs (path, face index); a clear error says which package to install."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise FileNotFoundError(
        "no CJK font found; install Debian's fonts-wqy-microhei or fonts-noto-cjk "
        f"(looked for {', '.join(p for p, _ in FONT_CANDIDATES)})"
    )


def cjk_font(size: int) -> Any:
    """The CJK font at ``size`` px."""
    from PIL import ImageFont

    path, index = find_font()
    return ImageFont.truetype(path, size, index=index)


@dataclass(frozen=True)
class Distortion:
    """How badly the document is photographed."""

    tilt: float = 0.0  # degrees, counter-clockwise
    upside_down: bool = False
    blur: float = 0.0  # Gaussian radius in px
    noise: float = 0.0  # std-dev of pixel noise
    jpeg_quality: int = 90
    scale: float = 1.0  # resolution of the photo relative to the drawn page (1600 px wide fapiao)

    @classmethod
    def random(cls, rng: random.Random, *, strength: float = 1.0, upside_down: bool = False) -> Distortion:
        return cls(
            tilt=round(rng.uniform(-2.5, 2.5) * strength, 2),
            upside_down=upside_down,
            blur=round(rng.uniform(0.0, 0.9) * strength, 2),
            noise=round(rng.uniform(0, 6) * strength, 1),
            jpeg_quality=int(90 - 35 * strength * rng.random()),
        )

    def scaled(self, scale: float) -> Distortion:
        return Distortion(self.tilt, self.upside_down, self.blur, self.noise, self.jpeg_quality, scale)


def photograph(image: Any, distortion: Distortion, rng: random.Random) -> Any:
    """The drawn page as a phone would photograph it: scaled, tilted, turned, blurred, noisy."""
    import numpy as np
    from PIL import Image, ImageFilter

    if distortion.scale != 1.0:
        size = (round(image.width * distortion.scale), round(image.height * distortion.scale))
        image = image.resize(size, Image.LANCZOS)
    if distortion.tilt:
        image = image.rotate(distortion.tilt, resample=Image.BICUBIC, expand=True, fillcolor=(250, 250, 247))
    if distortion.upside_down:
        image = image.rotate(180, expand=True)
    if distortion.blur:
        image = image.filter(ImageFilter.GaussianBlur(distortion.blur))
    if distortion.noise:
        array = np.asarray(image).astype(np.int16)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, distortion.noise, array.shape)
        image = Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8))
    return image


def faker_for(seed: int) -> Any:
    """A zh_CN Faker seeded for one document (names, companies, addresses)."""
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake


def save_with_truth(image: Any, truth: dict[str, Any], path: Path) -> Path:
    """Write ``image`` to ``path`` (at the photo's JPEG quality) and its truth as ``path.json``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    quality = int(truth.get("distortion", {}).get("jpeg_quality", 90))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    path.with_suffix(".json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return path

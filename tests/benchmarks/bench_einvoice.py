"""E-invoice field accuracy on the real public samples, against the previous code in the same run.

    .venv/bin/python -m tests.benchmarks.bench_einvoice [--baseline REF]

Reads every file in ../shared/data/einvoices (OFD and PDF 数电票 / 税控 e-invoices) with the current
pipeline and with the pipeline at git ``--baseline`` (default: the commit this work started from,
run from a ``git archive`` of it in a child process), and scores the fields of the data's README
ground truth: code, number, date, seller and buyer names and taxpayer IDs, amount, tax, total and
the 大写 total. A file the code cannot read scores 0 on every field. Output: one JSON object with
per-format and per-field accuracy for both, and seconds per document.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EINVOICES = ROOT.parent / "shared" / "data" / "einvoices"
DEFAULT_BASELINE = "3fc6b5e"
NAMES = (
    "code", "number", "date", "seller_name", "seller_tax_id", "buyer_name", "buyer_tax_id", "amount", "tax",
    "total", "total_capitals",
)  # fmt: skip
_SELLER_07 = ("独山县城南网格刘梦阳通讯店", "92522726MA7GNHJ07M")
_BUYER_07 = ("中国移动通信集团贵州有限公司黔南分公司", "91522701709696623X")
TRUTH: dict[str, tuple[Any, ...]] = {
    "ofd/ofd_01.ofd": ("", "24112000000048542163", "2024-05-28", "北京互联三六五科技有限公司", "91110108690017781B",
                       "海南麒麟云服科技有限公司", "91460300MAA92DJN95", "4197.17", "251.83", "4449.00", "4449.00"),
    "ofd/ofd_03.ofd": ("033002000211", "83089647", "2020-07-23", "兰溪市悦济舫餐厅", "92330781MA2EDMFU50",
                       "江苏京利华新材料有限公司", "91320115MA202UKD7X", "510.68", "15.32", "526.00", "526.00"),
    "ofd/ofd_05.ofd": ("050001700111", "12235358", "2020-08-05", "财天下科技有限公司", "91500102563638729E",
                       "个人", None, "10000.00", "600.00", "10600.00", "10600.00"),
    "ofd/ofd_07.ofd": ("052002100113", "00008006", "2022-05-05", *_SELLER_07, *_BUYER_07,
                       "24519.05", "735.57", "25254.62", "25254.62"),
    "pdf/pdf_01.pdf": ("", "25322000000337005189", "2025-07-22", "梁溪苏翼智能产品中心", "92320213MACRYAKN16",
                       "无锡天鹏菜篮子工程有限公司", "91320200796148368W", "8562.72", "256.88", "8819.60", "8819.60"),
    "pdf/pdf_04.pdf": ("052002100113", "00008006", "2022-05-05", *_SELLER_07, *_BUYER_07,
                       "24519.05", "735.57", "25254.62", "25254.62"),
}  # fmt: skip

_CHILD = """
import json, sys, time
from pathlib import Path
from backroom.ocr.pipeline import read_document
from backroom.ocr.fields import jsonable
out = {}
for name in sys.argv[2:]:
    started = time.perf_counter()
    result = read_document(Path(sys.argv[1]) / name, "rapid")
    fields = {k: jsonable(f.value) for k, f in result.extraction.fields.items()} if result.extraction else {}
    out[name] = {"fields": fields, "error": result.error, "seconds": time.perf_counter() - started}
print(json.dumps(out, ensure_ascii=False))
"""


def _read(pythonpath: Path | None) -> dict[str, Any]:
    env = None
    if pythonpath is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(EINVOICES), *TRUTH],
        capture_output=True, text=True, check=True, env=env, cwd=pythonpath or ROOT,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline_tree(ref: str) -> Path:
    """``ref``'s tree as an importable ``backroom`` package (the repository root is the package)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True)
    folder = Path(tempfile.mkdtemp(prefix="einvoice-baseline-"))
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder / "backroom", filter="data")
    return folder


def _score(read: dict[str, Any]) -> dict[str, Any]:
    per_field = dict.fromkeys(NAMES, 0)
    per_format: dict[str, list[int]] = {}
    for name, truth in TRUTH.items():
        fields = read[name]["fields"]
        fmt = name.split("/")[0]
        hits = 0
        for field, want in zip(NAMES, truth, strict=True):
            got = fields.get(field)
            ok = (got in (None, "")) if want in (None, "") else got == want
            per_field[field] += ok
            hits += ok
        per_format.setdefault(fmt, [0, 0])
        per_format[fmt][0] += hits
        per_format[fmt][1] += len(NAMES)
    total = sum(h for h, _ in per_format.values()) / sum(n for _, n in per_format.values())
    return {
        "fields_right": round(total, 3),
        "by_format": {fmt: round(h / n, 3) for fmt, (h, n) in per_format.items()},
        "by_field": {f: f"{v}/{len(TRUTH)}" for f, v in per_field.items()},
        "unreadable": sorted(n for n, r in read.items() if r["error"]),
        "seconds_per_document": round(sum(r["seconds"] for r in read.values()) / len(read), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    args = parser.parse_args(argv)
    if not EINVOICES.is_dir():
        print(json.dumps({"skipped": f"shared e-invoices not found at {EINVOICES}"}))
        return 0
    started = time.perf_counter()
    current = _score(_read(None))
    baseline = _score(_read(_baseline_tree(args.baseline)))
    report = {
        "documents": len(TRUTH),
        "current": current,
        "baseline": {"ref": args.baseline, **baseline},
        "gain_fields_right": round(current["fields_right"] - baseline["fields_right"], 3),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

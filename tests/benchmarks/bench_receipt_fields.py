"""Receipt field accuracy on a development half and a held-out half, against the previous rules.

    .venv/bin/python -m tests.benchmarks.bench_receipt_fields [--cache DIR] [--baseline REF]

The shared receipts (../shared/data/receipts) are split once, by a hash of each receipt's number,
into a ``dev`` half (the only receipts whose misses may be looked at while changing the rules)
and a ``held_out`` half (scored, never studied). Each receipt is OCR'd once (rapid engine, the
product's settings; ``--cache`` keeps the lines between runs), then both the current
:func:`ocr.receipts.extract_receipt` and the one at git ``--baseline`` (default: the commit this
branch started from) read the same lines, so the two columns differ only by the rules.

Scoring follows the data's README: company and address compared with white space collapsed and
case ignored (``*_squashed`` removes white space entirely), dates as dates, totals as amounts.
Output: one JSON object with per-half accuracy for both rule sets and the gain.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECEIPTS = ROOT.parent / "shared" / "data" / "receipts"
FIELDS = ("total", "date", "company", "address")
#: The commit this work started from: the "previous code" every figure is compared with.
DEFAULT_BASELINE = "3fc6b5e"


def half_of(stem: str) -> str:
    """``dev`` or ``held_out``, fixed by the receipt's number (not by its content or order)."""
    return "dev" if hashlib.sha256(stem.encode()).digest()[0] % 2 == 0 else "held_out"


def _lines(image: Path, cache: Path | None, engine: Any) -> list[Any]:
    """The receipt's OCR lines (from ``cache`` when it holds them; the engine is loaded on first use)."""
    from backroom.ocr.documents import iter_pages, read_page
    from backroom.ocr.engines import Line

    cached = cache / f"{image.stem}.json" if cache else None
    if cached and cached.is_file():
        return [Line(d["text"], tuple(d["box"]), d["confidence"], d["page"]) for d in json.loads(cached.read_text())]
    lines = [ln for page in iter_pages(image) for ln in read_page(page, engine())]
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        data = [{"text": ln.text, "box": list(ln.box), "confidence": ln.confidence, "page": ln.page} for ln in lines]
        cached.write_text(json.dumps(data, ensure_ascii=False))
    return lines


def _baseline_extractor(ref: str) -> Any:
    """``extract_receipt`` as it was at ``ref`` (its module loaded beside the current helpers)."""
    source = subprocess.run(
        ["git", "show", f"{ref}:ocr/receipts.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="receipts-baseline-"))
    path = folder / "receipts_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("receipts_baseline", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["receipts_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.extract_receipt


def _collapse(text: Any) -> str:
    return " ".join(str(text or "").split()).upper()


def _squash(text: Any) -> str:
    return "".join(str(text or "").split()).upper()


def score(fields: dict[str, Any], key: dict[str, str]) -> dict[str, bool]:
    from backroom.ocr.normalise import parse_amount, parse_date

    want_total = parse_amount(key["total"].replace("$", ""))
    got_total = fields.get("total")
    want_date = parse_date(key["date"])
    return {
        "total": got_total is not None and want_total is not None and Decimal(got_total) == want_total,
        "date": want_date is not None and fields.get("date") == want_date,
        "company": _collapse(fields.get("company")) == _collapse(key["company"]),
        "address": _collapse(fields.get("address")) == _collapse(key["address"]),
        "company_squashed": _squash(fields.get("company")) == _squash(key["company"]),
        "address_squashed": _squash(fields.get("address")) == _squash(key["address"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="folder keeping each receipt's OCR lines between runs")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of the previous rules")
    parser.add_argument("--misses", choices=("dev",), help="list the dev half's misses (never the held-out's)")
    args = parser.parse_args(argv)
    if not (RECEIPTS / "img").is_dir():
        print(json.dumps({"skipped": f"shared receipts not found at {RECEIPTS}"}))
        return 0
    from backroom.ocr.engines import get_engine
    from backroom.ocr.receipts import extract_receipt

    baseline = _baseline_extractor(args.baseline)
    from functools import cache

    engine = cache(lambda: get_engine("rapid"))
    started = time.perf_counter()
    totals: dict[str, dict[str, dict[str, int]]] = {}
    counts = {"dev": 0, "held_out": 0}
    misses = []
    for image in sorted((RECEIPTS / "img").glob("*.jpg")):
        half = half_of(image.stem)
        counts[half] += 1
        key = json.loads((RECEIPTS / "key" / f"{image.stem}.json").read_text())
        lines = _lines(image, args.cache, engine)
        for name, extract in (("current", extract_receipt), ("baseline", baseline)):
            fields = {n: f.value for n, f in extract(lines).fields.items()}
            hits = score(fields, key)
            bucket = totals.setdefault(name, {}).setdefault(half, {})
            for field, ok in hits.items():
                bucket[field] = bucket.get(field, 0) + int(ok)
            if name == "current" and half == "dev" and args.misses:
                for field in FIELDS:
                    if not hits[field]:
                        misses.append(
                            {"receipt": image.stem, "field": field, "want": key[field], "got": str(fields.get(field))}
                        )
    report: dict[str, Any] = {"receipts": counts, "baseline_ref": args.baseline}
    for name, halves in totals.items():
        report[name] = {half: {f: round(v / counts[half], 3) for f, v in hits.items()} for half, hits in halves.items()}
    report["gain_held_out"] = {
        f: round(report["current"]["held_out"][f] - report["baseline"]["held_out"][f], 3)
        for f in report["current"]["held_out"]
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.misses:
        report["dev_misses"] = misses
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

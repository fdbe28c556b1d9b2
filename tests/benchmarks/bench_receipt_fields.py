"""Receipt field accuracy, cross-validated: 5 folds over the shared receipts, and the old two halves.

    .venv/bin/python -m tests.benchmarks.bench_receipt_fields [--cache DIR] [--baseline REF]

Each receipt of ../shared/data/receipts is OCR'd once (rapid engine, the product's settings;
``--cache`` keeps the lines between runs), then read by the current rules under every combination
of the switchable rules (:data:`ocr.receipts.RULES`) and by the rules at git ``--baseline``, so
columns differ only by the rules.

``kfold`` (receipts put in 5 folds by a hash of their number): per field, accuracy on each fold
as mean ± sd, for the previous code, the current code without and with its default switchable
rules; per switchable rule, its gain fold by fold (the default rules with it against without
it): a rule is on by default only where that gain is positive on the mean; and the honest
figure for choosing rules from data: for each fold, the rule set scoring best on the other four
folds, scored on that fold.

``current``/``baseline``: the older split into a ``dev`` half (the only receipts whose misses were
ever read while writing rules) and a ``held_out`` half (never read), kept for comparison.

Scoring follows the data's README: company and address compared with white space collapsed and
case ignored (``*_squashed`` removes white space entirely), dates as dates, totals as amounts.
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
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECEIPTS = ROOT.parent / "shared" / "data" / "receipts"
FIELDS = ("total", "date", "company", "address")
#: Cross-validation folds over the shared receipts.
FOLDS = 5
#: The commit this round started from (main after the first merge of issue 18): the "previous code"
#: every figure is compared with (3fc6b5e for the code before issue 18).
DEFAULT_BASELINE = "2c2d11c"


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


def fold_of(stem: str, k: int = FOLDS) -> int:
    """The cross-validation fold of a receipt, fixed by its number (not by its content or order)."""
    return hashlib.sha256(f"fold:{stem}".encode()).digest()[0] % k


def _mean_sd(values: list[float]) -> dict[str, float]:
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5
    return {"mean": round(mean, 3), "sd": round(sd, 3)}


def _fold_scores(hits: dict[str, dict[str, bool]], stems_by_fold: list[list[str]]) -> dict[str, list[float]]:
    """Per field, the accuracy on each fold."""
    return {
        field: [sum(hits[s][field] for s in stems) / len(stems) for stems in stems_by_fold]
        for field in next(iter(hits.values()))
    }


def _kfold(
    results: Callable[[frozenset[str]], dict[str, dict[str, bool]]],
    baseline: dict[str, dict[str, bool]],
    stems_by_fold: list[list[str]],
    all_rules: frozenset[str],
    default_rules: frozenset[str],
) -> dict[str, Any]:
    """The k-fold table: each rule set's accuracy per held-out fold (mean ± sd); each switchable
    rule's gain (the default rules with it against without it, fold by fold); and the rules as they would be
    chosen by cross-validation: for each fold, the switchable rules picked on the other folds
    (greedy forward selection: add the rule that raises their score most, while one does), scored
    on that fold. ``results`` gives every receipt's hits under a rule set."""

    def table(hits: dict[str, dict[str, bool]]) -> dict[str, dict[str, float]]:
        return {f: _mean_sd(v) for f, v in _fold_scores(hits, stems_by_fold).items()}

    def total(hits: dict[str, dict[str, bool]], stems: list[str]) -> int:
        return sum(sum(hits[s].values()) for s in stems)  # collapsed and squashed both count

    out: dict[str, Any] = {
        "folds": [len(f) for f in stems_by_fold],
        "previous_code": table(baseline),
        "no_switchable_rules": table(results(frozenset())),
        "default_rules": table(results(default_rules)),
        "all_switchable_rules": table(results(all_rules)),
        "default": sorted(default_rules),
    }
    gains = {}
    for rule in sorted(all_rules):
        full = _fold_scores(results(default_rules | {rule}), stems_by_fold)
        without = _fold_scores(results(default_rules - {rule}), stems_by_fold)
        gains[rule] = {f: _mean_sd([a - b for a, b in zip(full[f], without[f], strict=True)]) for f in full}
    out["rule_gain_per_fold"] = gains
    chosen_hits: dict[str, dict[str, bool]] = {}
    chosen = []
    for k, held in enumerate(stems_by_fold):
        train = [s for j, stems in enumerate(stems_by_fold) if j != k for s in stems]
        best: frozenset[str] = frozenset()
        while True:
            options = [best | {rule} for rule in sorted(all_rules - best)]
            top = max(options, key=lambda rules: total(results(rules), train), default=None)
            if top is None or total(results(top), train) <= total(results(best), train):
                break
            best = top
        chosen.append(sorted(best))
        chosen_hits.update({s: results(best)[s] for s in held})
    out["rules_chosen_on_training_folds"] = {"per_fold": chosen, "held_out": table(chosen_hits)}
    return out


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
    from backroom.ocr.receipts import DEFAULT_RULES, RULES, extract_receipt

    baseline = _baseline_extractor(args.baseline)
    engine = cache(lambda: get_engine("rapid"))
    started = time.perf_counter()
    totals: dict[str, dict[str, dict[str, int]]] = {}
    counts = {"dev": 0, "held_out": 0}
    misses = []
    read: dict[str, tuple[list[Any], dict[str, str]]] = {}

    @cache
    def by_rules(rules: frozenset[str]) -> dict[str, dict[str, bool]]:
        return {
            stem: score({n: f.value for n, f in extract_receipt(lines, rules=rules).fields.items()}, key)
            for stem, (lines, key) in read.items()
        }

    by_baseline: dict[str, dict[str, bool]] = {}
    stems_by_fold: list[list[str]] = [[] for _ in range(FOLDS)]
    for image in sorted((RECEIPTS / "img").glob("*.jpg")):
        half = half_of(image.stem)
        counts[half] += 1
        stems_by_fold[fold_of(image.stem)].append(image.stem)
        key = json.loads((RECEIPTS / "key" / f"{image.stem}.json").read_text())
        lines = _lines(image, args.cache, engine)
        read[image.stem] = (lines, key)
        current = score({n: f.value for n, f in extract_receipt(lines).fields.items()}, key)
        by_baseline[image.stem] = score({n: f.value for n, f in baseline(lines).fields.items()}, key)
        for name, hits in (("current", current), ("baseline", by_baseline[image.stem])):
            bucket = totals.setdefault(name, {}).setdefault(half, {})
            for field, ok in hits.items():
                bucket[field] = bucket.get(field, 0) + int(ok)
            if name == "current" and half == "dev" and args.misses:
                fields = {n: f.value for n, f in extract_receipt(lines).fields.items()}
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
    report["kfold"] = _kfold(by_rules, by_baseline, stems_by_fold, RULES, DEFAULT_RULES)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.misses:
        report["dev_misses"] = misses
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the reconcile matcher: quality on generated truth, speed against a naive matcher.

    .venv/bin/python -m tests.benchmarks.bench_reconcile                 # the full 1M × 1M (about 1 min)
    .venv/bin/python -m tests.benchmarks.bench_reconcile --lines 100000  # smaller, quicker

Truth is generated with the noise a real month has: booking-date shifts, bank fees deducted,
combined payments (one bank line for several invoices) and split ones (one invoice paid in parts),
abbreviated and mistyped counterparty names, mistyped references, price-list amounts that repeat,
and 2% true exceptions (1% bank lines and 1% ledger entries with no partner). Figures are
link-based: a link is a (bank line, ledger entry) pair in the same truth group.

Baseline: a naive pairwise matcher (every bank line against every ledger entry, the same rules) on
a ``--slice`` of the data, timed in the same run against the indexed cascade on the same slice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import resource
import time
from collections import defaultdict
from typing import Any

from backroom.bots.reconcile.matching import Item, MatchSettings, Outcome, match_items
from backroom.bots.reconcile.names import name_score

_CHARS = (
    "华达信通安恒泰盛兴隆昌鑫源宏远祥瑞丰博创新智云海天星光明德嘉和美康健中新东方北南西金银鼎辉腾飞"
    "立诚联合众邦豪科润宇晨阳佳伟俊杰思睿恩益顺利永久佰仟万亿锦绣江山川峰林森青蓝红紫"
)
_INDUSTRY = ["科技", "网络科技", "信息技术", "贸易", "商贸", "实业", "传媒", "物流", "电子", "软件", "咨询"]
_REGIONS = ["北京", "上海", "深圳市", "广州", "杭州", "成都", "武汉", "南京", "", "", ""]
_PRICES = [29900, 99900, 199900, 500000, 1000000, 2999900]


def _companies(rng: random.Random, n: int) -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        core = "".join(rng.choice(_CHARS) for _ in range(rng.randint(2, 4)))
        if core in seen:
            continue
        seen.add(core)
        out.append(f"{rng.choice(_REGIONS)}{core}{rng.choice(_INDUSTRY)}有限公司")
    return out


def _typo(rng: random.Random, text: str) -> str:
    k = rng.randrange(len(text))
    return text[:k] + rng.choice(_CHARS) + text[k + 1 :]


def _ledger_name(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.40:
        return name.replace("有限公司", "")
    if r < 0.50:
        for region in _REGIONS:
            if region and name.startswith(region):
                return f"{name[len(region) :].replace('有限公司', '')}({region.rstrip('市')})"
        return name
    if r < 0.56:
        core = name.replace("有限公司", "")
        return _typo(rng, core)
    return name


Raw = tuple[str, int, int, str, str]  # key, day, cents, name, text


def build_items(raw: list[Raw]) -> list[Item]:
    """What the bot does per line before matching: cents, reference tokens (regex)."""
    return [Item.make(key, day, cents, "CNY", name, text) for key, day, cents, name, text in raw]


def generate(lines: int, seed: int) -> tuple[list[Raw], list[Raw], dict[str, int], dict[str, int]]:
    """Bank and ledger records with truth groups (-1 = a true exception)."""
    rng = random.Random(seed)
    names = _companies(rng, max(500, lines // 20))
    days = max(30, lines // 3000)
    d0 = dt.date(2024, 1, 1).toordinal()
    bank: list[Raw] = []
    book: list[Raw] = []
    truth_b: dict[str, int] = {}
    truth_g: dict[str, int] = {}
    group = 0
    nb = ng = 0

    def add_bank(day: int, cents: int, name: str, text: str, g: int) -> None:
        nonlocal nb
        key = f"B{nb}"
        nb += 1
        bank.append((key, day, cents, name, text))
        truth_b[key] = g

    def add_book(day: int, cents: int, name: str, ref: str, g: int) -> None:
        nonlocal ng
        key = f"G{ng}"
        ng += 1
        book.append((key, day, cents, name, ref))
        truth_g[key] = g

    while nb < lines:
        group += 1
        name = rng.choice(names)
        day = d0 + rng.randrange(days)
        incoming = rng.random() < 0.6
        cents = rng.choice(_PRICES) if rng.random() < 0.08 else int(10 ** rng.uniform(3, 8))
        sign = 1 if incoming else -1
        invoice = f"INV{rng.randrange(10**9, 10**10)}"
        has_ref = rng.random() < 0.6
        bank_ref = (_typo(rng, invoice) if rng.random() < 0.05 else invoice) if has_ref else ""
        text = f"货款 {bank_ref}" if bank_ref else rng.choice(["货款", "服务费", "采购付款", "往来款"])
        shift = rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, -1, -2))
        lname = _ledger_name(rng, name)
        lref = invoice if has_ref and rng.random() < 0.9 else ""
        kind = rng.random()
        if kind < 0.01:  # bank line with no ledger entry
            add_bank(day, sign * cents, name, text, -1)
        elif kind < 0.02:  # ledger entry with no bank line
            add_book(day, sign * cents, lname, lref, -1)
        elif kind < 0.05 and cents > 10_000:  # fee deducted by the bank
            fee = rng.choice((1000, 1500, 2500))
            add_bank(day, sign * cents - fee, name, text, group)
            add_book(day + shift, sign * cents, lname, lref, group)
        elif kind < 0.07 and cents > 10_000:  # combined: one bank line for 2-3 invoices
            parts = _split(rng, cents, rng.randint(2, 3))
            add_bank(day, sign * cents, name, "货款 多张发票", group)
            for k, part in enumerate(parts):
                add_book(day + rng.choice((0, 0, 1, -1)), sign * part, lname, f"{invoice}-{k}", group)
        elif kind < 0.09 and cents > 10_000:  # split: one invoice paid in 2 parts
            for part in _split(rng, cents, 2):
                add_bank(day + rng.choice((0, 1, 2)), sign * part, name, f"分期 {bank_ref}".strip(), group)
            add_book(day + shift, sign * cents, lname, lref, group)
        else:
            add_bank(day, sign * cents, name, text, group)
            add_book(day + shift, sign * cents, lname, lref, group)
    rng.shuffle(book)
    return bank, book, truth_b, truth_g


def _split(rng: random.Random, cents: int, n: int) -> list[int]:
    cuts = sorted(rng.sample(range(1, cents), n - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]


def _links(matches: list[Any]) -> set[tuple[str, str]]:
    return {(b, g) for m in matches for b in m.bank for g in m.ledger}


def quality(out: Outcome, truth_b: dict[str, int], truth_g: dict[str, int]) -> dict[str, Any]:
    by_group_b: dict[int, list[str]] = defaultdict(list)
    by_group_g: dict[int, list[str]] = defaultdict(list)
    for k, g in truth_b.items():
        if g >= 0:
            by_group_b[g].append(k)
    for k, g in truth_g.items():
        if g >= 0:
            by_group_g[g].append(k)
    true_links = sum(len(by_group_b[g]) * len(by_group_g.get(g, ())) for g in by_group_b)
    auto = _links(out.matches)
    review = _links(out.review)
    auto_ok = sum(1 for b, g in auto if truth_b[b] >= 0 and truth_b[b] == truth_g[g])
    review_ok = sum(1 for b, g in review if truth_b[b] >= 0 and truth_b[b] == truth_g[g])
    exceptions_b = {k for k, g in truth_b.items() if g < 0}
    return {
        "true_links": true_links,
        "auto_links": len(auto),
        "auto_precision": round(auto_ok / len(auto), 6) if auto else None,
        "auto_false_links": len(auto) - auto_ok,
        "auto_recall": round(auto_ok / true_links, 5) if true_links else None,
        "suggested_links": len(review),
        "suggestion_precision": round(review_ok / len(review), 5) if review else None,
        "recall_auto_plus_suggestions": round((auto_ok + review_ok) / true_links, 5) if true_links else None,
        "bank_exceptions_left_unmatched": round(len(exceptions_b & set(out.unmatched_bank)) / len(exceptions_b), 5)
        if exceptions_b
        else None,
        "stage_counts": out.stage_counts,
    }


def naive_match(bank: list[Item], book: list[Item], s: MatchSettings) -> Outcome:
    """Every bank line against every ledger entry: reference or amount+date+name, unique only."""
    from backroom.bots.reconcile.matching import Match

    out = Outcome()
    used: set[int] = set()
    for b in bank:
        cands = []
        for j, g in enumerate(book):
            if g.cents != b.cents or g.currency != b.currency or j in used:
                continue
            gap = abs(g.day - b.day)
            if set(b.tokens) & set(g.tokens) and gap <= s.reference_window:
                cands.append((200.0, j))
            elif gap <= s.date_window:
                score = name_score(b.name, g.name)
                if score >= s.name_threshold:
                    cands.append((score, j))
        if len(cands) == 1:
            j = cands[0][1]
            used.add(j)
            out.matches.append(Match((b.key,), (book[j].key,), "naive", cands[0][0]))
        elif cands:
            out.review.append(Match((b.key,), (book[max(cands)[1]].key,), "naive", 0, "review"))
    out.unmatched_bank = []
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="bank lines (1,000,000 = the full target)")
    ap.add_argument("--slice", type=int, default=10_000, help="lines in the naive-vs-indexed comparison")
    ap.add_argument("--seed", type=int, default=20240301)
    args = ap.parse_args(argv)
    settings = MatchSettings()
    report: dict[str, Any] = {"benchmark": "reconcile", "lines": args.lines, "cpu_count_used": 1}

    # -- the naive baseline and the indexed cascade on the same slice -------------------------------
    rb, rg, tb, tg = generate(args.slice, args.seed + 1)
    sb, sg = build_items(rb), build_items(rg)
    t, c = time.perf_counter(), time.process_time()
    naive = naive_match(sb, sg, settings)
    naive_s, naive_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    indexed = match_items(sb, sg, settings)
    indexed_s, indexed_cpu = time.perf_counter() - t, time.process_time() - c
    report["slice"] = {
        "bank_lines": len(sb),
        "ledger_entries": len(sg),
        "naive_pairwise_s": round(naive_s, 3),
        "indexed_s": round(indexed_s, 3),
        "naive_pairwise_cpu_s": round(naive_cpu, 3),
        "indexed_cpu_s": round(indexed_cpu, 3),
        "speedup_vs_naive": round(naive_s / indexed_s, 1),
        "speedup_vs_naive_cpu": round(naive_cpu / max(indexed_cpu, 1e-6), 1),
        "naive_quality": {k: v for k, v in quality(naive, tb, tg).items() if k != "stage_counts"},
        "indexed_quality": quality(indexed, tb, tg),
    }
    del sb, sg, tb, tg, naive, indexed
    gc.collect()

    # -- the full size -------------------------------------------------------------------------------
    t = time.perf_counter()
    raw_bank, raw_book, truth_b, truth_g = generate(args.lines, args.seed)
    gen_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    bank, book = build_items(raw_bank), build_items(raw_book)
    items_s, items_cpu = time.perf_counter() - t, time.process_time() - c
    del raw_bank, raw_book
    gc.collect()
    rss_before = _rss_mb()
    t, c = time.perf_counter(), time.process_time()
    out = match_items(bank, book, settings)
    match_s, match_cpu = time.perf_counter() - t, time.process_time() - c
    report["full"] = {
        "bank_lines": len(bank),
        "ledger_entries": len(book),
        "generate_truth_s": round(gen_s, 2),
        "build_items_s": round(items_s, 2),
        "match_s": round(match_s, 2),
        "items_plus_match_s": round(items_s + match_s, 2),
        "items_plus_match_cpu_s": round(items_cpu + match_cpu, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "bank_lines_per_s": int(len(bank) / (items_s + match_s)),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_match_mb": round(rss_before, 1),
        "quality": quality(out, truth_b, truth_g),
    }
    report["goals"] = {
        "auto_precision>=0.999": (report["full"]["quality"]["auto_precision"] or 0) >= 0.999,
        "auto_recall>=0.97": (report["full"]["quality"]["auto_recall"] or 0) >= 0.97,
        "1M_items_plus_match_s_extrapolated": round((items_s + match_s) * 1_000_000 / len(bank), 1),
        "1M_items_plus_match_cpu_s_extrapolated": round((items_cpu + match_cpu) * 1_000_000 / len(bank), 1),
        "naive_1M_extrapolated_h": round(report["slice"]["naive_pairwise_s"] * (1_000_000 / args.slice) ** 2 / 3600, 1),
        "peak_rss<4GB": report["full"]["peak_rss_mb"] < 4096,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return report


if __name__ == "__main__":
    main()

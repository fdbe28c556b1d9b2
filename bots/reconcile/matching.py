"""The matching cascade: bank lines against ledger entries, indexed, never pairwise.

Each stage works only on what earlier stages left open and looks candidates up in an index, so
the work grows with the number of lines, not with their product:

1. ``reference``  — an invoice/reference token (letters and digits, ≥ 6 long, with a digit) seen in
   the bank line's reference or purpose equals one on a ledger entry, and the amount is equal.
   Index: token → ledger entries.
2. ``amount-date-name`` — equal amount and currency, booking dates within ``date_window`` days, and
   counterparty names that are the same company after normalisation (:mod:`.names`).
   Index: (currency, amount) → ledger entries sorted by date.
3. ``combined`` / ``split`` — one bank line paying several ledger entries, or several bank lines
   paying one entry: a bounded subset-sum among the same counterparty's open items in the window.
   Index: normalised name → open items.
4. ``fee`` / ``fx`` — the amounts differ by a bank fee (bank side short by at most ``fee_max``) or an
   FX difference (at most ``fx_pct``): matched with a proposed adjustment for the difference.

A candidate is auto-matched only when it is the only good one on both sides. When two candidates
are equally good (the same amount, date and company twice) the line goes to review with the
candidates named, and is never auto-matched. Rejected pairs (a reviewer said no) are never
proposed again.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from backroom.bots.reconcile.names import name_score, normalise_name

__all__ = ["Item", "Match", "MatchSettings", "Outcome", "match_items", "reference_tokens"]

# a run of letters/digits/-_/ of length >= 6 that contains a digit (the lookahead stays inside the run)
_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9_\-/]*\d)[A-Za-z0-9][A-Za-z0-9_\-/]{4,}[A-Za-z0-9]")


def reference_tokens(*texts: str) -> tuple[str, ...]:
    """Reference-like tokens: ≥ 6 characters, at least one digit, not a bare long account number."""
    out: list[str] = []
    for text in texts:
        if text:
            out.extend(t.upper() for t in _TOKEN.findall(text) if not (len(t) >= 15 and t.isdigit()))
    if len(out) < 2:
        return tuple(out)
    return tuple(dict.fromkeys(out))


_CROWDED = 16  # ledger entries sharing one amount beyond which names are looked up, not compared
_MAX_SCAN = 128  # most same-amount entries whose names are compared for one bank line


@dataclass(slots=True)
class Item:
    """One side's line reduced to what matching needs. ``cents`` is the signed amount × 100."""

    key: str
    day: int  # date.toordinal()
    cents: int
    currency: str
    name: str
    tokens: tuple[str, ...] = ()

    @classmethod
    def make(cls, key: str, day: int, amount: Decimal | int, currency: str, name: str, *texts: str) -> Item:
        cents = amount if isinstance(amount, int) else int((amount * 100).to_integral_value())
        return cls(key, day, cents, currency or "CNY", name or "", reference_tokens(*texts))


@dataclass(frozen=True, slots=True)
class MatchSettings:
    date_window: int = 5  # days between bank booking and ledger date for stages 2-4
    reference_window: int = 45  # days, for a reference match
    name_threshold: float = 80.0  # 0-100 from names.name_score for "the same company"
    fee_max_cents: int = 5_000  # bank fee the bank side may be short by (50.00)
    fx_pct: Decimal = Decimal("0.005")  # relative FX difference accepted (0.5%)
    max_subset: int = 4  # most items combined into one in stage 3
    max_subset_candidates: int = 14  # nearest open items considered per subset search
    max_token_fanout: int = 50  # tokens on more ledger entries than this are not references


@dataclass(slots=True)
class Match:
    bank: tuple[str, ...]
    ledger: tuple[str, ...]
    rule: str
    score: float
    status: str = "auto"  # auto | review
    adjustment_cents: int = 0  # ledger total - bank total, to be booked (fee / FX)
    note: str = ""
    alternatives: tuple[str, ...] = ()  # the other equally good candidates, for review


@dataclass
class Outcome:
    matches: list[Match] = field(default_factory=list)  # auto-matched
    review: list[Match] = field(default_factory=list)  # suggestions a person decides
    unmatched_bank: list[str] = field(default_factory=list)
    unmatched_ledger: list[str] = field(default_factory=list)
    stage_counts: dict[str, int] = field(default_factory=dict)


class _Pools:
    """Open/closed flags of both sides plus the rejected pairs."""

    def __init__(self, bank: Sequence[Item], ledger: Sequence[Item], rejected: set[tuple[str, str]]) -> None:
        self.bank, self.ledger = bank, ledger
        self.bank_open = bytearray(b"\x01") * len(bank)
        self.ledger_open = bytearray(b"\x01") * len(ledger)
        self.rejected = rejected

    def allowed(self, i: int, j: int) -> bool:
        return not self.rejected or (self.bank[i].key, self.ledger[j].key) not in self.rejected


def match_items(
    bank: Sequence[Item],
    ledger: Sequence[Item],
    settings: MatchSettings | None = None,
    *,
    rejected: Iterable[tuple[str, str]] = (),
) -> Outcome:
    """Run the cascade. Items already matched in earlier runs must be left out by the caller."""
    s = settings or MatchSettings()
    pools = _Pools(bank, ledger, set(rejected))
    out = Outcome()
    _stage_reference(pools, s, out)
    _stage_amount(pools, s, out)
    _stage_subsets(pools, s, out)
    _stage_tolerance(pools, s, out)
    _stage_nameless(pools, s, out)
    out.unmatched_bank = [it.key for i, it in enumerate(bank) if pools.bank_open[i]]
    out.unmatched_ledger = [it.key for j, it in enumerate(ledger) if pools.ledger_open[j]]
    return out


def _settle(
    pools: _Pools,
    proposals: dict[int, list[tuple[int, float, tuple[int, ...]]]],
    rule: str,
    out: Outcome,
    note: str = "",
) -> None:
    """Turn one stage's proposals (bank i → [(ledger j, score, other candidates)]) into matches.

    A proposal with other equally good candidates, or whose ledger entry another bank line also
    wants, goes to review; the rest are auto-matched. Both sides leave the open pools either way,
    so a later, weaker stage cannot auto-match what a person has to look at.
    """
    wanted: dict[int, int] = defaultdict(int)
    for props in proposals.values():
        for j, _, _ in props:
            wanted[j] += 1
    auto = review = 0
    bank, ledger = pools.bank, pools.ledger
    for i, props in proposals.items():
        j, score, others = props[0]
        contested = wanted[j] > 1
        if others or contested:
            alts = tuple(ledger[o].key for o in others)
            why = f"{len(others) + 1} equally good candidates" if others else "another bank line wants the same entry"
            out.review.append(
                Match(
                    (bank[i].key,),
                    (ledger[j].key,),
                    rule,
                    score,
                    "review",
                    ledger[j].cents - bank[i].cents,
                    f"{why}; {note}".strip("; "),
                    alts,
                )
            )
            review += 1
        else:
            out.matches.append(
                Match((bank[i].key,), (ledger[j].key,), rule, score, "auto", ledger[j].cents - bank[i].cents, note)
            )
            auto += 1
        pools.bank_open[i] = 0
        pools.ledger_open[j] = 0
        for o in others:
            pools.ledger_open[o] = 0
    out.stage_counts[rule] = out.stage_counts.get(rule, 0) + auto
    out.stage_counts[f"{rule}:review"] = out.stage_counts.get(f"{rule}:review", 0) + review


def _token_index(pools: _Pools, s: MatchSettings) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for j, it in enumerate(pools.ledger):
        if pools.ledger_open[j]:
            for tok in it.tokens:
                index[tok].append(j)
    return {t: js for t, js in index.items() if len(js) <= s.max_token_fanout}


def _stage_reference(pools: _Pools, s: MatchSettings, out: Outcome) -> None:
    index = _token_index(pools, s)
    proposals: dict[int, list[tuple[int, float, tuple[int, ...]]]] = {}
    ledger = pools.ledger
    for i, b in enumerate(pools.bank):
        if not b.tokens:
            continue
        cands: set[int] = set()
        for tok in b.tokens:
            js = index.get(tok)
            if js:
                cands.update(js)
        good = [
            j
            for j in cands
            if ledger[j].cents == b.cents
            and ledger[j].currency == b.currency
            and abs(ledger[j].day - b.day) <= s.reference_window
            and pools.allowed(i, j)
        ]
        if not good:
            continue
        good.sort(key=lambda j: (abs(ledger[j].day - b.day), ledger[j].key))
        proposals[i] = [(good[0], 100.0, tuple(good[1:]))]
    _settle(pools, proposals, "reference", out, "reference token and amount agree")


def _stage_amount(pools: _Pools, s: MatchSettings, out: Outcome) -> None:
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    ledger = pools.ledger
    for j, it in enumerate(ledger):
        if pools.ledger_open[j]:
            groups[(it.currency, it.cents)].append(j)
    days: dict[tuple[str, int], list[int]] = {}
    named: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for key, js in groups.items():
        if len(js) > 1:
            js.sort(key=lambda j: ledger[j].day)
            days[key] = [ledger[j].day for j in js]
        if len(js) > _CROWDED:  # a price-list amount: look the company up before comparing names
            for j in js:
                named[(*key, normalise_name(ledger[j].name))].append(j)
    proposals: dict[int, list[tuple[int, float, tuple[int, ...]]]] = {}
    weak: dict[int, list[tuple[int, float, tuple[int, ...]]]] = {}
    for i, b in enumerate(pools.bank):
        if not pools.bank_open[i]:
            continue
        js = groups.get((b.currency, b.cents))
        if not js:
            continue
        scored: list[tuple[float, int, int]] = []
        if len(js) > _CROWDED:
            same = named.get((b.currency, b.cents, normalise_name(b.name)), ())
            scored = [
                (
                    s.name_threshold - 1
                    if b.tokens and ledger[j].tokens and _tokens_conflict(b.tokens, ledger[j].tokens)
                    else 100.0,
                    -abs(ledger[j].day - b.day),
                    j,
                )
                for j in same
                if pools.ledger_open[j] and abs(ledger[j].day - b.day) <= s.date_window and pools.allowed(i, j)
            ]
        if not scored:
            if len(js) > 1:
                d = days[(b.currency, b.cents)]
                lo = bisect.bisect_left(d, b.day - s.date_window)
                window = js[lo : bisect.bisect_right(d, b.day + s.date_window)]
                if len(window) > _MAX_SCAN:  # compare names with the nearest dates only
                    window = sorted(window, key=lambda j: abs(ledger[j].day - b.day))[:_MAX_SCAN]
            else:
                window = js if abs(ledger[js[0]].day - b.day) <= s.date_window else []
            for j in window:
                if pools.ledger_open[j] and pools.allowed(i, j):
                    score = name_score(b.name, ledger[j].name)
                    if b.tokens and ledger[j].tokens and _tokens_conflict(b.tokens, ledger[j].tokens):
                        score = min(score, s.name_threshold - 1)  # two different invoice numbers: never auto
                    scored.append((score, -abs(ledger[j].day - b.day), j))
        if not scored:
            continue
        strong = [c for c in scored if c[0] >= s.name_threshold]
        if strong:
            strong.sort(reverse=True)
            best = strong[0]
            # equally good = same company on the same date distance (a real tie), never guessed apart
            ties = tuple(c[2] for c in strong[1:] if c[0] >= best[0] - 5 and c[1] == best[1])
            proposals[i] = [(best[2], round(best[0] - 2 * -best[1], 1), ties)]
        elif len(scored) == 1:  # the only entry with this amount near this date, but another name
            weak[i] = [(scored[0][2], round(scored[0][0], 1), ())]
    _settle(pools, proposals, "amount-date-name", out, "amount equal, date in window, same company")
    # amount and date agree but the names do not: a person decides
    for i, props in weak.items():
        j, score, _ = props[0]
        if pools.bank_open[i] and pools.ledger_open[j]:
            out.review.append(
                Match(
                    (pools.bank[i].key,),
                    (ledger[j].key,),
                    "amount-date",
                    score,
                    "review",
                    0,
                    f"amount and date agree but names differ (name score {score:.0f})",
                )
            )
            pools.bank_open[i] = 0
            pools.ledger_open[j] = 0
            out.stage_counts["amount-date:review"] = out.stage_counts.get("amount-date:review", 0) + 1


def _stage_nameless(pools: _Pools, s: MatchSettings, out: Outcome) -> None:
    """Last: a bank line still open, with several open same-amount entries near its date and no
    name on one side to tell them apart, is put to a person — the nearest date suggested, the
    others listed as alternatives. Nothing is guessed, and nothing a stage above could match is
    taken from it (this runs after them). Only the suggested entry leaves the pool: an alternative
    may be the next nameless line's suggestion.
    """
    ledger = pools.ledger
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for j, it in enumerate(ledger):
        if pools.ledger_open[j]:
            groups[(it.currency, it.cents)].append(j)
    taken: set[int] = set()  # suggested in this stage: still a candidate when counting, no longer free
    for i, b in enumerate(pools.bank):
        if not pools.bank_open[i]:
            continue
        cands = [
            j
            for j in groups.get((b.currency, b.cents), ())
            if (pools.ledger_open[j] or j in taken) and abs(ledger[j].day - b.day) <= s.date_window
        ]
        near = [j for j in cands if pools.ledger_open[j] and pools.allowed(i, j)]
        if len(cands) < 2 or not near or (b.name and any(ledger[j].name for j in cands)):
            continue  # one candidate was settled above; names on both sides were compared above
        near.sort(key=lambda j: (abs(ledger[j].day - b.day), j))
        best, others = near[0], tuple(ledger[j].key for j in near[1:])
        out.review.append(
            Match(
                (b.key,),
                (ledger[best].key,),
                "amount-date",
                0.0,
                "review",
                0,
                f"{len(cands)} ledger entries with this amount within the date window and no name to tell them "
                "apart: the nearest date is suggested, the others are listed",
                others,
            )
        )
        pools.bank_open[i] = 0
        pools.ledger_open[best] = 0
        taken.add(best)
        out.stage_counts["amount-date:review"] = out.stage_counts.get("amount-date:review", 0) + 1


def _tokens_conflict(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both sides name a reference and no pair is the same one, even allowing for a typo."""
    from rapidfuzz import fuzz

    return not any(x == y or fuzz.partial_ratio(x, y) >= 85 for x in a for y in b)


def _name_blocks(items: Sequence[Item], open_flags: bytearray) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for k, it in enumerate(items):
        if open_flags[k]:
            key = normalise_name(it.name)
            if key:
                blocks[key].append(k)
    return blocks


def _subset(target: int, cands: list[tuple[int, int]], max_size: int, limit: int = 2) -> list[tuple[int, ...]]:
    """Subsets (2..max_size items) of ``cands`` [(cents, id)] summing to ``target``; at most ``limit``."""
    found: list[tuple[int, ...]] = []
    cands = sorted(cands, key=lambda c: -abs(c[0]))
    sign = 1 if target >= 0 else -1
    values = [sign * c for c, _ in cands]
    goal = sign * target
    suffix = [0] * (len(values) + 1)
    for k in range(len(values) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + values[k]

    def walk(start: int, remaining: int, chosen: list[int]) -> None:
        if len(found) >= limit:
            return
        if remaining == 0 and len(chosen) >= 2:
            found.append(tuple(cands[k][1] for k in chosen))
            return
        if len(chosen) >= max_size or remaining < 0 or suffix[start] < remaining:
            return
        for k in range(start, len(values)):
            if values[k] <= remaining:
                chosen.append(k)
                walk(k + 1, remaining - values[k], chosen)
                chosen.pop()
                if len(found) >= limit:
                    return

    walk(0, goal, [])
    return found


def _stage_subsets(pools: _Pools, s: MatchSettings, out: Outcome) -> None:
    bank, ledger = pools.bank, pools.ledger
    for one_side, rule in (("bank", "combined"), ("ledger", "split")):
        ones = bank if one_side == "bank" else ledger
        manys = ledger if one_side == "bank" else bank
        one_open = pools.bank_open if one_side == "bank" else pools.ledger_open
        many_open = pools.ledger_open if one_side == "bank" else pools.bank_open
        blocks = _name_blocks(manys, many_open)
        if not blocks:
            continue
        for a, item in enumerate(ones):
            if not one_open[a]:
                continue
            block = blocks.get(normalise_name(item.name))
            if not block:
                continue
            cands = [
                (m.cents, k)
                for k in block
                if many_open[k]
                and (m := manys[k]).currency == item.currency
                and (m.cents > 0) == (item.cents > 0)
                and abs(m.cents) < abs(item.cents)
                and abs(m.day - item.day) <= s.date_window
            ]
            if len(cands) < 2:
                continue
            cands.sort(key=lambda c: abs(manys[c[1]].day - item.day))
            found = _subset(item.cents, cands[: s.max_subset_candidates], s.max_subset)
            if not found:
                continue
            keys = tuple(manys[k].key for k in found[0])
            if one_side == "bank":
                bank_keys, ledger_keys = (item.key,), keys
            else:
                bank_keys, ledger_keys = keys, (item.key,)
            if rejected_any(pools, bank_keys, ledger_keys):
                continue
            status = "review" if len(found) > 1 else "auto"
            note = f"{len(found[0])} items sum to the amount" + (
                "; another combination fits too" if status == "review" else ""
            )
            m = Match(bank_keys, ledger_keys, rule, 90.0, status, 0, note)
            (out.review if status == "review" else out.matches).append(m)
            one_open[a] = 0
            for k in found[0]:
                many_open[k] = 0
            label = rule if status == "auto" else f"{rule}:review"
            out.stage_counts[label] = out.stage_counts.get(label, 0) + 1


def rejected_any(pools: _Pools, bank_keys: tuple[str, ...], ledger_keys: tuple[str, ...]) -> bool:
    return bool(pools.rejected) and any((b, g) in pools.rejected for b in bank_keys for g in ledger_keys)


def _stage_tolerance(pools: _Pools, s: MatchSettings, out: Outcome) -> None:
    bank, ledger = pools.bank, pools.ledger
    index = _token_index(pools, s)
    blocks = _name_blocks(ledger, pools.ledger_open)
    proposals: dict[int, list[tuple[int, float, tuple[int, ...]]]] = {}
    rules: dict[int, str] = {}
    for i, b in enumerate(bank):
        if not pools.bank_open[i]:
            continue
        cands: set[int] = set()
        for tok in b.tokens:
            cands.update(index.get(tok, ()))
        cands.update(blocks.get(normalise_name(b.name), ()))
        good: list[tuple[int, int, str]] = []
        for j in cands:
            g = ledger[j]
            if not pools.ledger_open[j] or g.currency != b.currency or (g.cents > 0) != (b.cents > 0):
                continue
            if abs(g.day - b.day) > s.date_window or not pools.allowed(i, j):
                continue
            diff = g.cents - b.cents
            if 0 < diff <= s.fee_max_cents:
                good.append((abs(g.day - b.day), j, "fee"))
            elif diff and abs(diff) <= abs(g.cents) * s.fx_pct:
                good.append((abs(g.day - b.day), j, "fx"))
        if not good:
            continue
        good.sort()
        proposals[i] = [(good[0][1], 95.0 if good[0][2] == "fee" else 90.0, tuple(g[1] for g in good[1:]))]
        rules[i] = good[0][2]
    for rule in ("fee", "fx"):
        subset = {i: p for i, p in proposals.items() if rules[i] == rule}
        note = (
            "bank fee deducted: book the difference as bank charges"
            if rule == "fee"
            else ("FX difference: book the difference as exchange gain/loss")
        )
        _settle(pools, subset, rule, out, note)

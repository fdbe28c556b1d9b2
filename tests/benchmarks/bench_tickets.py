"""Benchmarks of the tickets bot; prints one JSON object.

    .venv/bin/python -m tests.benchmarks.bench_tickets [--texts 10000] [--labelled 400]
        [--tickets 1000] [--baseline-tickets 50] [--concurrency 64] [--latency-ms 20]
        [--dialer-latency-ms 150] [--rate-limit 600] [--browser-tickets 8]

Full size (the issue's figures): ``--texts 10000 --tickets 10000`` (several minutes on 2 cores).

1. **Extraction**: tickets/s over ``--texts`` generated texts, and precision/recall per field on a
   labelled set of ``--labelled`` texts. Baseline ``naive_regex``: the first 11-digit run as the
   mobile and the first number before 元 as the amount — what a quick script would do.
2. **Autoclose**: ``--tickets`` resolved tickets in the sandbox helpdesk and dialer, each in its own
   process, with ``--latency-ms`` added to every helpdesk request and ``--dialer-latency-ms`` to
   every dialer request, and the helpdesk rate-limited on the client side to ``--rate-limit``
   req/s. Phase A = selection + callback requests; phase B = closing + archiving once the
   outcomes are in. Baseline ``sequential``: the same job with one ticket in
   flight (concurrency 1), on ``--baseline-tickets`` tickets; ratios compare tickets per second.
3. **Browser adapter**: tickets closed (and archived) per minute through the web UI.
4. **Real RT 5** (``--rt-tickets``, needs Debian's request-tracker5): fill and autoclose through the
   bot as the non-root ``backroom-bot``; tickets/minute, HTTP requests per ticket, and fill accuracy
   against the generated texts' labels read back through REST2. Baseline ``token`` auth (RT checks
   the token on every request) against ``session`` (one login per run), on an RT whose hashes were
   made at ``--rt-bcrypt-cost`` (12 is RT's default). ``--rt-browser-tickets N``: N of them also
   filled and closed through RT's web UI (browser adapter, shipped ``rt5`` profile), with pages
   opened + forms submitted per ticket, compared with ``session`` REST2 in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import re
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

FIELDS = [
    "name",
    "mobile",
    "landline",
    "id_card",
    "order_no",
    "account_no",
    "amount",
    "product",
    "category",
    "urgent",
    "callback_time",
]


# -- 1. extraction ------------------------------------------------------------------------------
def _naive(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m := re.search(r"1\d{10}", text):
        out["mobile"] = m.group(0)
    if m := re.search(r"(\d+(?:\.\d+)?)元", text):
        out["amount"] = Decimal(m.group(1)).quantize(Decimal("0.01"))
    return out


def _score(pairs: list[tuple[dict[str, Any], dict[str, Any]]], fields: list[str]) -> dict[str, Any]:
    result = {}
    for f in fields:
        tp = fp = fn = 0
        for got, want in pairs:
            g, w = got.get(f), want.get(f)
            if g is not None and g == w:
                tp += 1
            else:
                fp += g is not None
                fn += w is not None
        result[f] = {
            "precision": round(tp / max(1, tp + fp), 4),
            "recall": round(tp / max(1, tp + fn), 4),
            "support": tp + fn,
        }
    return result


def bench_extraction(n_texts: int, n_labelled: int) -> dict[str, Any]:
    from backroom.bots.tickets.config import FillConfig
    from backroom.bots.tickets.fill import make_extractor
    from backroom.sandbox.helpdesk_texts import generate_texts

    base = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    extractor = make_extractor(FillConfig(), "Asia/Shanghai")
    texts = [t.text for t in generate_texts(n_texts, seed=101, base=base)]
    started = time.perf_counter()
    for text in texts:
        extractor.extract(text, reference=base)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        _naive(text)
    naive = time.perf_counter() - started

    labelled = generate_texts(n_labelled, seed=202, base=base)
    pairs, naive_pairs = [], []
    for item in labelled:
        found = extractor.extract(item.text, reference=base)
        got = {k: v.value for k, v in found.fields.items()}
        got["urgent"] = True if got.pop("urgency", None) else None
        want = {**item.labels, "urgent": True if item.labels.get("urgent") else None}
        pairs.append((got, want))
        naive_pairs.append((_naive(item.text), want))
    return {
        "texts": n_texts,
        "tickets_per_s": round(n_texts / ours, 1),
        "baseline_naive_regex_tickets_per_s": round(n_texts / naive, 1),
        "labelled_texts": n_labelled,
        "per_field": _score(pairs, FIELDS),
        "baseline_naive_regex_per_field": _score(naive_pairs, ["mobile", "amount"]),
    }


# -- 2. autoclose -------------------------------------------------------------------------------
def _serve(kind: str, port: int, kwargs: dict[str, Any]) -> None:
    import uvicorn

    if kind == "helpdesk":
        from backroom.sandbox.helpdesk import create_app
    else:
        from backroom.sandbox.dialer import create_app
    uvicorn.run(create_app(**kwargs), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _start_process(kind: str, kwargs: dict[str, Any]) -> tuple[Any, str]:
    import httpx

    from backroom.sandbox.server import free_port

    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(kind, port, kwargs), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_sandbox/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{kind} sandbox did not start")


def _autoclose_once(
    n: int,
    concurrency: int,
    latency_ms: int,
    dialer_latency_ms: int,
    rate_limit: float,
    tmp: Path,
    pool: int | None = None,
) -> dict[str, Any]:
    import httpx
    from sqlalchemy import create_engine

    from backroom.bots.sdk.secrets import SecretResolver
    from backroom.bots.sdk.system import SystemSettings
    from backroom.bots.systems.dialer.http import HttpDialer
    from backroom.bots.systems.helpdesk.rt import RTHelpdesk
    from backroom.bots.tickets.autoclose import Autoclose
    from backroom.bots.tickets.config import AutocloseConfig
    from backroom.bots.tickets.state import StateStore

    hd_proc, hd_url = _start_process("helpdesk", {"tickets": n, "seed": 7, "resolved_share": 1.0})
    delay = 3.0
    dl_proc, dl_url = _start_process("dialer", {"seed": 7, "outcome_delay_s": delay, "tick_s": 0.2})
    try:
        httpx.post(f"{hd_url}/_sandbox/faults", json={"latency_ms": latency_ms})
        httpx.post(f"{dl_url}/_sandbox/faults", json={"latency_ms": dialer_latency_ms})
        secrets = SecretResolver(environ={"HD": "sandbox-helpdesk-token", "DL": "sandbox-dialer-token"})
        hd_settings = SystemSettings(
            kind="rt-rest",
            url=hd_url,
            token="env:HD",
            rate_limit=rate_limit,
            concurrency=pool or concurrency,
            retries=6,
        )
        dl_settings = SystemSettings(kind="dialer-http", url=dl_url, token="env:DL", concurrency=concurrency, retries=6)
        archive = tmp / f"archive-{concurrency}"
        archive.mkdir()
        engine = create_engine(f"sqlite:///{tmp / f'state-{concurrency}.db'}")
        store = StateStore(engine)
        cursor = {"v": 0}
        config = AutocloseConfig(
            simple_categories=["billing", "network", "refund", "delivery", "service"],
            escalation_fields=[],
            max_amount=Decimal("100000"),
            min_age_hours=1,
            quiet_start=dt.time(0),
            quiet_end=dt.time(0),
            skip_public_holidays=False,
            concurrency=concurrency,
            wait_for_outcomes_s=0,
            poll_interval_s=0.5,
            archive_dir=archive,
        )

        async def phase(run_id: str) -> tuple[Any, int, float]:
            hd = RTHelpdesk(hd_settings, secrets.resolve)
            dialer = HttpDialer(dl_settings, secrets.resolve)
            job = Autoclose(
                helpdesk=hd,
                dialer=dialer,
                store=store,
                config=config,
                clock=lambda: dt.datetime.now(dt.UTC),
                timezone=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"),
                run_id=run_id,
                archive_root=archive,
                cursor=(lambda: cursor["v"], lambda v: cursor.__setitem__("v", v)),
            )
            started = time.perf_counter()
            try:
                out = await job.run()
            finally:
                await hd.aclose()
                await dialer.aclose()
            return out, hd.limiter.count, time.perf_counter() - started

        a, a_requests, a_s = asyncio.run(phase("A"))
        time.sleep(delay + 0.5)  # every outcome is due; the dialer's feed has them
        b, b_requests, b_s = asyncio.run(phase("B"))
        return {
            "tickets": n,
            "concurrency": concurrency,
            "helpdesk_pool": pool or concurrency,
            "taken": a.counts.get("taken", 0),
            "called": a.counts.get("called", 0),
            "closed": b.counts.get("closed", 0),
            "reopened": b.counts.get("reopened", 0),
            "archived": b.counts.get("archived", 0),
            "phase_a_select_and_call_s": round(a_s, 2),
            "phase_b_close_and_archive_s": round(b_s, 2),
            "helpdesk_requests": a_requests + b_requests,
            "helpdesk_req_per_s_phase_b": round(b_requests / b_s, 1),
            "rate_limit_req_per_s": rate_limit,
            "called_per_s": round(a.counts.get("called", 0) / a_s, 1),
            "archived_per_s": round(b.counts.get("archived", 0) / b_s, 1),
        }
    finally:
        for proc in (hd_proc, dl_proc):
            proc.terminate()
            proc.join(5)


# -- 3. browser ---------------------------------------------------------------------------------
def bench_browser(n: int, tmp: Path) -> dict[str, Any]:
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams
    from backroom.sandbox.demo_tickets import HELPDESK_PROFILE
    from backroom.sandbox.dialer import create_app as dialer_app
    from backroom.sandbox.helpdesk import create_app as helpdesk_app
    from backroom.sandbox.server import start

    hd = start(helpdesk_app(tickets=n, seed=3, resolved_share=1.0))
    dl = start(dialer_app(seed=3, outcome_delay_s=0))
    try:
        for t in hd.app.state.desk.tickets.values():
            t.cf.update({"Category": "network", "Mobile": f"137{t.id:08d}", "Amount": "10"})
            t.cf.pop("Regulator", None)
            dl.app.state.dialer.script(f"137{t.id:08d}", ["satisfied"])
        archive = tmp / "browser" / "archive"  # under the context's folder: the archive root confines it
        archive.mkdir(parents=True)
        config = TicketsConfig.model_validate(
            {
                "autoclose": {
                    "archive_dir": str(archive),
                    "quiet_start": "00:00",
                    "quiet_end": "00:00",
                    "skip_public_holidays": False,
                    "min_age_hours": 1,
                    "wait_for_outcomes_s": 10,
                    "poll_interval_s": 0.2,
                }
            }
        )
        systems = {
            "helpdesk": {
                "kind": "browser",
                "url": hd.url,
                "username": "bot",
                "password": "env:PW",
                "profile": HELPDESK_PROFILE,
            },
            "dialer": {"kind": "dialer-http", "url": dl.url, "token": "env:DL"},
        }
        ctx = make_context(
            tmp / "browser",
            "tickets",
            systems=systems,
            config=config,
            environ={"PW": "bot-pass", "DL": "sandbox-dialer-token"},
        )
        started = time.perf_counter()
        result = Tickets().run(ctx, TicketsParams(action="autoclose"))
        elapsed = time.perf_counter() - started
        archived = result.counts.get("archived", 0)
        return {
            "tickets": n,
            "archived": archived,
            "wall_s": round(elapsed, 2),
            "closed_per_minute": round(archived / elapsed * 60, 1),
        }
    finally:
        hd.stop()
        dl.stop()


def _rt_run(rt: Any, tmp: Path, dialer: Any, action: str, auth: str) -> tuple[Any, int, float]:
    """One bot run against ``rt``; (result, HTTP requests the helpdesk adapter sent, seconds).

    ``auth = "browser"``: through RT's web UI with the shipped ``rt5`` profile; the count is then
    pages opened plus forms submitted."""
    from backroom.bots.sdk.testing import make_context
    from backroom.bots.systems.helpdesk.browser import BrowserHelpdesk
    from backroom.bots.systems.helpdesk.rt import RTHelpdesk
    from backroom.bots.tickets import Tickets, TicketsConfig, TicketsParams

    sent: list[int] = []
    adapter: Any = BrowserHelpdesk if auth == "browser" else RTHelpdesk
    original = adapter.aclose

    async def counting_aclose(self: Any) -> None:
        sent.append(self.page_loads if auth == "browser" else self.requests)
        await original(self)

    archive = tmp / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    config = TicketsConfig.model_validate(
        {
            "autoclose": {
                "archive_dir": str(archive),
                "min_age_hours": 0,
                "quiet_start": "00:00",
                "quiet_end": "00:00",
                "skip_public_holidays": False,
                "simple_categories": ["billing", "network", "refund", "delivery", "service"],
                "escalation_fields": [],
                "max_amount": "100000",
                "wait_for_outcomes_s": 10,
                "poll_interval_s": 0.05,
            }
        }
    )
    helpdesk: dict[str, Any] = {"kind": "rt-rest", "url": rt.url, "retries": 2, "auth": auth, "concurrency": 4}
    if auth == "browser":
        helpdesk = {
            "kind": "browser",
            "url": rt.url,
            "username": rt.bot_username,
            "password": "env:RT_PASSWORD",
            "timeout": 30,
            "options": {"profile": {"base": "rt5", "timezone": "UTC"}},
        }
    elif auth == "token":
        helpdesk["token"] = "env:RT_TOKEN"
    else:
        helpdesk.update(username=rt.bot_username, password="env:RT_PASSWORD")
    systems = {"helpdesk": helpdesk, "dialer": {"kind": "dialer-http", "url": dialer.url, "token": "env:DL"}}
    environ = {"RT_TOKEN": rt.bot_token, "RT_PASSWORD": rt.bot_password, "DL": "sandbox-dialer-token"}
    clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # noqa: E731 - RT's clock is the real one
    ctx = make_context(tmp, "tickets", systems=systems, config=config, environ=environ, clock=clock)
    adapter.aclose = counting_aclose
    try:
        started = time.perf_counter()
        result = Tickets().run(ctx, TicketsParams(action=action))
        return result, sum(sent), time.perf_counter() - started
    finally:
        adapter.aclose = original
        ctx.close()


def bench_rt(n: int, bcrypt_cost: int, tmp: Path, browser_n: int = 0) -> dict[str, Any]:
    import httpx

    from backroom.sandbox.dialer import create_app as dialer_app
    from backroom.sandbox.helpdesk_texts import generate_texts
    from backroom.sandbox.server import start
    from tests.realsystems import rt as rt_module

    template = rt_module.build_template(tmp / "rt-template", bcrypt_cost=bcrypt_cost)
    server = rt_module.start(template, tmp / "rt")
    dl = start(dialer_app(seed=5, outcome_delay_s=0))
    base = dt.datetime.now(dt.UTC)
    texts = generate_texts(n, seed=303, base=base)
    out: dict[str, Any] = {"tickets": n, "bcrypt_cost": bcrypt_cost}
    right = wrong = total = 0
    try:
        root = httpx.Client(base_url=server.rest_url, headers=server.headers, timeout=120)
        for auth in ("token", "session", "browser") if browser_n else ("token", "session"):
            server.reset()
            ids = []
            for item in texts[:browser_n] if auth == "browser" else texts:
                made = root.post(
                    "ticket", json={"Queue": "Complaints", "Subject": item.text[:30], "Content": item.text}
                )
                ids.append((int(made.json()["id"]), item.labels))
            fill, fill_requests, fill_s = _rt_run(server, tmp / f"fill-{auth}", dl, "fill", auth)
            if auth == "token":
                for tid, labels in ids:
                    cfs = root.get(f"ticket/{tid}").json().get("CustomFields") or []
                    shown = {cf["name"]: (cf.get("values") or [""])[0] for cf in cfs}
                    for label, field in (("name", "CustomerName"), ("mobile", "Mobile"), ("category", "Category")):
                        if labels.get(label) is None:
                            continue
                        total += 1
                        if shown.get(field) == str(labels[label]):
                            right += 1
                        elif shown.get(field):
                            wrong += 1
            for tid, _ in ids:  # resolve them all for autoclose, with what it selects on
                phone = f"139{tid:08d}"
                dl.app.state.dialer.script(phone, ["satisfied"])
                root.put(f"ticket/{tid}", json={"CustomFields": {"Mobile": phone, "Category": "network"}})
                root.put(f"ticket/{tid}", json={"Status": "resolved"})
            close, close_requests, close_s = _rt_run(server, tmp / f"close-{auth}", dl, "autoclose", auth)
            m = len(ids)
            out[auth] = {
                "tickets": m,
                "fill_counts": dict(fill.counts),
                "fill_tickets_per_minute": round(m / fill_s * 60, 1),
                "fill_requests_per_ticket": round(fill_requests / m, 2),
                "autoclose_archived": close.counts.get("archived", 0),
                "autoclose_tickets_per_minute": round(close.counts.get("archived", 0) / close_s * 60, 1),
                "autoclose_requests_per_ticket": round(close_requests / m, 2),
            }
        out["fill_values"] = {"expected": total, "right": right, "wrong": wrong, "share_right": round(right / total, 3)}
        for phase in ("fill", "autoclose"):
            key = f"{phase}_tickets_per_minute"
            out[f"session_vs_token_{phase}_speedup"] = round(out["session"][key] / max(1e-9, out["token"][key]), 2)
            if browser_n:  # the web UI against REST2 with one login per run, same RT, same run
                out[f"browser_vs_session_{phase}"] = round(out["browser"][key] / max(1e-9, out["session"][key]), 3)
        return out
    finally:
        server.stop()
        dl.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=10000)
    parser.add_argument("--labelled", type=int, default=400)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--baseline-tickets", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64, help="tickets in flight (and dialer connections)")
    parser.add_argument("--helpdesk-pool", type=int, default=16, help="connections to the helpdesk")
    parser.add_argument("--latency-ms", type=int, default=20, help="added to every helpdesk request")
    parser.add_argument("--dialer-latency-ms", type=int, default=150, help="added to every dialer request")
    parser.add_argument("--rate-limit", type=float, default=600)
    parser.add_argument("--browser-tickets", type=int, default=8)
    parser.add_argument("--rt-tickets", type=int, default=0, help="tickets on a real RT 5 (0: skip)")
    parser.add_argument("--rt-bcrypt-cost", type=int, default=12, help="RT's $BcryptCost for the bot's credentials")
    parser.add_argument("--only-rt", action="store_true", help="run only the real-RT section")
    parser.add_argument("--rt-browser-tickets", type=int, default=0, help="of them also through RT's web UI")
    args = parser.parse_args()
    if args.only_rt:
        with tempfile.TemporaryDirectory() as tmp_name:
            rt = bench_rt(args.rt_tickets, args.rt_bcrypt_cost, Path(tmp_name), args.rt_browser_tickets)
            print(json.dumps({"benchmark": "tickets", "rt": rt}, indent=2))
        return
    out: dict[str, Any] = {"benchmark": "tickets"}
    out["extraction"] = bench_extraction(args.texts, args.labelled)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bounded = _autoclose_once(
            args.tickets,
            args.concurrency,
            args.latency_ms,
            args.dialer_latency_ms,
            args.rate_limit,
            tmp,
            pool=args.helpdesk_pool,
        )
        sequential = _autoclose_once(
            args.baseline_tickets, 1, args.latency_ms, args.dialer_latency_ms, args.rate_limit, tmp
        )
        out["autoclose"] = {"bounded_concurrency": bounded, "baseline_sequential": sequential}
        out["autoclose"]["speedup_phase_a"] = round(bounded["called_per_s"] / max(1e-9, sequential["called_per_s"]), 1)
        out["autoclose"]["speedup_phase_b"] = round(
            bounded["archived_per_s"] / max(1e-9, sequential["archived_per_s"]), 1
        )
        if args.browser_tickets:
            out["browser"] = bench_browser(args.browser_tickets, tmp)
        if args.rt_tickets:
            out["rt"] = bench_rt(args.rt_tickets, args.rt_bcrypt_cost, tmp, args.rt_browser_tickets)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Payslips per minute: the whole bot (read, check, render encrypted PDFs, deliver to SMTP on loopback).

    .venv/bin/python -m tests.benchmarks.bench_hr                     # 5,000 employees
    .venv/bin/python -m tests.benchmarks.bench_hr --employees 1000 --workers 2

A real SMTP server (aiosmtpd) on loopback takes every message. Baselines measured in the same run:
``render_only`` (the PDFs alone, in the bot's pool), ``smtp_only`` (messages of the same size handed
to the same server, no PDF work, no delivery log), and ``rerun`` (the bot again on the same month: it
must send nothing). The render and SMTP baselines run on ``--sample`` payslips and are compared per
payslip, so a 5,000-employee run stays within a few minutes. Ratios say where the time goes:
``full / render_only`` near 1 means the encryption's key derivation dominates, not the delivery log
or SMTP.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import smtplib
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=0, help="render processes (0 = one per core)")
    parser.add_argument("--sample", type=int, default=1000, help="payslips in each baseline (compared per payslip)")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
    from backroom.bots.payslips.bot import _Plan, _render_all
    from backroom.bots.payslips.render import Payslip
    from backroom.bots.payslips.roster import RosterEntry
    from backroom.bots.sdk.testing import make_context, make_params
    from backroom.sandbox.hr_data import make_people, write_payroll_xlsx, write_roster
    from backroom.sandbox.server import free_port

    received = [0]

    class Handler:
        async def handle_DATA(self, _server, _session, _envelope):
            received[0] += 1
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    config = PayslipsConfig(company="示例科技有限公司", workers=args.workers)
    out: dict[str, object] = {"employees": args.employees, "workers": args.workers}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            people = make_people(args.employees, config)
            write_payroll_xlsx(home / "payroll.xlsx", people)
            write_roster(home / "roster.xlsx", people)
            clock = dt.datetime(2026, 3, 31, 2, 0, tzinfo=dt.UTC)

            def run_bot() -> tuple[float, dict[str, int]]:
                ctx = make_context(
                    home,
                    "payslips",
                    systems={"mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{port}"}},
                    config=config,
                    clock=lambda: clock,
                )
                params = make_params(
                    PayslipsParams, ctx, payroll="payroll.xlsx", roster="roster.xlsx", month=clock.date()
                )
                start = time.perf_counter()
                result = Payslips().run(ctx, params)
                elapsed = time.perf_counter() - start
                ctx.close()
                return elapsed, result.counts

            # baseline 1: rendering alone, the same pool
            from backroom.bots.formats.payroll import read_payroll
            from backroom.bots.payslips.checks import parse_lines

            lines, _ = parse_lines(read_payroll(home / "payroll.xlsx"), config.columns)
            plans = [
                _Plan(
                    Payslip(config.company, "2026-03", line),
                    RosterEntry(p.no, p.name, p.id_number, p.email),
                    p.email,
                    "",
                    1,
                    False,
                    p.id_number[-6:],
                )
                for line, p in zip(lines, people, strict=True)
            ]
            plans = plans[: args.sample]
            start = time.perf_counter()
            sizes = [len(pdf) for pdf in _render_all(plans, args.workers)]
            render_only = (time.perf_counter() - start) / len(plans)

            # baseline 2: SMTP alone, messages of the same size, one session
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                blob = b"x" * (sum(sizes) // len(sizes))
                for p in people[: args.sample]:
                    message = EmailMessage()
                    message["From"], message["To"], message["Subject"] = "hr@example.com", p.email, "工资条"
                    message.set_content("正文")
                    message.add_attachment(blob, maintype="application", subtype="pdf", filename="p.pdf")
                    smtp.send_message(message)
            smtp_only = (time.perf_counter() - start) / len(plans)
            received[0] = 0

            full, counts = run_bot()
            assert counts["sent"] == args.employees == received[0], (counts, received[0])
            rerun, again = run_bot()
            assert again["sent"] == 0 and again["already_sent"] == args.employees, again

            per_payslip = full / args.employees
            out.update(
                full_s=round(full, 2),
                payslips_per_minute=round(60 / per_payslip),
                ms_per_payslip=round(per_payslip * 1000, 2),
                baseline_sample=len(plans),
                render_only_ms_per_payslip=round(render_only * 1000, 2),
                smtp_only_ms_per_payslip=round(smtp_only * 1000, 2),
                rerun_s=round(rerun, 2),
                pdf_bytes_avg=sum(sizes) // len(sizes),
                ratio_full_to_render_only=round(per_payslip / render_only, 2),
                ratio_full_to_smtp_only=round(per_payslip / smtp_only, 2),
                ratio_rerun_to_full=round(rerun / full, 3),
            )
    finally:
        controller.stop()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

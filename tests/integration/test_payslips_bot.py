"""The payslips bot end to end against a real SMTP server on loopback (aiosmtpd).

Payslips arrive at the roster's addresses and open with the employee's password and not without;
a re-run sends nothing new; changed figures go out once as a marked correction; a batch with errors
sends nothing unless an operator names employees; a refused message is retried by the next run and a
possibly delivered one never is; salaries and ID numbers stay out of the logs and the workbook.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import pypdfium2
import pytest
from openpyxl import load_workbook

from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
from backroom.bots.payslips.state import PayslipStore
from backroom.bots.payslips.tax import Cumulative
from backroom.bots.sdk.testing import make_context, make_params
from tests.fixtures.payslips import Person, compute, make_people, write_payroll_csv, write_payroll_xlsx, write_roster

CONFIG = PayslipsConfig(company="示例科技有限公司", sender="hr@example.com")
MARCH = dt.datetime(2026, 3, 31, 2, 0, tzinfo=dt.UTC)


@dataclass
class Smtp:
    port: int
    messages: list = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """aiosmtpd on loopback that records each accepted message and refuses the recipients in ``refuse``."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    from backroom.sandbox.server import free_port

    server = Smtp(free_port())

    class Handler:
        async def handle_RCPT(self, _server, _session, envelope, address, _options):
            if address in server.refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, _server, _session, envelope):
            message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            server.messages.append((list(envelope.rcpt_tos), message))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def _run(tmp_path: Path, smtp: Smtp, *, clock: dt.datetime = MARCH, **params: object):
    ctx = make_context(
        tmp_path,
        "payslips",
        systems={"mail": {"kind": "smtp", "url": f"smtp://127.0.0.1:{smtp.port}"}},
        config=CONFIG,
        clock=lambda: clock,
    )
    values = {"payroll": "payroll.xlsx", "roster": "roster.xlsx", "month": clock.date(), **params}
    try:
        return Payslips().run(ctx, make_params(PayslipsParams, ctx, **values)), ctx
    finally:
        ctx.close()


def _batch(tmp_path: Path, people: list[Person]) -> None:
    write_payroll_xlsx(tmp_path / "payroll.xlsx", people)
    write_roster(tmp_path / "roster.xlsx", people)


def _pdf(message) -> bytes:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    return parts[0].get_content()


def test_payslips_arrive_encrypted_and_a_rerun_sends_nothing(tmp_path: Path, smtp: Smtp, caplog) -> None:
    people = make_people(8, CONFIG)  # two per department: a department total is no one's salary
    _batch(tmp_path, people)
    caplog.set_level(logging.DEBUG, logger="backroom")
    result, _ = _run(tmp_path, smtp)
    assert result.status == "succeeded", result.summary
    assert result.counts["sent"] == 8 and result.counts["check_failures"] == 0
    assert sorted(rcpt[0] for rcpt, _ in smtp.messages) == sorted(p.email for p in people)

    by_address = {rcpt[0]: message for rcpt, message in smtp.messages}
    for person in people:
        message = by_address[person.email]
        assert message["Subject"] == "示例科技有限公司 2026年3月 工资条"
        pdf = _pdf(message)
        with pytest.raises(pypdfium2.PdfiumError):
            pypdfium2.PdfDocument(pdf)
        with pytest.raises(pypdfium2.PdfiumError):
            pypdfium2.PdfDocument(pdf, password="000000")
        doc = pypdfium2.PdfDocument(pdf, password=person.id_number[-6:])
        text = doc[0].get_textpage().get_text_range()
        doc.close()
        assert person.name in text and f"{person.figures['实发工资']:,.2f}" in text
        assert "人民币大写" in text and "元" in text
        body = message.get_body(("html",)).get_content()
        assert str(person.figures["实发工资"]) not in body  # the notice body carries no figures

    # nothing personal in the log or the workbook
    logged = caplog.text
    for person in people:
        for secret in (person.id_number, person.account, f"{person.figures['实发工资']}", person.id_number[-6:]):
            assert secret not in logged
    book = load_workbook(result.outputs["workbook"])
    cells = " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row)
    assert people[0].id_number not in cells and people[0].email not in cells and "已发送" in cells
    for person in people:
        assert f"{person.figures['实发工资']}" not in cells

    again, _ = _run(tmp_path, smtp)
    assert again.counts["sent"] == 0 and again.counts["already_sent"] == 8
    assert len(smtp.messages) == 8


def test_the_gbk_csv_export_is_sent_the_same_way(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(3, CONFIG)
    write_payroll_csv(tmp_path / "payroll.csv", people)
    write_roster(tmp_path / "roster.xlsx", people)
    result, _ = _run(tmp_path, smtp, payroll="payroll.csv")
    assert result.counts["sent"] == 3 and len(smtp.messages) == 3


def test_changed_figures_go_out_once_as_a_marked_correction(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(3, CONFIG)
    _batch(tmp_path, people)
    _run(tmp_path, smtp)
    people[1].earnings["绩效"] += D(300)
    compute(people[1], CONFIG, Cumulative())
    _batch(tmp_path, people)
    result, _ = _run(tmp_path, smtp)
    assert result.counts["sent"] == 1 and result.counts["corrections"] == 1 and result.counts["already_sent"] == 2
    rcpt, message = smtp.messages[-1]
    assert rcpt == [people[1].email] and message["Subject"].startswith("【更正】")
    again, _ = _run(tmp_path, smtp)
    assert again.counts["sent"] == 0 and len(smtp.messages) == 4
    rows = PayslipStore(make_context(tmp_path, "payslips", config=CONFIG).engine).for_month("2026-03")
    assert [(r["employee_no"], r["version"], r["status"]) for r in rows if r["employee_no"] == "E00002"] == [
        ("E00002", 1, "sent"),
        ("E00002", 2, "sent"),
    ]


def test_a_batch_with_errors_sends_nothing_unless_overridden_for_named_employees(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(3, CONFIG)
    people[0].figures["实发工资"] += D(1)
    _batch(tmp_path, people)
    held, _ = _run(tmp_path, smtp)
    assert held.status == "failed" and held.counts["held"] == 3 and held.counts["sent"] == 0
    assert smtp.messages == []
    book = load_workbook(held.outputs["workbook"])
    problems = list(book["校验问题"].iter_rows(values_only=True))
    assert any(r[3] == "E00001" and r[5] == "实发工资" for r in problems[1:])

    overridden, _ = _run(tmp_path, smtp, override=["E00002", "E00003"])
    assert overridden.counts["sent"] == 2 and overridden.counts["held"] == 1
    assert sorted(r[0] for r, _ in smtp.messages) == sorted([people[1].email, people[2].email])


def test_a_refused_payslip_is_retried_next_run_and_only_it(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(3, CONFIG)
    _batch(tmp_path, people)
    smtp.refuse = {people[2].email}
    first, _ = _run(tmp_path, smtp)
    assert first.counts["sent"] == 2 and first.counts["failed"] == 1 and first.status == "failed"
    smtp.refuse = set()
    second, _ = _run(tmp_path, smtp)
    assert second.counts["sent"] == 1 and second.counts["already_sent"] == 2
    assert [r for r, _ in smtp.messages] == [[people[0].email], [people[1].email], [people[2].email]]
    assert not smtp.messages[-1][1]["Subject"].startswith("【更正】")


def test_a_send_interrupted_midway_is_never_repeated_without_a_person(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(2, CONFIG)
    _batch(tmp_path, people)
    ctx = make_context(tmp_path, "payslips", config=CONFIG)
    PayslipStore(ctx.engine).begin(  # what a run killed after handing over the message leaves
        key="2026-03:E00001:1",
        month="2026-03",
        employee_no="E00001",
        version=1,
        digest="x",
        recipient="e***@example.com",
        message_id="<m@backroom>",
        run_id="killed",
        attempted_at=MARCH,
    )
    ctx.close()
    result, _ = _run(tmp_path, smtp)
    assert result.counts["uncertain"] == 1 and result.counts["sent"] == 1
    assert [r for r, _ in smtp.messages] == [[people[1].email]]


def test_the_next_month_takes_the_prior_months_from_backrooms_records(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(2, CONFIG)
    _batch(tmp_path, people)
    assert _run(tmp_path, smtp)[0].counts["sent"] == 2
    # April: the right tax needs March's figures; no year-to-date sheet is given
    april = dt.datetime(2026, 4, 30, 2, 0, tzinfo=dt.UTC)
    for person in people:
        march = person.figures
        special = sum((march[k] for k in ("养老", "医疗", "失业", "住房公积金")), D(0))
        compute(
            person, CONFIG, Cumulative().plus(person.gross, special, person.additional, withheld=march["个人所得税"])
        )
    _batch(tmp_path, people)
    result, _ = _run(tmp_path, smtp, clock=april)
    assert result.counts["check_failures"] == 0 and result.counts["sent"] == 2
    assert smtp.messages[-1][1]["Subject"] == "示例科技有限公司 2026年4月 工资条"


def test_the_address_comes_from_the_roster_never_the_sheet(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(2, CONFIG)
    write_payroll_xlsx(tmp_path / "payroll.xlsx", people)
    people[0].email = "moved@example.org"
    write_roster(tmp_path / "roster.xlsx", people)
    _run(tmp_path, smtp)
    assert sorted(r[0] for r, _ in smtp.messages) == sorted(["moved@example.org", people[1].email])


def test_check_only_and_dry_run_send_and_record_nothing(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(2, CONFIG)
    _batch(tmp_path, people)
    result, _ = _run(tmp_path, smtp, check_only=True)
    assert result.counts["checked"] == 2 and smtp.messages == []
    ctx = make_context(tmp_path, "payslips", config=CONFIG)
    assert PayslipStore(ctx.engine).prior(2026, 4) == {}
    ctx.close()


def test_a_roster_entry_without_an_address_or_id_is_reported_not_guessed(tmp_path: Path, smtp: Smtp) -> None:
    people = make_people(3, CONFIG)
    write_payroll_xlsx(tmp_path / "payroll.xlsx", people)
    people[0].email = ""
    people[1].id_number = ""
    write_roster(tmp_path / "roster.xlsx", people)
    result, _ = _run(tmp_path, smtp)
    assert (result.counts["no_address"], result.counts["no_password"], result.counts["sent"]) == (1, 1, 1)
    assert result.status == "failed" and [r for r, _ in smtp.messages] == [[people[2].email]]


def test_a_ytd_sheet_stands_in_for_months_backroom_did_not_run(tmp_path: Path, smtp: Smtp) -> None:
    from openpyxl import Workbook

    people = make_people(2, CONFIG)
    before = Cumulative(2, D(50000), D(8000), D(4000), withheld=D("600.00"))
    for person in people:
        compute(person, CONFIG, before)  # March, after two months paid before Backroom was installed
    _batch(tmp_path, people)
    held, _ = _run(tmp_path, smtp, check_only=True)
    assert held.counts["check_failures"] == 2  # without the year so far, March's 个税 looks wrong
    book = Workbook()
    book.active.append(["工号", "累计月数", "累计收入", "累计专项扣除", "累计专项附加扣除", "累计已预扣税额"])
    for person in people:
        book.active.append([person.no, 2, 50000, 8000, 4000, 600])
    book.save(tmp_path / "ytd.xlsx")
    result, _ = _run(tmp_path, smtp, ytd="ytd.xlsx")
    assert result.counts["check_failures"] == 0 and result.counts["sent"] == 2

"""The payroll sheet as HR keeps it, and each check failing on a crafted error (located: row, employee, column)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from pydantic import ValidationError

from backroom.bots.formats.payroll import PayrollSheetError, read_payroll
from backroom.bots.payslips.checks import Issue, check_batch, parse_lines
from backroom.bots.payslips.config import PayrollColumns, PayslipsConfig
from backroom.bots.payslips.roster import read_roster, read_ytd
from backroom.bots.payslips.tax import Cumulative
from tests.fixtures.payslips import Person, compute, make_people, write_payroll_csv, write_payroll_xlsx, write_roster

CONFIG = PayslipsConfig()


def _check(tmp_path: Path, people: list[Person], *, prior=None, roster_people=None, totals=None) -> list[Issue]:
    sheet = read_payroll(write_payroll_xlsx(tmp_path / "payroll.xlsx", people, totals=totals))
    roster = read_roster(write_roster(tmp_path / "roster.xlsx", roster_people or people), CONFIG.roster_columns)
    lines, issues = parse_lines(sheet, CONFIG.columns)
    return issues + check_batch(sheet, lines, CONFIG, roster, prior or {})


def test_merged_two_row_headers_hidden_columns_and_the_totals_row(tmp_path: Path) -> None:
    people = make_people(5, CONFIG)
    sheet = read_payroll(write_payroll_xlsx(tmp_path / "p.xlsx", people))
    assert "应发工资/基本工资" in sheet.headers and "扣款/个人所得税" in sheet.headers
    assert "实发工资" in sheet.headers and "姓名" in sheet.headers  # spans both rows: no group
    assert sheet.hidden == ["身份证号", "银行账号"]
    assert len(sheet.rows) == 5 and sheet.rows[0].line == 3
    assert sheet.totals is not None and sheet.totals.line == 8
    lines, issues = parse_lines(sheet, CONFIG.columns)
    assert issues == []
    assert lines[0].id_number == people[0].id_number  # a hidden column is still data
    assert lines[0].gross == people[0].gross and lines[0].net == people[0].figures["实发工资"]


def test_the_gbk_csv_export_reads_as_the_same_sheet(tmp_path: Path) -> None:
    people = make_people(4, CONFIG)
    xlsx = read_payroll(write_payroll_xlsx(tmp_path / "p.xlsx", people))
    csv = read_payroll(write_payroll_csv(tmp_path / "p.csv", people, encoding="gbk"))
    assert csv.headers == xlsx.headers
    a, _ = parse_lines(xlsx, CONFIG.columns)
    b, issues = parse_lines(csv, CONFIG.columns)
    assert issues == [] and [x.figures() for x in a] == [x.figures() for x in b]


def test_a_correct_batch_passes_every_check(tmp_path: Path) -> None:
    assert _check(tmp_path, make_people(8, CONFIG)) == []


def _only(issues: list[Issue]) -> Issue:
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


def test_components_not_summing_to_gross(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    people[1].earnings["绩效"] += D(100)  # a component changed, 应发 and the rest left as they were
    gross_stated = people[1].figures["应发合计"]
    people[1].figures["应发合计"] = gross_stated  # unchanged on purpose
    issues = [i for i in _check(tmp_path, people) if i.column == "应发工资/应发合计" and i.employee_no]
    found = _only(issues)
    assert (found.row, found.employee_no) == (4, "E00002")
    assert "components sum to" in found.message
    assert "2026年3月工资表" in str(found) and "row 4" in str(found)


def test_net_not_gross_minus_deductions(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    people[2].figures["实发工资"] += D("0.10")
    found = _only([i for i in _check(tmp_path, people) if i.employee_no])
    assert (found.employee_no, found.column) == ("E00003", "实发工资")


def test_totals_row_not_the_column_sums(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    from tests.fixtures.payslips import _totals

    totals = _totals(people)
    totals[8] = D(totals[8]) + D(1)  # 绩效
    found = _only(_check(tmp_path, people, totals=totals))
    assert found.column == "应发工资/绩效" and found.row == 6 and found.employee_no == ""


def test_tax_recomputed_by_the_cumulative_method_flags_a_difference(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    people[0].figures["个人所得税"] += D(5)
    people[0].figures["实发工资"] -= D(5)  # the sheet is consistent; only the tax is wrong
    found = _only(_check(tmp_path, people))
    assert (found.employee_no, found.column) == ("E00001", "扣款/个人所得税")
    assert "累计预扣法" in found.message


def test_tax_uses_the_prior_months(tmp_path: Path) -> None:
    people = make_people(2, CONFIG)
    prior = {"E00001": Cumulative(2, D(60000), D(9000), D(0), withheld=D(1230))}
    compute(people[0], CONFIG, prior["E00001"])  # the March figures, given January and February
    assert _check(tmp_path, people, prior=prior) == []
    # without the prior months, the same March looks like a first month: flagged
    found = _only(_check(tmp_path, people))
    assert found.employee_no == "E00001" and found.column == "扣款/个人所得税"


def test_a_ytd_sheet_gives_the_prior_months(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["工号", "累计月数", "累计收入", "累计专项扣除", "累计专项附加扣除", "累计已预扣税额"])
    book.active.append(["E00001", 2, "60,000.00", 9000, 0, "1230.00"])
    book.save(tmp_path / "ytd.xlsx")
    assert read_ytd(tmp_path / "ytd.xlsx", CONFIG.ytd_columns) == {
        "E00001": Cumulative(2, D(60000), D(9000), D(0), withheld=D("1230.00"))
    }


def test_a_contribution_off_its_rate_of_the_base(tmp_path: Path) -> None:
    people = make_people(2, CONFIG)
    people[1].figures["养老"] += D(10)
    people[1].figures["实发工资"] -= D(10)
    issues = _check(tmp_path, people)
    assert any(i.column == "扣款/养老" and i.employee_no == "E00002" and "0.08 of base" in i.message for i in issues)


def test_a_base_outside_the_configured_bounds(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    config = PayslipsConfig(columns=PayrollColumns(insurance_base="缴费基数", special_additional=None))
    people = make_people(2, config)
    for p in people:
        p.additional = D(0)
        compute(p, config, Cumulative())
    path = write_payroll_xlsx(tmp_path / "p.xlsx", people)
    book = load_workbook(path)
    ws = book.active
    ws.cell(1, 18, "缴费基数")
    ws.cell(3, 18, 5000)  # below the city's minimum 7460
    ws.cell(4, 18, float(people[1].gross))
    ws.cell(5, 18).value = None  # the totals row leaves the base blank
    book.save(path)
    sheet = read_payroll(path)
    roster = read_roster(write_roster(tmp_path / "r.xlsx", people), config.roster_columns)
    lines, issues = parse_lines(sheet, config.columns)
    issues += check_batch(sheet, lines, config, roster, {})
    assert {i.employee_no for i in issues} == {"E00001"}, [str(i) for i in issues]
    assert any(i.column == "缴费基数" and "outside 7460–37302" in i.message for i in issues)


def test_an_employee_missing_from_the_roster_and_duplicates(tmp_path: Path) -> None:
    people = make_people(3, CONFIG)
    twin = make_people(3, CONFIG)[2]
    issues = _check(tmp_path, [*people, twin], roster_people=people[:2])
    messages = {(i.employee_no, i.column, i.message.split(":")[0]) for i in issues if i.employee_no}
    assert ("E00003", "工号", "not on the HR roster") in messages
    assert ("E00003", "工号", "employee number appears 2 times in the sheet") in messages
    assert ("E00003", "身份证号", "the same ID number appears on 2 rows") in messages


def test_a_cell_that_is_not_an_amount(tmp_path: Path) -> None:
    people = make_people(2, CONFIG)
    people[0].earnings["津贴"] = "五百"  # type: ignore[assignment]
    people[0].figures["应发合计"] = people[0].figures["应发合计"]
    sheet = read_payroll(write_payroll_xlsx(tmp_path / "p.xlsx", people, totals=["合计"]))
    lines, issues = parse_lines(sheet, CONFIG.columns)
    found = _only(issues)
    assert (found.row, found.employee_no, found.column) == (3, "E00001", "应发工资/津贴")
    assert "expected an amount" in found.message and len(lines) == 1


def test_a_mapped_column_the_sheet_lacks_names_the_file_and_the_columns(tmp_path: Path) -> None:
    config = PayslipsConfig(columns=PayrollColumns(net="实发金额"))
    sheet = read_payroll(write_payroll_xlsx(tmp_path / "p.xlsx", make_people(1, config)))
    with pytest.raises(
        PayrollSheetError, match=r"p.xlsx \[2026年3月工资表\]: mapped columns not found: net → '实发金额'"
    ):
        parse_lines(sheet, config.columns)


def test_the_mapping_is_validated_as_config() -> None:
    with pytest.raises(ValidationError, match="blank"):
        PayslipsConfig.model_validate({"columns": {"net": " "}})
    with pytest.raises(ValidationError, match="base_max"):
        PayslipsConfig.model_validate(
            {"contributions": {"pension": {"rate": "0.08", "base_min": 9000, "base_max": 100}}}
        )
    with pytest.raises(ValidationError):
        PayslipsConfig.model_validate({"contributions": {"pension": {"rate": "8"}}})

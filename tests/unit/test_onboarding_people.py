"""The new-hire and leaver lists: read as HR writes them, and bad rows named by file, line and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from backroom.bots.formats.payroll import PayrollSheetError
from backroom.bots.onboarding.people import read_hires, read_leavers

HEADER = ["姓名", "工号", "身份证号", "部门", "岗位", "入职日期", "直属上级", "手机", "邮箱"]


def _book(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_hires_read_with_dates_and_logins(tmp_path: Path) -> None:
    path = _book(
        tmp_path / "h.xlsx",
        [HEADER, ["周专员", 1001, "", "客服部", "客服专员", dt.datetime(2026, 3, 2), "M1", "", "Zhou@Example.com"]],
    )
    (hire,) = read_hires(path)
    assert (hire.employee_no, hire.start, hire.login, hire.manager_no) == (
        "1001",
        dt.date(2026, 3, 2),
        "zhou@example.com",
        "M1",
    )


def test_a_bad_date_and_a_missing_address_are_located(tmp_path: Path) -> None:
    bad_date = _book(
        tmp_path / "d.xlsx", [HEADER, ["周", "A1", "", "客服部", "客服专员", "下周一", "", "", "z@example.com"]]
    )
    with pytest.raises(PayrollSheetError, match=r"d.xlsx line 2, 入职日期: expected a date, found '下周一'"):
        read_hires(bad_date)
    no_mail = _book(tmp_path / "m.xlsx", [HEADER, ["周", "A1", "", "客服部", "客服专员", "2026-03-02", "", "", ""]])
    with pytest.raises(PayrollSheetError, match=r"m.xlsx line 2, 邮箱: expected an e-mail address"):
        read_hires(no_mail)


def test_a_list_without_its_columns_says_which(tmp_path: Path) -> None:
    path = _book(tmp_path / "l.xlsx", [["工号", "离职日期"], ["A1", "2026-03-16"]])
    with pytest.raises(PayrollSheetError, match="expected columns 最后工作日"):
        read_leavers(path)

"""Bad statement files give specific errors or findings: file, line, field, what was expected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.formats.statements import PreviousStatement, StatementError, check_statement, parse_statement
from tests.fixtures.reconcile import MARCH


def test_truncated_csv_names_the_line(write_bank_statement) -> None:
    path = write_bank_statement("csv")
    raw = path.read_bytes()
    cut = raw[: raw.index(b"\r\n", len(raw) // 2) + 20]  # stops in the middle of a row
    path.write_bytes(cut)
    with pytest.raises(StatementError, match="truncated") as err:
        parse_statement(path)
    assert err.value.line is not None and err.value.line > 4
    assert str(path) in str(err.value)


def test_truncated_xlsx(write_bank_statement) -> None:
    path = write_bank_statement("xlsx")
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(StatementError, match="damaged or truncated"):
        parse_statement(path)


def test_truncated_mt940_has_no_closing_balance(write_bank_statement) -> None:
    path = write_bank_statement("mt940")
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index(":62F:")], encoding="utf-8")
    with pytest.raises(StatementError, match=r"no closing balance \(:62F:/:62M:\): the file looks truncated"):
        parse_statement(path)


def test_truncated_camt_names_the_xml_line(write_bank_statement) -> None:
    path = write_bank_statement("camt053")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StatementError, match="malformed or truncated") as err:
        parse_statement(path)
    assert err.value.line and err.value.line > 10


def test_unknown_layout_names_the_columns_seen(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes("Buchungstag,Umsatz,Verwendungszweck\n01.03.2024,100,Miete\n".encode("gb18030"))
    with pytest.raises(StatementError, match="unknown statement layout") as err:
        parse_statement(path)
    message = str(err.value)
    for column in ("'Buchungstag'", "'Umsatz'", "'Verwendungszweck'"):
        assert column in message
    assert "交易日期" in message  # says what was expected


def test_stray_characters_in_amount(write_bank_statement) -> None:
    path = write_bank_statement("csv")
    text = path.read_bytes().decode("gb18030").splitlines()
    row = text[5].split(",")
    row[5] = '"1,2O0.00"'  # the letter O, not zero
    text[5] = ",".join(row)
    path.write_bytes("\r\n".join(text).encode("gb18030"))
    with pytest.raises(StatementError) as err:
        parse_statement(path)
    assert err.value.line == 6
    assert err.value.field == "发生额"
    assert "1,2O0.00" in str(err.value)


def test_wrong_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "big5.csv"
    path.write_bytes("交易日期,交易金額,摘要\n2024-03-01,100.00,貨款\n".encode("big5"))
    with pytest.raises(StatementError, match=r"another encoding \(Big5\?") as err:
        parse_statement(path)
    assert err.value.line == 1


def test_undecodable_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("交易日期,交易金额\n".encode("gb18030") + "2024-03-01,1.00,Café,\n".encode("latin-1"))
    with pytest.raises(StatementError, match=r"not valid UTF-8 or GB18030 at byte \d+") as err:
        parse_statement(path)
    assert err.value.line == 2


def test_profile_encoding_mismatch_is_reported(tmp_path: Path) -> None:
    from backroom.bots.formats.statements import Profile

    path = tmp_path / "utf8.csv"
    path.write_bytes("交易日期,交易金额\n2024-03-01,1.00\n".encode())
    profile = Profile(name="strict-gbk", encoding="gbk", date=["交易日期"], amount=["交易金额"])
    with pytest.raises(StatementError, match="not valid GBK"):
        parse_statement(path, [profile])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\r\n")
    with pytest.raises(StatementError, match="empty"):
        parse_statement(path)


def test_balance_check_catches_a_missing_line(write_bank_statement) -> None:
    path = write_bank_statement("mt940")
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith(":61:"))
    del lines[first : first + 2]  # drop one :61:/:86: pair: the file still parses
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    (st,) = parse_statement(path)
    findings = check_statement(st)
    assert [f.code for f in findings] == ["balance"]
    assert "lines are missing" in findings[0].message


def test_running_balance_break_in_csv(write_bank_statement) -> None:
    path = write_bank_statement("csv")
    text = path.read_bytes().decode("gb18030").split("\r\n")
    del text[6]
    path.write_bytes("\r\n".join(text).encode("gb18030"))
    with pytest.raises(StatementError, match="running balance breaks") as err:
        parse_statement(path)
    assert err.value.line == 7


def test_opening_does_not_continue_previous_closing(write_bank_statement, bank_data) -> None:
    (st,) = parse_statement(write_bank_statement("xlsx"))
    previous = PreviousStatement(st.account, st.opening_balance - Decimal("0.01"), MARCH[0] - dt.timedelta(days=1))
    (finding,) = check_statement(st, previous)
    assert finding.code == "continuity" and finding.severity == "error"
    assert str(st.opening_balance) in finding.message


def test_gap_between_statements(write_bank_statement, bank_data) -> None:
    (st,) = parse_statement(write_bank_statement("xlsx", dt.date(2024, 3, 10), dt.date(2024, 3, 20)))
    previous = PreviousStatement(st.account, st.opening_balance, dt.date(2024, 3, 5))
    (finding,) = check_statement(st, previous)
    assert finding.code == "gap" and "2024-03-06 to 2024-03-09" in finding.message


def test_same_file_and_same_statement_twice(write_bank_statement) -> None:
    (first,) = parse_statement(write_bank_statement("xlsx"))
    (again,) = parse_statement(write_bank_statement("xlsx", name="copy.xlsx"))
    (as_csv,) = parse_statement(write_bank_statement("csv"))
    assert [f.code for f in check_statement(again, seen_digests={first.digest: "march.xlsx"})] == ["duplicate-file"]
    keys = {ln.key for ln in first.lines}
    codes = [f.code for f in check_statement(as_csv, seen_digests={first.digest: "march.xlsx"}, seen_line_keys=keys)]
    assert codes == ["duplicate-statement"]

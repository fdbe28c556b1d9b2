"""Every Chinese bank layout reads to its own truth: lines, sums, balances, currency, names.

The files are written by :mod:`tests.fixtures.bank_exports` as each bank's portal lays them out
(title block, padded labels, 合计 footer, disclaimer, encodings, .xls/.xlsx); the expected figures
come from the transactions written, and where the file prints a 合计 row the parser checks it too.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.formats.statements import StatementError, check_statement, parse_statement
from tests.fixtures.bank_exports import ACCOUNT, LAYOUTS, TXS, Layout, write_sample


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.name for lay in LAYOUTS])
def test_bank_layout_reads_to_its_truth(layout: Layout, tmp_path: Path) -> None:
    sample = write_sample(layout, tmp_path)
    (st,) = parse_statement(sample.path)
    assert st.format == f"table:{layout.name}" and st.bank == layout.bank
    assert st.account == ACCOUNT
    assert st.currency == sample.currency
    assert {ln.currency for ln in st.lines} == {sample.currency}
    assert len(st.lines) == sample.lines
    assert sum(ln.amount for ln in st.lines if ln.amount > 0) == sample.credits
    assert -sum(ln.amount for ln in st.lines if ln.amount < 0) == sample.debits
    assert st.opening_balance == sample.opening and st.closing_balance == sample.closing
    assert sorted(ln.amount for ln in st.lines) == sorted(sample.amounts)
    assert check_statement(st) == []
    by_amount = {ln.amount: ln for ln in st.lines}
    big = by_amount[Decimal("1234567.89")]
    assert big.counterparty_name == "深圳某某科技股份有限公司"
    assert "HT-2024-017" in big.purpose
    if any(kind == "acct" or kind == "combined" for _, kind in layout.columns):
        assert big.counterparty_account == "755912345678901"
    if any(kind == "bank" for _, kind in layout.columns):
        assert big.counterparty_bank == "招商银行深圳分行"
    if any(kind == "serial" for _, kind in layout.columns):
        assert big.bank_line_id == "A0005"
    assert len({ln.key for ln in st.lines}) == len(TXS)  # the two identical fees stay two lines
    assert not any("温馨提示" in ln.purpose for ln in st.lines)


def test_table_of_layouts_covers_every_big_bank_both_kinds() -> None:
    covered = {(lay.bank, lay.name.split("-")[1]) for lay in LAYOUTS}
    banks = {"ICBC", "ABC", "BOC", "CCB", "BOCOM", "CMB", "SPDB", "CITIC", "CIB", "CMBC", "PSBC"}
    assert covered == {(b, k) for b in banks for k in ("personal", "corporate")}
    formats = {"csv-gbk", "csv-gb18030", "csv-utf8", "csv-utf8-bom", "xls", "xls-biff5", "xlsx"}
    assert {lay.fmt for lay in LAYOUTS} == formats


def test_padded_labels_give_currency_holder_and_period(tmp_path: Path) -> None:
    """CCB's .xls (BIFF5, codepage 936): 账　　号：/币　　种：美元 in the title; USD must not come out CNY."""
    layout = next(lay for lay in LAYOUTS if lay.name == "ccb-personal")
    path = write_sample(layout, tmp_path).path
    assert path.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and "账".encode("gbk") in path.read_bytes()
    (st,) = parse_statement(path)
    assert st.currency == "USD" and st.holder == "张某"
    assert (st.period_start.isoformat(), st.period_end.isoformat()) == ("2024-03-01", "2024-03-31")
    assert any("温馨提示" in n for n in st.notes)  # the disclaimer is kept as a note, not a line


def test_footer_total_that_disagrees_is_an_error(tmp_path: Path) -> None:
    """A 合计 row is the file's own reading: a line dropped on the way must not pass silently."""
    layout = next(lay for lay in LAYOUTS if lay.name == "icbc-personal")
    path = write_sample(layout, tmp_path).path
    text = path.read_bytes().decode("gbk").splitlines()
    dropped = [ln for ln in text if "3,250.50" not in ln]  # one debit line gone, 合计 unchanged
    path.write_bytes("\r\n".join(dropped).encode("gbk"))
    with pytest.raises(StatementError, match=r"total of debits is 91270\.50 but its lines add to 88020\.00") as exc:
        parse_statement(path)
    assert exc.value.line is not None


def test_row_with_amounts_but_no_date_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("交易日期,收入金额,支出金额,余额\n2024-03-01,100.00,,100.00\n见附件,200.00,,300.00\n", "utf-8")
    with pytest.raises(StatementError, match=r"line 3.*expected a date"):
        parse_statement(path)


@pytest.mark.parametrize("flag", ["借 Dr", "借Dr", "DR", "D", "借方", "支出"])
def test_debit_flag_spellings(flag: str, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(f"交易日期,借贷标志,发生额\n2024-03-01,{flag},100.00\n2024-03-02,贷 Cr,5.00\n", "utf-8")
    (st,) = parse_statement(path)
    assert [ln.amount for ln in st.lines] == [Decimal("-100.00"), Decimal("5.00")]


def test_unknown_layout_error_quotes_the_header_not_the_title(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("某某银行账户交易明细清单,打印日期,2024-04-01\n交易日期,奇怪列,另一列,对方户名\n", "utf-8")
    with pytest.raises(StatementError, match="'交易日期', '奇怪列'") as exc:
        parse_statement(path)
    assert "明细清单" not in str(exc.value)


def test_a_dated_line_whose_purpose_says_heji_is_still_a_line(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        "交易日期,合计说明,收入金额,支出金额,余额\n"
        "2024-03-01,合计付款,,100.00,900.00\n"
        "合计,,0.00,100.00,\n"
        "温馨提示：仅供参考,,,,\n",
        "utf-8",
    )
    (st,) = parse_statement(path)
    assert [ln.amount for ln in st.lines] == [Decimal("-100.00")]
    assert st.notes == ["温馨提示:仅供参考"]


def test_corporate_file_with_two_accounts_is_refused_without_showing_them(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text(
        "账号,交易日期,借方发生额,贷方发生额\n"
        "6222020200112233445,2024-03-01,10.00,\n"
        "6222020200119998887,2024-03-01,,5.00\n",
        "utf-8",
    )
    with pytest.raises(StatementError, match="several accounts") as exc:
        parse_statement(path)
    assert "…3445" in str(exc.value) and "6222020200112233445" not in str(exc.value)


def test_tab_padded_comma_file_with_more_tabs_than_commas(tmp_path: Path) -> None:
    """ICBC pads each cell with a tab: a full row has more tabs than commas, and is still CSV."""
    rows = [["交易日期", "摘要", "收入金额", "支出金额", "余额", "对方户名"]] + [
        [f"2024-03-0{d}", "转账", "1,000.00", "0.00", f"{1000 * d:,}.00", "某某公司"] for d in range(1, 6)
    ]
    text = "\r\n".join(",".join(f"\t{c}" if "," not in c else f'"\t{c}"' for c in r) for r in rows)
    assert text.count("\t") > text.count(",") - text.count('"')
    path = tmp_path / "icbc.csv"
    path.write_bytes(text.encode("gbk"))
    (st,) = parse_statement(path)
    assert [ln.amount for ln in st.lines] == [Decimal("1000.00")] * 5 and st.closing_balance == Decimal("5000.00")


def test_tab_separated_file_with_thousands_commas(tmp_path: Path) -> None:
    text = "交易日期\t交易金额\t余额\n2024-03-01\t1,234.50\t1,234.50\n2024-03-02\t-34.50\t1,200.00\n"
    path = tmp_path / "t.txt"
    path.write_text(text, "utf-8")
    (st,) = parse_statement(path)
    assert [ln.amount for ln in st.lines] == [Decimal("1234.50"), Decimal("-34.50")]


def test_an_unexpected_flag_column_still_signs_the_amount(tmp_path: Path) -> None:
    """A BOC file whose newer export adds 借贷 next to 金额: amounts are not taken as signed."""
    path = tmp_path / "boc.csv"
    path.write_text(
        "中国银行 交易流水明细\n记账日期,金额,借贷,对方账户名,对方卡号/账号\n"
        "2024-03-01,100.00,借,某某公司,6222000011112222\n2024-03-02,30.00,贷,某某公司,6222000011112222\n",
        "utf-8",
    )
    (st,) = parse_statement(path)
    assert st.bank == "BOC" and [ln.amount for ln in st.lines] == [Decimal("-100.00"), Decimal("30.00")]


def test_rmb_is_cny(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("币种：RMB\n交易日期,交易金额,币种\n2024-03-01,5.00,RMB\n", "utf-8")
    (st,) = parse_statement(path)
    assert st.currency == "CNY" and st.lines[0].currency == "CNY"

"""Every statement format reads to the same lines and balances."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.formats.statements import Profile, check_statement, parse_amount, parse_statement
from tests.fixtures.reconcile import ACCOUNT, MARCH


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "mt940", "camt053"])
def test_sandbox_formats_agree(fmt: str, write_bank_statement, bank_data) -> None:
    expected = bank_data.statement(ACCOUNT, *MARCH)
    (st,) = parse_statement(write_bank_statement(fmt))
    assert st.account == ACCOUNT
    assert st.currency == "CNY"
    assert st.opening_balance == expected.opening
    assert st.closing_balance == expected.closing
    assert st.first_date == MARCH[0] and st.last_date == MARCH[1]
    assert [ln.amount for ln in st.lines] == [ln.amount for ln in expected.lines]
    assert [ln.bank_line_id for ln in st.lines] == [ln.line_id for ln in expected.lines]
    assert all(isinstance(ln.amount, Decimal) for ln in st.lines)
    assert st.lines[0].counterparty_name.replace(" ", "") == expected.lines[0].counterparty
    assert check_statement(st) == []


def test_csv_is_gb18030_with_padded_headers(write_bank_statement) -> None:
    path = write_bank_statement("csv")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "　对方户名　".encode("gb18030") in raw
    (st,) = parse_statement(path)
    assert st.format == "table:flag"
    assert any(ln.amount > 10000 for ln in st.lines)  # "12,345.67" read through the separators


MT942 = """:20:INTRADAY1
:25:6222020200112233445
:28C:00061/1
:34F:CNY0,
:13D:2403011200+0800
:61:2403010301C1500,00NTRFINV20240300001//B1
:86:/NAME/北京字节跳动科技有限公司/EREF/INV20240300001/REMI/货款
:61:2403010301D230,50NTRFNONREF//B2
:86:/NAME/中国电信/REMI/话费
:90D:1CNY230,50
:90C:1CNY1500,00
-"""


def test_mt942_intraday(tmp_path: Path) -> None:
    path = tmp_path / "intraday.942"
    path.write_text(MT942, encoding="utf-8")
    (st,) = parse_statement(path)
    assert st.format == "mt942"
    assert [ln.amount for ln in st.lines] == [Decimal("1500.00"), Decimal("-230.50")]
    assert st.lines[0].counterparty_name == "北京字节跳动科技有限公司"
    assert st.lines[0].reference == "INV20240300001"
    assert st.opening_balance is None
    assert [f.code for f in check_statement(st)] == ["no-balance"]


CAMT052 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"><BkToCstmrAcctRpt><GrpHdr><MsgId>R1</MsgId>
</GrpHdr><Rpt><Id>RPT-1</Id><Acct><Id><IBAN>CN0012345678</IBAN></Id><Ccy>USD</Ccy></Acct>
<Ntry><Amt Ccy="USD">99.95</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><DtTm>2024-03-04T10:00:00</DtTm></BookgDt>
<AcctSvcrRef>X-1</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>PO-778812</EndToEndId></Refs>
<RltdPties><Cdtr><Pty><Nm>Acme Ltd</Nm></Pty></Cdtr></RltdPties><RmtInf><Ustrd>PO-778812 parts</Ustrd></RmtInf>
</TxDtls></NtryDtls></Ntry></Rpt></BkToCstmrAcctRpt></Document>"""


def test_camt052_report(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(CAMT052, encoding="utf-8")
    (st,) = parse_statement(path)
    assert st.format == "camt.052" and st.account == "CN0012345678" and st.currency == "USD"
    (ln,) = st.lines
    assert ln.amount == Decimal("-99.95") and ln.counterparty_name == "Acme Ltd"
    assert ln.reference == "PO-778812" and ln.booking_date == dt.date(2024, 3, 4)


OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240331<LANGUAGE>ENG</SONRS>
</SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>121000248<ACCTID>000111222<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>
<DTSTART>20240301<DTEND>20240331
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240305<TRNAMT>1200.00<FITID>F1<NAME>GLOBEX CORP<MEMO>INV-5521</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240306<TRNAMT>-45.10<FITID>F2<NAME>BANK FEE<MEMO>MONTHLY FEE</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>5154.90<DTASOF>20240331</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_ofx(tmp_path: Path) -> None:
    path = tmp_path / "stmt.ofx"
    path.write_text(OFX, encoding="ascii")
    (st,) = parse_statement(path)
    assert st.format == "ofx" and st.account == "000111222"
    assert [ln.amount for ln in st.lines] == [Decimal("1200.00"), Decimal("-45.10")]
    assert st.closing_balance == Decimal("5154.90") and st.opening_balance == Decimal("4000.00")
    assert st.lines[0].purpose == "INV-5521" and st.lines[0].bank_line_id == "F1"


BAI2 = """01,BANKID,CUSTID,240305,0800,1,,,2/
02,CUSTID,BANKID,1,240304,2400,USD,2/
03,000111222,USD,010,400000,,,015,512500,,/
16,175,150000,0,BR1,CR1,ORDER 9981/
16,475,37500,0,BR2,CHK102,CHECK PAID/
49,1100000,4/
98,1100000,1,6/
99,1100000,1,8/
"""


def test_bai2(tmp_path: Path) -> None:
    path = tmp_path / "stmt.bai"
    path.write_text(BAI2, encoding="ascii")
    (st,) = parse_statement(path)
    assert st.format == "bai2" and st.account == "000111222"
    assert [ln.amount for ln in st.lines] == [Decimal("1500.00"), Decimal("-375.00")]
    assert st.opening_balance == Decimal("4000.00") and st.closing_balance == Decimal("5125.00")
    assert check_statement(st) == []


def test_custom_profile_and_newest_first(tmp_path: Path) -> None:
    text = (
        "记账日,收支,交易额,结余,往来户名,说明\n"
        "2024-03-03,支出,200.00,1300.00,上海某某有限公司,房租\n"
        "2024-03-02,收入,500.00,1500.00,北京某某有限公司,INV001234 货款\n"
    )
    path = tmp_path / "odd.csv"
    path.write_bytes(text.encode("gbk"))
    profile = Profile(
        name="odd-bank",
        date=["记账日"],
        amount=["交易额"],
        direction=["收支"],
        balance=["结余"],
        counterparty_name=["往来户名"],
        purpose=["说明"],
    )
    (st,) = parse_statement(path, [profile], account="ACC-1")
    assert st.format == "table:odd-bank" and st.account == "ACC-1"
    assert [ln.amount for ln in st.lines] == [Decimal("500.00"), Decimal("-200.00")]  # put in date order
    assert st.opening_balance == Decimal("1000.00") and st.closing_balance == Decimal("1300.00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", "1234.50"),
        ("￥１，２３４．５０", "1234.50"),
        ("(88.10)", "-88.10"),
        ("88.10-", "-88.10"),
        ("RMB 1 000.00", "1000.00"),
        ("-0.01", "-0.01"),
        ("1234元", "1234"),
        ("", None),
    ],
)
def test_parse_amount(text: str, expected: str | None) -> None:
    assert parse_amount(text) == (Decimal(expected) if expected else None)


def test_mt940_file_with_two_statements(tmp_path: Path, bank_data) -> None:
    from backroom.sandbox.bank import write_statement

    first = bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 3))
    second = bank_data.statement(ACCOUNT, dt.date(2024, 3, 4), dt.date(2024, 3, 6))
    path = tmp_path / "two.sta"
    path.write_bytes(write_statement(first, "mt940") + b"\r\n" + write_statement(second, "mt940"))
    a, b = parse_statement(path)
    assert a.closing_balance == b.opening_balance == first.closing
    assert len(a.lines) + len(b.lines) == len(first.lines) + len(second.lines)
    assert check_statement(b) == []


def test_utf8_bom_signed_layout_and_identical_lines(tmp_path: Path) -> None:
    text = (
        "\ufeff招商银行 账户交易明细\n"
        "账号: 7559 1234 5678 901\n"
        "交易日,交易金额,对方户名,摘要\n"
        '2024-03-01,"-10.00",招商银行,手续费\n'
        '2024-03-01,"-10.00",招商银行,手续费\n'
        '2024-03-01,"+1,500.00",（北京）某某科技有限公司,INV20240301\n'
    )
    path = tmp_path / "cmb.csv"
    path.write_text(text, encoding="utf-8")
    (st,) = parse_statement(path)
    assert st.format == "table:signed" and st.account == "755912345678901"
    assert [ln.amount for ln in st.lines] == [Decimal("-10.00"), Decimal("-10.00"), Decimal("1500.00")]
    assert len({ln.key for ln in st.lines}) == 3  # the two identical fees stay two lines
    assert st.lines[2].counterparty_name == "(北京)某某科技有限公司"


def test_old_xls_export(tmp_path: Path, bank_data) -> None:
    """Old portals still export BIFF .xls: dates as day numbers, amounts as floats."""
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls fixture (test extra)")
    pytest.importorskip("xlrd", reason="xlrd reads .xls statements (dependency)")
    expected = bank_data.statement(ACCOUNT, dt.date(2024, 3, 1), dt.date(2024, 3, 5))
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("明细")
    ws.write(0, 0, f"账号：{ACCOUNT}  币种：人民币")
    for col, name in enumerate(["交易日期", "交易流水号", "对方户名", "支出金额", "收入金额", "余额"]):
        ws.write(2, col, name)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for row, ln in enumerate(expected.lines, start=3):
        ws.write(row, 0, dt.datetime.combine(ln.date, dt.time()), date_style)
        ws.write(row, 1, ln.line_id)
        ws.write(row, 2, ln.counterparty)
        ws.write(row, 3 if ln.amount < 0 else 4, float(abs(ln.amount)))
        ws.write(row, 5, float(ln.balance))
    path = tmp_path / "old.xls"
    book.save(str(path))
    (st,) = parse_statement(path)
    assert st.account == ACCOUNT and st.format == "table:debit-credit"
    assert [ln.amount for ln in st.lines] == [ln.amount for ln in expected.lines]
    assert st.lines[0].booking_date == expected.lines[0].date
    assert st.opening_balance == expected.opening and st.closing_balance == expected.closing

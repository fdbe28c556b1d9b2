"""MT940/MT942 as banks write them, camt references and currency, OFX 2.x: each case on a file.

The MT940 files in ``tests/data/statements`` are written in the banks' own layouts (ABN AMRO's
slash-keyed ``:86:`` and continuation pages, a German SEPA bank's ``?``-subfields inside SWIFT
envelopes). Their figures are compared with the ``mt940`` package's own reading of the pages
and with the file's own balances.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.formats.statements import (
    StatementError,
    check_statement,
    detect_format,
    parse_statement,
    read_statements,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"

# file -> per statement: lines, credits, debits, opening, closing, currency (read off the file by hand)
TABLE = {
    "abnamro_pages.sta": [
        (4, "250.00", "118.00", "3236.28", "3368.28", "EUR"),
        (1, "0", "9", "3368.28", "3359.28", "EUR"),
    ],
    "sepa_de.sta": [(4, "2540.00", "1240.00", "1000.00", "2300.00", "EUR")],
}


def _library_reading(path: Path) -> list[tuple[int, Decimal, Decimal, str]]:
    """The reference package's pages, joined where :62M: continues into :60M:."""
    import mt940

    out: list[tuple[int, Decimal, Decimal, str]] = []
    for page in mt940.parse_statements(path.read_text("utf-8"), processors={"post_transaction_details": []}):
        d = page.data
        if "final_opening_balance" in d:
            bal = d["final_opening_balance"]
            out.append((0, Decimal(bal.amount.amount), Decimal(0), bal.amount.currency))
        n, opening, _, cur = out[-1]
        closing = d.get("final_closing_balance") or d.get("intermediate_closing_balance")
        out[-1] = (n + len(page.transactions), opening, Decimal(closing.amount.amount), cur)
    return out


@pytest.mark.parametrize("name", sorted(TABLE))
def test_mt940_table_against_reference_reading(name: str) -> None:
    path = DATA / name
    statements = parse_statement(path)
    expected = TABLE[name]
    assert len(statements) == len(expected)
    reference = _library_reading(path)
    for st, (lines, credits, debits, opening, closing, cur), ref in zip(statements, expected, reference, strict=True):
        assert len(st.lines) == lines == ref[0]
        assert sum(ln.amount for ln in st.lines if ln.amount > 0) == Decimal(credits)
        assert -sum(ln.amount for ln in st.lines if ln.amount < 0) == Decimal(debits)
        assert st.opening_balance == Decimal(opening) == ref[1]
        assert st.closing_balance == Decimal(closing) == ref[2]
        assert st.currency == cur == ref[3]
        assert check_statement(st) == []  # the file's own balances agree with the lines


def test_continuation_pages_are_one_statement() -> None:
    first, _ = parse_statement(DATA / "abnamro_pages.sta")
    assert first.notes == ["2 pages joined"] and first.period_end.isoformat() == "2011-05-23"


def test_reversals_take_the_right_sign() -> None:
    """RC reverses a credit: money goes out; RD reverses a debit: money comes back."""
    first, _ = parse_statement(DATA / "abnamro_pages.sta")
    assert [ln.amount for ln in first.lines][-1] == Decimal("-100.00")  # RC
    (de,) = parse_statement(DATA / "sepa_de.sta")
    assert de.lines[1].amount == Decimal("40.00")  # RD


def test_structured_86_slash_and_sepa_subfields() -> None:
    first, _ = parse_statement(DATA / "abnamro_pages.sta")
    paid = first.lines[2]
    assert (paid.counterparty_name, paid.counterparty_account) == ("ACME BV", "NL46ABNA0499998748")
    assert (paid.reference, paid.purpose) == ("E2E-0042", "FACTUUR 2011-0042")
    assert first.lines[3].reference == ""  # EREF NOTPROVIDED is no reference
    (de,) = parse_statement(DATA / "sepa_de.sta")
    a, b, c, fee = de.lines
    assert (a.counterparty_name, a.counterparty_account) == ("Muster Handel GmbH", "DE89370400440532013000")
    assert (a.reference, a.purpose) == ("RG-2024-0042", "Rechnung RG-2024-0042 vom 15.02.2024")
    assert b.counterparty_name == "Stadtwerke Beispielstadt"  # ?32 + ?33 across a line break
    assert (c.counterparty_name, c.reference, c.purpose) == ("Immobilien Meyer KG", "", "Miete Maerz")
    assert fee.purpose == "Kontofuehrung"


def test_same_20_in_every_statement_gives_no_key_collision() -> None:
    """ABN AMRO writes the same :20: in every statement; lines without a bank id still differ."""
    statements = parse_statement(DATA / "abnamro_pages.sta")
    keys = [ln.key for st in statements for ln in st.lines]
    assert len(keys) == len(set(keys)) == 5
    assert all(ln.bank_line_id == "" for st in statements for ln in st.lines)
    again = [ln.key for st in parse_statement(DATA / "abnamro_pages.sta") for ln in st.lines]
    assert again == keys  # a reload reproduces the same identities


def test_partly_broken_file_keeps_its_good_statements() -> None:
    good, errors = read_statements(DATA / "abnamro_broken.sta")
    assert [st.statement_id for st in good] == ["ABN AMRO BANK NV/19321", "ABN AMRO BANK NV/19323"]
    (err,) = errors
    assert err.line == 37 and "statement 3" in str(err) and ":60F:" in str(err)
    with pytest.raises(type(err), match="statement 3"):
        parse_statement(DATA / "abnamro_broken.sta")  # the strict reader refuses the whole file


def test_page_without_its_continuation_is_truncated(tmp_path: Path) -> None:
    text = (DATA / "abnamro_pages.sta").read_text("utf-8")
    cut = tmp_path / "cut.sta"
    cut.write_text(text[: text.rindex(":20:", 0, text.index(":28:19321/2"))], "utf-8")
    with pytest.raises(StatementError, match=r"intermediate balance \(:62M:\) but no next page.*truncated") as exc:
        read_statements(cut)
    assert exc.value.line == 4  # where the unfinished statement starts


def test_ns_field_is_kept_in_the_purpose(tmp_path: Path) -> None:
    path = tmp_path / "ns.sta"
    path.write_text(
        ":20:X\n:25:PL61109010140000071219812874\n:28C:1/1\n:60F:C240301PLN100,00\n"
        ":61:2403010301D10,00NTRFNONREF\n:86:020~00PRZELEW\n:NS:22Faktura FV/2024/03/001\n"
        ":62F:C240301PLN90,00\n-\n",
        "utf-8",
    )
    (st,) = parse_statement(path)
    assert "Faktura FV/2024/03/001" in st.lines[0].purpose and st.currency == "PLN"


CAMT_NO_CCY = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">150.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt>
<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
<Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
</TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""


def test_camt_currency_from_balances_and_structured_reference(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_text(CAMT_NO_CCY, "utf-8")
    (st,) = parse_statement(path)
    assert st.currency == "EUR" and {ln.currency for ln in st.lines} == {"EUR"}
    assert st.lines[0].reference == "RF18539007547034 539007547034"
    assert len({ln.key for ln in st.lines}) == 2 and check_statement(st) == []


def test_bad_camt_statement_rejects_only_itself(tmp_path: Path) -> None:
    """Two accounts' statements in one camt file: a bad amount in the second keeps the first."""
    first = CAMT_NO_CCY.split("<Stmt>", 1)[1].split("</Stmt>", 1)[0]
    second = first.replace("<Id>S1</Id>", "<Id>S2</Id>").replace("DE89370400440532013000", "DE02120300000000202051")
    second = second.replace(
        '<Ntry><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt>',
        '<Ntry><Amt Ccy="EUR">25,OO</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt>',
        1,
    )
    text = CAMT_NO_CCY.replace("</Stmt>", f"</Stmt>\n<Stmt>{second}</Stmt>", 1)
    path = tmp_path / "two.xml"
    path.write_text(text, "utf-8")
    good, errors = read_statements(path)
    assert [st.statement_id for st in good] == ["S1"] and len(good[0].lines) == 2
    (err,) = errors
    bad_line = text.splitlines().index(next(x for x in text.splitlines() if "25,OO" in x)) + 1
    assert "statement 2 (<Id> S2)" in str(err) and err.line == bad_line and err.field == "Ntry"
    with pytest.raises(StatementError, match="statement 2"):
        parse_statement(path)  # the strict reader refuses the whole file


def test_camt_reference_is_used_for_matching() -> None:
    from backroom.bots.reconcile.matching import Item, MatchSettings, match_items

    bank = Item.make("b1", 1, Decimal("25.00"), "EUR", "", "RF18539007547034 539007547034", "")
    book = [
        Item.make("L1", 1, Decimal("25.00"), "EUR", "", "539007547034", ""),
        Item.make("L2", 1, Decimal("25.00"), "EUR", "", "539007547099", ""),
    ]
    outcome = match_items([bank], book, MatchSettings())
    assert [(m.bank, m.ledger, m.rule) for m in outcome.matches] == [(("b1",), ("L1",), "reference")]


OFX2 = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20240331120000</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>121000248</BANKID><ACCTID>9876543210</ACCTID>
<ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM><BANKTRANLIST><DTSTART>20240301</DTSTART><DTEND>20240331</DTEND>
<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20240305</DTPOSTED><TRNAMT>1500.00</TRNAMT><FITID>F1</FITID>
<NAME>ACME INC</NAME><MEMO>INV-2024-031</MEMO></STMTTRN>
<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240307</DTPOSTED><TRNAMT>-200.00</TRNAMT><FITID>F2</FITID>
<NAME>RENT LLC</NAME></STMTTRN></BANKTRANLIST>
<LEDGERBAL><BALAMT>2300.00</BALAMT><DTASOF>20240331</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_ofx_2_xml_is_detected_and_read(tmp_path: Path) -> None:
    path = tmp_path / "s.ofx"
    path.write_text(OFX2, "utf-8")
    assert detect_format(path, OFX2.encode()) == "ofx"
    (st,) = parse_statement(path)
    assert (st.account, st.currency, st.closing_balance) == ("9876543210", "USD", Decimal("2300.00"))
    assert [ln.amount for ln in st.lines] == [Decimal("1500.00"), Decimal("-200.00")]

"""Real banks' statement files, published with the reference parsers, read as their libraries read them.

The files (tests/data/statements/public/, sources and licences in its README.md) come from the
source distributions of ``mt-940`` (ABN AMRO, ING, Rabobank, Knab, SNS, Triodos, PostFinance,
German SEPA banks), ``ofxparse`` (OFX 1.x SGML and 2.x XML) and ``bai2`` (Citi, SVB, NatWest).
Each statement's lines, credits, debits, opening/closing balance and currency are compared with the
reference library's own reading of the same file (for OFX, the file's own tags read by a regex).
Several samples were anonymised by hand and no longer balance (opening + movements != closing): the
reconcile bot's checks reject those, which is right; here only the reading is compared.
"""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.bots.formats.statements import Statement, read_statements

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "statements" / "public"

Row = tuple[int, Decimal, Decimal, Decimal | None, Decimal | None, str]

# file, statements, lines, sum of credits, sum of debits, first opening, last closing, currencies
TABLE = [
    ("bai2/citi_example.bai2", 1, 1, "0.01", "0", "100", "100", "GBP"),
    ("bai2/nwb_example.bai2", 1, 5, "0.89", "-27.65", "365.21", "338.45", "GBP"),
    ("bai2/svb_us_example.bai2", 2, 2, "13959.96", "0", "347269.79", "361229.75", "USD"),
    ("mt940/betterplace_sepa_mt9401.sta", 20, 97, "5188474.94", "-14457610.84", "-1234718.36", "50.05", "EUR"),
    ("mt940/betterplace_sepa_snippet.sta", 2, 11, "1430745.72", "-3574069.11", "766656.49", "-4472049.09", "EUR"),
    ("mt940/cmxl_mt940.sta", 3, 16, "72436.74", "-60109.44", "84349.74", "50040.00", "DEM/EUR/PLN"),
    ("mt940/jejik_abnamro.sta", 2, 10, "0", "-345.93", "3236.28", "1849.75", "EUR"),
    ("mt940/jejik_ing.sta", 1, 7, "4.68", "-50.27", "0.00", "3.47", "EUR"),
    ("mt940/jejik_knab.sta", 2, 3, "1000", "-7260", "0", "798.98", "EUR"),
    ("mt940/jejik_postfinance.sta", 1, 4, "239.3", "-79.9", "0", "159.6", "CHF"),
    ("mt940/jejik_rabobank-iban.sta", 2, 4, "0", "-70.00", "1000.00", "930.00", "EUR"),
    ("mt940/jejik_rabobank.sta", 4, 5, "0", "-1589.09", "473.17", "4101.82", "EUR"),
    ("mt940/jejik_sns.sta", 2, 2, "0", "-25.00", "1234.56", "1209.56", "EUR"),
    ("mt940/jejik_triodos.sta", 1, 2, "0", "-715.70", "4975.09", "4370.79", "EUR"),
    ("ofx/anzcc.ofx", 1, 1, "0", "-5.50", "-117.95", "-123.45", "AUD"),
    ("ofx/bank_medium.ofx", 1, 3, "0", "-345.27", "727.61", "382.34", "CAD"),
    ("ofx/checking.ofx", 1, 3, "0.01", "-59.51", "160.49", "100.99", "USD"),
    ("ofx/multiple_accounts2.ofx", 2, 0, "0", "0", "111", "222", "USD"),
    ("ofx/suncorp.ofx", 1, 1, "0", "-16.85", "1250.97", "1234.12", "AUD"),
]

# The mt-940 package signs "RC" (reversal of a credit: money out) as a credit. The file's own
# balances side with the standard: statement 1 and 5 of this file only balance with RC as a debit.
REFERENCE_SIGNS_RC_WRONG = {"mt940/betterplace_sepa_mt9401.sta"}


def _row(amounts: list[Decimal], opening: object, closing: object, currency: str) -> Row:
    return (
        len(amounts),
        sum((a for a in amounts if a > 0), Decimal(0)),
        sum((a for a in amounts if a < 0), Decimal(0)),
        None if opening is None else Decimal(str(opening)),
        None if closing is None else Decimal(str(closing)),
        currency,
    )


def _ours(statements: list[Statement]) -> list[Row]:
    return [
        _row([ln.amount for ln in st.lines], st.opening_balance, st.closing_balance, st.currency) for st in statements
    ]


def _mt940_reference(path: Path, *, rc_as_debit: bool) -> list[Row]:
    """mt-940 on each :20: block; blocks joined where :62M: closes one and :60M: opens the next."""
    import mt940

    text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
    starts = [m.start() for m in re.finditer(r"(?m)^:20:", text)]
    rows: list[list] = []
    joinable = False
    for block in (text[s:e] for s, e in zip(starts, [*starts[1:], len(text)], strict=True)):
        parsed = mt940.parse(block)
        data = parsed.data
        amounts = []
        for tx in parsed.transactions:
            amount = Decimal(str(tx.data["amount"].amount))
            if rc_as_debit and tx.data.get("status") == "RC":
                amount = -abs(amount)
            amounts.append(amount)
        opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
        closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
        continues = joinable and "final_opening_balance" not in data
        if continues:
            rows[-1][0] += amounts
            rows[-1][2] = closing
        else:
            rows.append([amounts, opening, closing, opening.amount.currency])
        joinable = "final_closing_balance" not in data
    return [_row(a, o.amount.amount if o else None, c.amount.amount if c else None, cur) for a, o, c, cur in rows]


def _ofx_reference(path: Path) -> list[Row]:
    """The file's own tags: each <STMTRS>/<CCSTMTRS>, its <TRNAMT>s, <LEDGERBAL> and <CURDEF>.

    OFX carries no opening balance: it is the closing one less the movements, as the parser derives it.
    """
    text = path.read_text("latin-1")
    rows = []
    for block in re.findall(r"<(?:CC)?STMTRS>(.*?)</(?:CC)?STMTRS>", text, re.S):
        amounts = [Decimal(a) for a in re.findall(r"<TRNAMT>\s*([-+0-9.]+)", block)]
        ledger = re.search(r"<LEDGERBAL>.*?<BALAMT>\s*([-+0-9.]+)", block, re.S)
        currency = re.search(r"<CURDEF>\s*([A-Z]{3})", block)
        closing = Decimal(ledger.group(1)) if ledger else None
        opening = closing - sum(amounts, Decimal(0)) if closing is not None else None
        rows.append(_row(amounts, opening, closing, currency.group(1) if currency else ""))
    return rows


def _bai2_reference(path: Path) -> list[Row]:
    """The bai2 package with its integrity check (the file's own control totals and record counts)."""
    from bai2 import bai2
    from bai2.constants import TypeCodeTransaction

    parsed = bai2.parse_from_string(path.read_text("ascii"), check_integrity=True)
    rows = []
    for group in parsed.children:
        for account in group.children:
            summary = {item.type_code.code: Decimal(item.amount) / 100 for item in account.header.summary_items}
            amounts = [
                (-1 if tx.type_code.transaction == TypeCodeTransaction.debit else 1) * Decimal(tx.amount) / 100
                for tx in account.children
            ]
            currency = account.header.currency or group.header.currency or "USD"
            rows.append(_row(amounts, summary.get("010"), summary.get("015"), currency))
    return rows


def _reference(name: str) -> list[Row]:
    path = PUBLIC / name
    kind = name.split("/")[0]
    if kind == "mt940":
        return _mt940_reference(path, rc_as_debit=name in REFERENCE_SIGNS_RC_WRONG)
    if kind == "ofx":
        return _ofx_reference(path)
    return _bai2_reference(path)


def _read(name: str) -> list[Statement]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ofxparse's BeautifulSoup warns about XML read as HTML
        statements, errors = read_statements(PUBLIC / name)
    assert errors == []
    return statements


@pytest.mark.parametrize(("name", "count", "lines", "credits", "debits", "opening", "closing", "currency"), TABLE)
def test_public_file_matches_the_table_and_the_reference_reading(
    name: str,
    count: int,
    lines: int,
    credits: str,
    debits: str,
    opening: str | None,
    closing: str | None,
    currency: str,
) -> None:
    statements = _read(name)
    ours = _ours(statements)
    assert ours == _reference(name)  # statement by statement
    assert len(statements) == count
    assert sum(r[0] for r in ours) == lines
    assert sum((r[1] for r in ours), Decimal(0)) == Decimal(credits)
    assert sum((r[2] for r in ours), Decimal(0)) == Decimal(debits)
    assert ours[0][3] == (None if opening is None else Decimal(opening))
    assert ours[-1][4] == (None if closing is None else Decimal(closing))
    assert "/".join(sorted({r[5] for r in ours})) == currency


def test_reference_package_signs_reversals_against_the_files_own_balances() -> None:
    """Why REFERENCE_SIGNS_RC_WRONG exists: read as the package signs RC, statement 1 does not balance."""
    (_, cr, db, op, cl, _), *_ = _mt940_reference(PUBLIC / "mt940/betterplace_sepa_mt9401.sta", rc_as_debit=False)
    assert op + cr + db != cl
    (_, our_cr, our_db, our_op, our_cl, _), *_ = _ours(_read("mt940/betterplace_sepa_mt9401.sta"))
    assert our_op + our_cr + our_db == our_cl  # the file's own balances agree with RC as money out
    assert (our_cr, our_db) == (cr - Decimal("204.88"), db - Decimal("204.88"))


def test_abnamro_statement_part_ending_at_62m_is_read_not_rejected() -> None:
    """ABN AMRO's download cuts a statement at the period's end: :60M: ... :62M:, the rest comes next time."""
    first, part = _read("mt940/jejik_abnamro.sta")
    assert part.opening_balance == Decimal("2876.84") and part.closing_balance == Decimal("1849.75")
    assert any(":62M:" in note for note in part.notes) and not first.notes


def test_investment_ofx_is_refused_with_its_reason() -> None:
    """Fidelity's brokerage statement is not a bank account's: refused by name, not imported as one."""
    from backroom.bots.formats.statements import StatementError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(StatementError, match=r"only an investment statement \(<INVSTMTRS>, account X0000001\)"):
            read_statements(PUBLIC / "ofx/fidelity-savings.ofx")


@pytest.mark.parametrize("name", [row[0] for row in TABLE])
def test_every_line_of_a_public_file_has_its_own_stable_key(name: str) -> None:
    """No two lines share a key (cmxl's sample writes the bank reference //55555 on two lines); a reload agrees."""
    keys = [ln.key for st in _read(name) for ln in st.lines]
    assert len(keys) == len(set(keys))
    assert keys == [ln.key for st in _read(name) for ln in st.lines]


def test_triodos_numbered_subfields_with_angle_brackets() -> None:
    """Triodos writes :86: as ``000>10account>20text>21text``: the account and the text are read out."""
    (st,) = _read("mt940/jejik_triodos.sta")
    fee, rent = st.lines
    assert fee.counterparty_account == "0987654321"
    assert fee.purpose == "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    assert (rent.counterparty_account, rent.purpose) == ("0133967858", "HUUR KANTOOR - FEB 2010")


def test_rabobank_empty_remi_is_no_purpose_not_the_raw_field() -> None:
    first, _ = _read("mt940/jejik_rabobank-iban.sta")
    transfer, payment = first.lines
    assert (transfer.counterparty_name, transfer.purpose) == ("CONTRA ACCOUNT HOLDER", "")
    assert transfer.reference == "01-01-2013 12:00 0030000987654321"
    assert (payment.counterparty_name, payment.purpose) == ("JOHN DOE", "Reference 201301234")

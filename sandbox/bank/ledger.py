"""The company's side of the same money, with the noise a real ledger has (see :func:`ledger_for`)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from backroom.sandbox.bank.data import CENT, BankStatement

__all__ = ["ledger_for"]

_ABBREVIATIONS = (("有限责任公司", ""), ("有限公司", ""), ("股份", ""), ("科技", "科技"))


def ledger_for(st: BankStatement, *, seed: int = 1, extra: int = 3) -> list[dict[str, Any]]:
    """The company's ledger entries for the money in ``st``, with a real ledger's noise.

    Most lines get one entry with the same amount, a booking date up to two days off and the
    counterparty written differently (without 有限公司); some incoming payments lost a bank fee
    (the ledger holds the invoice amount); one payment covers two invoices (two entries); now and
    then an entry is booked twice or names the group company that paid on the customer's behalf
    (both end up in review); and ``extra`` entries exist only in the ledger (cheques not yet
    presented).
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    n = 0
    for ln in st.lines:
        if rng.random() < 0.03:
            continue  # a true exception: the bank line has no ledger entry yet
        n += 1
        name = ln.counterparty
        if rng.random() < 0.4:
            name = name.replace("有限公司", "").replace("有限责任公司", "")
        shift = dt.timedelta(days=rng.choice([0, 0, 0, 1, -1, 2]))
        amount = ln.amount
        memo = ln.purpose
        if rng.random() < 0.08 and amount > 100:
            amount = amount + Decimal(rng.choice(["10.00", "15.00", "25.00"]))  # bank deducted its fee
            memo = f"{ln.reference} 含手续费"
        if rng.random() < 0.05 and abs(amount) > 1000:
            part = (amount * Decimal("0.4")).quantize(CENT)
            for k, value in enumerate((part, amount - part), start=1):
                rows.append(
                    {
                        "entry_id": f"JV{n:05d}-{k}",
                        "date": ln.date + shift,
                        "amount": value,
                        "currency": "CNY",
                        "counterparty": name,
                        "reference": f"{ln.reference}-{k}",
                        "memo": f"分笔 {memo}",
                    }
                )
            continue
        rows.append(
            {
                "entry_id": f"JV{n:05d}",
                "date": ln.date + shift,
                "amount": amount,
                "currency": "CNY",
                "counterparty": name,
                "reference": ln.reference if rng.random() < 0.85 else "",
                "memo": memo,
            }
        )
        if n % 25 == 10:  # booked twice by mistake: two equally good candidates, a person decides
            rows.append({**rows[-1], "entry_id": f"JV{n:05d}-D", "reference": ln.reference})
            rows[-2]["reference"] = ln.reference
        elif n % 25 == 20:  # paid by a group company on the customer's behalf: names differ
            rows[-1].update(counterparty="远景集团财务有限公司", reference="", memo="代付款")
    for k in range(extra):
        rows.append(
            {
                "entry_id": f"JV9{k:04d}",
                "date": st.end - dt.timedelta(days=k),
                "currency": "CNY",
                "amount": -Decimal(rng.randint(10_000, 900_000)) / 100,
                "counterparty": "未达供应商",
                "reference": f"CHK{k:06d}",
                "memo": "支票未兑付",
            }
        )
    return rows


# -- the portal -------------------------------------------------------------------------------------

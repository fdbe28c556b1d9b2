"""The expenses bot's part of ``backroom demo``: an inbox of generated receipts and fapiao.

Two employees' claims for one month: fapiao made out to the demo company, a till receipt, one
invoice whose QR code disagrees with its printed amount, one made out to another company, the same
invoice submitted twice, a zero-byte upload, and the claims sheet naming who claims what. No
remote system is needed: the bot reads a folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["DEMO_COMPANY", "DEMO_TAX_ID", "prepare"]

DEMO_COMPANY = "上海后屋科技有限公司"
DEMO_TAX_ID = "91310115MA1H7GKX4X"
MONTH = dt.date(2024, 5, 1)


def prepare(workdir: Path) -> DemoPart:
    import shutil

    from openpyxl import Workbook

    from backroom.sandbox.documents import Distortion, write_fapiao, write_receipt

    workdir = Path(workdir)
    folder = workdir / "expenses"
    inbox, truths = folder / "inbox", folder / "truth"
    inbox.mkdir(parents=True, exist_ok=True)
    truths.mkdir(parents=True, exist_ok=True)
    mild = Distortion(tilt=0.8, blur=0.4, noise=2.0, jpeg_quality=85, scale=0.8)
    ours = {"buyer_name": DEMO_COMPANY, "buyer_tax_id": DEMO_TAX_ID, "distortion": mild}
    made = {
        "zhang-hotel.jpg": write_fapiao(truths / "zhang-hotel.jpg", 101, issue_date=dt.date(2024, 5, 8), **ours),
        "zhang-taxi.jpg": write_fapiao(truths / "zhang-taxi.jpg", 102, issue_date=dt.date(2024, 5, 9), **ours),
        "li-software.jpg": write_fapiao(
            truths / "li-software.jpg", 103, issue_date=dt.date(2024, 5, 14), qr_mismatch=True, **ours
        ),
        "li-other-company.jpg": write_fapiao(
            truths / "li-other-company.jpg", 104, issue_date=dt.date(2024, 5, 15), distortion=mild
        ),
        "li-lunch.jpg": write_receipt(truths / "li-lunch.jpg", 105, issue_date=dt.date(2024, 5, 16), distortion=mild),
    }
    for name in made:
        shutil.copy(truths / name, inbox / name)
    # the same hotel invoice, photographed again and claimed a second time
    write_fapiao(
        truths / "zhang-hotel-again.jpg",
        101,
        issue_date=dt.date(2024, 5, 8),
        buyer_name=DEMO_COMPANY,
        buyer_tax_id=DEMO_TAX_ID,
        distortion=Distortion(tilt=-1.2, blur=0.6, noise=3.0, jpeg_quality=75, scale=0.8),
    )
    shutil.copy(truths / "zhang-hotel-again.jpg", inbox / "zhang-hotel-again.jpg")
    (inbox / "li-upload-failed.jpg").write_bytes(b"")

    book = Workbook()
    sheet = book.active
    sheet.title = "报销单"
    sheet.append(["员工", "费用类别", "报销金额", "附件"])
    sheet.append(["张三", "travel", float(made["zhang-hotel.jpg"]["total"]), "zhang-hotel.jpg, zhang-hotel-again.jpg"])
    sheet.append(["张三", "travel", float(made["zhang-taxi.jpg"]["total"]), "zhang-taxi.jpg"])
    sheet.append(["李四", "office", float(made["li-software.jpg"]["total"]), "li-software.jpg, li-other-company.jpg"])
    sheet.append(["李四", "meals", float(made["li-lunch.jpg"]["total"]), "li-lunch.jpg, li-upload-failed.jpg"])
    book.save(inbox / "claims-2024-05.xlsx")

    config = {
        "company_names": [DEMO_COMPANY],
        "company_tax_ids": [DEMO_TAX_ID],
        "category_limits": {"meals": "300.00", "travel": "8000.00", "*": "20000.00"},
        "daily_limit": "20000.00",
        "max_age_days": 90,
        "min_confidence": 0.8,
        "weekend_verdict": "review",
        "workers": 1,
    }
    return DemoPart(
        bot="expenses",
        bot_table={
            "schedule": "cron: 0 22 * * *",
            "calendar": "cn-workdays",
            "timeout": "30m",
            "roots": {"inbox": str(inbox)},
            "config": config,
        },
        params={"claim_month": MONTH.isoformat()},
        description="报销审核: OCR May's receipts and fapiao, audit them, write the claim workbook",
    )

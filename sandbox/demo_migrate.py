"""The migrate bot's part of ``backroom demo``: billing system and CRM on loopback, a local
warehouse database, a partner CSV in GBK — and four declared migrations, one of which (bills into
the CRM through its web form) is the demo's run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from backroom.sandbox import billing, crm
from backroom.sandbox.demo_base import DemoPart
from backroom.sandbox.server import start

__all__ = ["CRM_FORM_PROFILE", "prepare"]

#: The sandbox CRM's customer form as a browser-form profile (``[systems.NAME.options.profile]``).
CRM_FORM_PROFILE: dict[str, Any] = {
    "login_path": "/login",
    "login_user_label": "账号",
    "login_password_label": "密码",
    "login_button": "登录",
    "search_path": "/customers?q={key}",
    "record_link": 'a.customer[data-no="{key}"]',
    "edit_button": "编辑",
    "new_link": "新建客户",
    "key_label": "客户编号",
    "save_button": "保存",
    "saved_text": "保存成功",
    "stale_texts": ["页面已过期", "CSRF"],  # a form token from an older session: retry, do not reject
    "key_field": "customer_no",
    "record_path": "/api/customers/{key}",
    "fields": {
        "name": "姓名",
        "phone": "手机号",
        "email": "电子邮箱",
        "level": "客户等级",
        "city": "城市",
        "last_bill_no": "最近账单号",
        "last_bill_month": "最近账期",
        "last_bill_amount": "最近账单金额",
        "last_bill_status": "账单状态",
        "note": "备注",
    },
    "selects": ["level", "last_bill_status"],
}

_BILL_STATUS = {"paid": "已缴", "unpaid": "未缴", "overdue": "逾期"}


def _migrations(inbox: Path) -> dict[str, Any]:
    return {
        "bills_to_crm": {
            "description": "latest bill of each customer onto the CRM profile (web form, the CRM has no write API)",
            "source": {
                "kind": "rest",
                "system": "migrate-billing",
                "path": "/api/bills",
                "cursor": "updated_at",
                "page_size": 50,
            },
            "target": {"kind": "form", "system": "migrate-crm", "pages": 3, "newer_by": "last_bill_month"},
            "key": "customer_no",
            "batch_size": 50,
            "fields": {
                "customer_no": {"from": "customer_no", "pattern": r"C\d{6}"},
                "name": {"from": "customer_name", "required": True},
                "last_bill_no": "bill_no",
                "last_bill_month": "month",
                "last_bill_amount": {"from": "amount", "type": "decimal", "min": 0},
                "last_bill_status": {"from": "status", "map": _BILL_STATUS},
            },
        },
        "crm_to_billing": {
            "description": "customer contact changes made by agents, back into billing (REST PUT)",
            "source": {"kind": "rest", "system": "migrate-crm", "path": "/api/customers", "cursor": "updated_at"},
            "target": {"kind": "rest", "system": "migrate-billing", "path": "/api/customers"},
            "key": "customer_no",
            "fields": {
                "customer_no": "customer_no",
                "name": {"from": "name", "required": True},
                "phone": {"from": "phone", "phone": "CN", "phone_format": "national"},
                "email": "email",
            },
        },
        "bills_to_warehouse": {
            "description": "all bills into the reporting database (upsert by bill number)",
            "source": {
                "kind": "rest",
                "system": "migrate-billing",
                "path": "/api/bills",
                "cursor": "updated_at",
                "page_size": 500,
            },
            "target": {"kind": "sql", "system": "migrate-warehouse", "table": "bills"},
            "key": "bill_no",
            "batch_size": 500,
            "fields": {
                "bill_no": "bill_no",
                "customer_no": "customer_no",
                "month": "month",
                "amount": {"from": "amount", "type": "decimal"},
                "status": {"from": "status", "map": _BILL_STATUS},
                "updated_at": {"from": "updated_at", "type": "datetime"},
            },
        },
        "partner_list": {
            "description": "a partner's customer list (GBK CSV) into the warehouse",
            "source": {"kind": "files", "folder": str(inbox), "patterns": ["*.csv", "*.xlsx"]},
            "target": {"kind": "sql", "system": "migrate-warehouse", "table": "partner_customers"},
            "key": "customer_no",
            "max_reject_ratio": 0.5,
            "fields": {
                "customer_no": {"from": "客户编号", "pattern": r"C\d{6}"},
                "name": {"from": "姓名", "required": True},
                "phone": {"from": "手机", "phone": "CN", "phone_format": "national"},
                "joined": {"from": "入网日期", "type": "date"},
            },
        },
    }


def prepare(workdir: Path) -> DemoPart:
    workdir.mkdir(parents=True, exist_ok=True)
    bill_server = start(billing.create_app(seed=8, customers=6, months=1))
    crm_server = start(crm.create_app(seed=8, customers=5))  # one billing customer is new to the CRM
    inbox = workdir / "migrate-inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "partner-2024-03.csv").write_bytes(
        "客户编号,姓名,手机,入网日期\nC100001,周杰,13800138001,2024年3月1日\nC100002,林芳,1380013,2024-03-02\n".encode(
            "gbk"
        )
    )
    db = workdir / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bills (bill_no TEXT PRIMARY KEY, customer_no TEXT, month TEXT, "
            "amount NUMERIC, status TEXT, updated_at TIMESTAMP)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS partner_customers (customer_no TEXT PRIMARY KEY, name TEXT, "
            "phone TEXT, joined DATE)"
        )
    return DemoPart(
        bot="migrate",
        systems={
            # prefixed names: the demo merges every bot's systems into one config
            "migrate-billing": {
                "kind": "http",
                "url": bill_server.url,
                "token": "env:MIGRATE_BILLING_TOKEN",
                "rate_limit": 50,
            },
            "migrate-crm": {
                "kind": "browser",
                "url": crm_server.url,
                "token": "env:MIGRATE_CRM_TOKEN",
                "username": "agent",
                "password": "env:MIGRATE_CRM_PASSWORD",
                "profile": CRM_FORM_PROFILE,
            },
            "migrate-warehouse": {"kind": "sql", "url": f"sqlite:///{db}"},
        },
        bot_table={
            "schedule": "cron: 30 22 * * *",
            "calendar": "cn-workdays",
            "timeout": "1h",
            "roots": {"inbox": str(inbox)},
            "config": {"migrations": _migrations(inbox)},
        },
        params={"name": "bills_to_crm"},
        env={
            "MIGRATE_BILLING_TOKEN": billing.TOKEN,
            "MIGRATE_CRM_TOKEN": crm.TOKEN,
            "MIGRATE_CRM_PASSWORD": crm.PASSWORD,
        },
        servers=[bill_server, crm_server],
        description="bills from the billing API into the CRM's web form (3 browser pages), proved by read-back",
    )

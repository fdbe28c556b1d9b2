"""Partner files (GBK CSV behind a UTF-8 BOM with a malformed line, Excel with merged headers) → SQL."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context


def _config(inbox: Path, header_rows: int = 1, patterns: list[str] | None = None) -> Config:
    return Config.model_validate(
        {
            "migrations": {
                "partners": {
                    "source": {
                        "kind": "files",
                        "folder": str(inbox),
                        "patterns": patterns or ["*.csv"],
                        "header_rows": header_rows,
                    },
                    "target": {"kind": "sql", "system": "db", "table": "customers"},
                    "key": "customer_no",
                    "batch_size": 2,
                    "max_reject_ratio": 0.5,
                    "fields": {
                        "customer_no": {"from": "客户编号", "pattern": r"C\d{6}"},
                        "name": {"from": "姓名", "required": True},
                        "phone": {
                            "from": "手机" if header_rows == 1 else "联系方式/手机",
                            "phone": "CN",
                            "phone_format": "national",
                        },
                        "amount": {"from": "金额" if header_rows == 1 else "账单/金额", "type": "decimal"},
                    },
                }
            }
        }
    )


def _run(tmp_path: Path, db: Any, cfg: Config) -> Any:
    ctx = make_context(tmp_path, "migrate", systems={"db": {"kind": "sql", "url": db.url}}, config=cfg)
    return Migrate().run(ctx, MigrateParams(name="partners"))


def test_gbk_csv_with_bom_and_a_malformed_line(tmp_path: Path, migrate_sqlite: Any) -> None:
    migrate_sqlite.sql("CREATE TABLE customers (customer_no TEXT PRIMARY KEY, name TEXT, phone TEXT, amount NUMERIC)")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = (
        "客户编号,姓名,手机,金额\n"
        "C000001,张三,138 0013 8000,12.50\n"
        "C000002,李四,13900139000,7,多出来的一列\n"
        'C000003,王五,+86 137-0013-7000,"1,234.00"\n'
        "C000004,,13600136000,1\n"
    )
    raw = codecs.BOM_UTF8 + text.encode("gbk")
    (inbox / "2024-03-01.csv").write_bytes(raw)
    first = _run(tmp_path, migrate_sqlite, _config(inbox))
    assert first.counts["read"] == 4 and first.counts["inserted"] == 2 and first.counts["rejected"] == 2
    assert migrate_sqlite.sql("SELECT customer_no, name, phone FROM customers ORDER BY 1") == [
        ("C000001", "张三", "13800138000"),
        ("C000003", "王五", "13700137000"),
    ]
    lines = list(load_workbook(first.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
    assert lines[0][:4] == ("2024-03-01.csv:3", None, "(line)", "expected 4 fields, found 5")
    assert lines[1][0] == "2024-03-01.csv:5" and lines[1][2] == "name"
    assert (inbox / "2024-03-01.csv").read_bytes() == raw  # input untouched
    # the next run skips the file already done and takes only the new one
    (inbox / "2024-03-02.csv").write_bytes("客户编号,姓名,手机,金额\nC000005,赵六,13500135000,3\n".encode("gb18030"))
    second = _run(tmp_path, migrate_sqlite, _config(inbox))
    assert second.counts["read"] == 1 and second.counts["inserted"] == 1


def test_excel_with_merged_header_cells(tmp_path: Path, migrate_sqlite: Any) -> None:
    migrate_sqlite.sql("CREATE TABLE customers (customer_no TEXT PRIMARY KEY, name TEXT, phone TEXT, amount NUMERIC)")
    inbox = tmp_path / "xl"
    inbox.mkdir()
    book = Workbook()
    ws = book.active
    ws.append(["客户编号", "姓名", "联系方式", None, "账单"])
    ws.append([None, None, "手机", "邮箱", "金额"])
    for rng in ("A1:A2", "B1:B2", "C1:D1"):
        ws.merge_cells(rng)
    ws.append(["C000010", "Alice Wang", "13800138010", "a@example.com", 10])
    ws.append(["C000011", "陈七", "13800138011", None, "abc"])
    book.save(inbox / "partners.xlsx")
    result = _run(tmp_path, migrate_sqlite, _config(inbox, header_rows=2, patterns=["*.xlsx"]))
    assert result.counts["inserted"] == 1 and result.counts["rejected"] == 1
    assert migrate_sqlite.sql("SELECT name, phone FROM customers") == [("Alice Wang", "13800138010")]
    assert result.outputs["schema"]["unmapped"] == ["联系方式/邮箱"]


def test_an_unreadable_file_is_rejected_whole_and_the_others_go_on(tmp_path: Path, migrate_sqlite: Any) -> None:
    migrate_sqlite.sql("CREATE TABLE customers (customer_no TEXT PRIMARY KEY, name TEXT, phone TEXT, amount NUMERIC)")
    inbox = tmp_path / "mixed"
    inbox.mkdir()
    (inbox / "a-broken.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x82\x83,\n\x80\x80")
    (inbox / "b-good.csv").write_bytes("客户编号,姓名,手机,金额\nC000021,钱八,13800138021,1\n".encode("gbk"))
    ctx = make_context(
        tmp_path, "migrate", systems={"db": {"kind": "sql", "url": migrate_sqlite.url}}, config=_config(inbox)
    )
    result = Migrate().run(ctx, MigrateParams(name="partners"))
    assert result.counts["inserted"] == 1 and result.counts["rejected"] == 1
    line = list(load_workbook(result.outputs["rejects_file"]).active.iter_rows(values_only=True))[1]
    assert line[0] == "a-broken.csv" and "not UTF-8 and not GBK/GB18030" in line[3]
    assert (ctx.artifacts_dir / "rejected" / "a-broken.csv").read_bytes() == (inbox / "a-broken.csv").read_bytes()
    assert "Reason:" in (ctx.artifacts_dir / "rejected" / "a-broken.csv.why.txt").read_text(encoding="utf-8")
    assert (inbox / "a-broken.csv").exists()


def test_a_record_repeated_in_one_batch_is_written_once_last_version_wins(tmp_path: Path, migrate_sqlite: Any) -> None:
    migrate_sqlite.sql("CREATE TABLE customers (customer_no TEXT PRIMARY KEY, name TEXT, phone TEXT, amount NUMERIC)")
    inbox = tmp_path / "dups"
    inbox.mkdir()
    text = (
        "客户编号,姓名,手机,金额\nC000031,旧名,13800138031,1\nC000032,孙九,13800138032,2\nC000031,新名,13800138031,3\n"
    )
    (inbox / "d.csv").write_bytes(text.encode("gbk"))
    cfg = _config(inbox)
    cfg.migrations["partners"].batch_size = 10
    result = _run(tmp_path, migrate_sqlite, cfg)
    assert result.counts["read"] == 3 and result.counts["inserted"] == 2
    assert migrate_sqlite.sql("SELECT name, CAST(amount AS TEXT) FROM customers WHERE customer_no = 'C000031'") == [
        ("新名", "3")
    ]

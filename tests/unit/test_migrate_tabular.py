"""Reading partner files: encodings (UTF-8, BOM, GBK, GBK behind a UTF-8 BOM), bad lines, merged headers."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from openpyxl import Workbook

from backroom.bots.formats.tabular import RowError, TabularFileError, detect_encoding, headers_of, read_rows

TEXT = "客户编号,姓名,金额\nC000001,张三,12.50\nC000002,李四,7\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("gbk"), "gb18030"),
        (codecs.BOM_UTF8 + TEXT.encode("gbk"), "gb18030-bom"),
    ],
)
def test_every_encoding_reads_the_same_rows(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(raw)
    assert detect_encoding(path) == expected
    rows = list(read_rows(path))
    assert rows[0] == (2, {"客户编号": "C000001", "姓名": "张三", "金额": "12.50"})
    assert rows[1][1]["姓名"] == "李四"
    assert path.read_bytes() == raw  # the input is never rewritten


def test_gb18030_only_characters(tmp_path: Path) -> None:
    path = tmp_path / "rare.csv"
    path.write_bytes("姓名\n𠀾先生\n".encode("gb18030"))
    assert list(read_rows(path)) == [(2, {"姓名": "𠀾先生"})]


def test_malformed_lines_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes('编号,姓名,金额\n1,张三,1\n2,李四,2,多余\n3,"王五,3\n'.encode("gbk") + b"4,x,4\n")
    rows = list(read_rows(path))
    assert rows[0] == (2, {"编号": "1", "姓名": "张三", "金额": "1"})
    bad = rows[1][1]
    assert isinstance(bad, RowError) and bad.line == 3 and bad.reason == "expected 3 fields, found 4"
    assert any(isinstance(r, RowError) for _, r in rows[2:])  # the unterminated quote


def test_undecodable_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfa\x80\x81,1\n")
    with pytest.raises(TabularFileError, match=r"junk\.csv"):
        list(read_rows(path))


def test_excel_with_merged_two_row_header(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    ws.append(["客户编号", "姓名", "联系方式", None, "账单"])
    ws.append([None, None, "手机", "邮箱", "金额"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:D1")
    ws.append(["C000001", "张三", "13800138000", "z@example.com", 12.5])
    ws.append([None, None, None, None, None])
    ws.append(["C000002", "李四", "13900139000", None, 7])
    path = tmp_path / "partners.xlsx"
    book.save(path)
    assert headers_of(path, header_rows=2) == ["客户编号", "姓名", "联系方式/手机", "联系方式/邮箱", "账单/金额"]
    rows = list(read_rows(path, header_rows=2))
    assert [line for line, _ in rows] == [3, 5]
    assert rows[0][1]["联系方式/手机"] == "13800138000" and rows[1][1]["联系方式/邮箱"] is None

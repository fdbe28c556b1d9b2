"""The one encoding rule: BOMs, strict UTF-8, GBK/GB18030, Big5 refused, and one error tree."""

from __future__ import annotations

import codecs

import pytest

from backroom.bots.formats.encoding import Sniffed, decode, sniff
from backroom.bots.formats.errors import EncodingError, FormatError
from backroom.bots.formats.statements import AmountError, StatementError
from backroom.bots.formats.tabular import TabularFileError
from backroom.bots.sdk.errors import ApplicationError, BusinessError

TEXT = "交易日期,对方户名\n2024-03-01,上海启航\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TEXT.encode("utf-8"), Sniffed("utf-8")),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), Sniffed("utf-8", codecs.BOM_UTF8)),
        (TEXT.encode("gbk"), Sniffed("gb18030")),
        (TEXT.encode("gb2312"), Sniffed("gb18030")),
        (codecs.BOM_UTF8 + TEXT.encode("gbk"), Sniffed("gb18030", codecs.BOM_UTF8)),
        (TEXT.encode("utf-16"), Sniffed("utf-16")),
    ],
)
def test_each_encoding_is_recognised_and_reads_back(raw: bytes, expected: Sniffed) -> None:
    assert sniff(raw) == expected
    assert decode(raw) == TEXT


def test_a_cut_off_sample_is_no_error_but_a_complete_file_is() -> None:
    raw = TEXT.encode("utf-8") + "户".encode()[:2]  # the last character cut in half
    assert sniff(raw, complete=False) == Sniffed("utf-8")
    with pytest.raises(EncodingError):
        sniff(raw)


def test_big5_is_refused_with_the_line() -> None:
    raw = "交易日期,交易金額,摘要\n2024-03-01,100.00,貨款\n".encode("big5")
    with pytest.raises(EncodingError, match=r"Big5\?") as err:
        decode(raw)
    assert err.value.line == 1 and err.value.tried == ("utf-8", "gb18030") and err.value.foreign


def test_a_declared_encoding_is_the_only_one_tried() -> None:
    with pytest.raises(EncodingError, match="not valid GBK at byte") as err:
        decode("金额\n1\n".encode(), declared="gbk")
    assert err.value.tried == ("gbk",) and err.value.offset >= 0


def test_one_error_tree_under_business_errors() -> None:
    for kind in (EncodingError, TabularFileError, StatementError, AmountError):
        assert issubclass(kind, FormatError)
    assert issubclass(FormatError, BusinessError) and not issubclass(FormatError, ApplicationError)
    assert issubclass(AmountError, ValueError)  # callers that caught ValueError still do


def test_a_utf16_mark_in_front_of_garbage_is_no_utf16() -> None:
    with pytest.raises(EncodingError, match="not valid UTF-8 or GB18030") as err:
        sniff(b"\xff\xfe\x00garbage\x81\x82\x83,\n\x80\x80")
    assert not err.value.foreign


def test_a_list_in_no_known_encoding_is_named_by_file(tmp_path) -> None:
    from backroom.bots.formats.tabular import detect_encoding

    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe\x00garbage\x81\x82\x83,\n\x80\x80")
    with pytest.raises(TabularFileError, match=r"broken\.csv: not UTF-8 and not GBK/GB18030 \(byte \d+\)"):
        detect_encoding(path)

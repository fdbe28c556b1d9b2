"""Profiles render from a .docx template HR edits: every field in place, the photo embedded, the
missing fields listed (never a blank box), batches by department, and a PDF of each."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from docx import Document
from openpyxl import Workbook, load_workbook
from PIL import Image

from backroom.bots.formats.payroll import PayrollSheetError
from backroom.bots.profiles import Profiles, ProfilesConfig, ProfilesParams
from backroom.bots.sdk.testing import make_context, make_params


def _records(folder: Path, *, orphan: bool = False) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = "员工"
    ws.append(["工号", "姓名", "性别", "出生日期", "部门", "岗位", "入职日期", "学历", "手机", "邮箱", "照片"])
    ws.append(
        [
            "E001",
            "张三",
            "男",
            "1990-05-01",
            "客服部",
            "客服专员",
            "2024-03-01",
            "本科",
            "13800138000",
            "z@example.com",
            "e001.png",
        ]
    )
    ws.append(
        ["E002", "李四", "女", "1992-07-09", "财务部", "会计", "2025-01-06", "", "13900139000", "l@example.com", ""]
    )
    edu = book.create_sheet("教育经历")
    edu.append(["工号", "起止", "学校", "专业", "学历"])
    edu.append(["E001", "2008-2012", "复旦大学", "会计学", "本科"])
    edu.append(["E999" if orphan else "E001", "2012-2015", "同济大学", "管理学", "硕士"])
    work = book.create_sheet("工作经历")
    work.append(["工号", "起止", "单位", "职务"])
    work.append(["E001", "2015-2024", "上海某某公司", "客服主管"])
    train = book.create_sheet("培训")
    train.append(["工号", "日期", "名称"])
    train.append(["E002", "2025-02-10", "新员工培训"])
    Image.new("RGB", (60, 80), (200, 30, 30)).save(folder / "e001.png")
    book.save(folder / "hr.xlsx")
    return folder / "hr.xlsx"


def _run(tmp_path: Path, **params: object):
    ctx = make_context(tmp_path, "profiles", config=ProfilesConfig(company="示例科技有限公司"))
    try:
        return Profiles().run(ctx, make_params(ProfilesParams, ctx, records="hr.xlsx", **params)), ctx
    finally:
        ctx.close()


def _text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_profiles_render_from_the_template_with_gaps_listed(tmp_path: Path) -> None:
    _records(tmp_path)
    result, ctx = _run(tmp_path)
    assert result.counts == {"profiles": 2, "incomplete": 1}
    zhang = ctx.artifacts_dir / "profiles" / "客服部" / "E001-张三.docx"
    text = _text(zhang)
    assert "示例科技有限公司 员工档案" in text and "张三" in text and "客服专员" in text
    assert "复旦大学" in text and "同济大学" in text and "上海某某公司" in text
    assert "{{" not in text and "{%" not in text
    assert len(Document(str(zhang)).inline_shapes) == 1  # the photo
    li = _text(ctx.artifacts_dir / "profiles" / "财务部" / "E002-李四.docx")
    assert "（缺）" in li and "学历" in li and "教育经历（无记录）" in li and "新员工培训" in li
    pdf = pypdfium2.PdfDocument(str(zhang.with_suffix(".pdf")))
    assert "复旦大学" in pdf[0].get_textpage().get_text_range()
    pdf.close()
    rows = list(load_workbook(result.outputs["report"]).active.iter_rows(values_only=True))
    assert rows[2][0] == "E002" and "学历" in rows[2][4] and "照片" in rows[2][4]
    assert rows[1][4] in (None, "")


def test_hr_edits_the_template(tmp_path: Path) -> None:
    _records(tmp_path)
    doc = Document()
    doc.add_paragraph('档案：{{ p["姓名"] }}（{{ p["部门"] }}）入职 {{ p["入职日期"] }}')
    doc.save(str(tmp_path / "mine.docx"))
    _, ctx = _run(tmp_path, template="mine.docx", department="客服部")
    made = sorted(p.name for p in (ctx.artifacts_dir / "profiles").rglob("*.docx"))
    assert made == ["E001-张三.docx"]  # one department's batch
    assert (
        _text(ctx.artifacts_dir / "profiles" / "客服部" / "E001-张三.docx").strip()
        == "档案：张三（客服部）入职 2024-03-01"
    )


def test_a_record_for_someone_not_in_the_staff_sheet_is_an_error(tmp_path: Path) -> None:
    _records(tmp_path, orphan=True)
    with pytest.raises(PayrollSheetError, match=r"hr.xlsx \[教育经历\] line 3: 工号 'E999' is not in 员工"):
        _run(tmp_path)

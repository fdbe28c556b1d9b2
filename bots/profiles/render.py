"""One employee profile (员工档案): a .docx from a docxtpl template HR edits, and a PDF of the same.

The template is an ordinary Word document with Jinja tags (docxtpl): ``{{ p["姓名"] }}`` for a field,
``{{ photo }}`` for the photo, and for each part a paragraph loop::

    {%p for e in parts["教育经历"] %}
    {{ e["起止"] }}  {{ e["学校"] }}  {{ e["专业"] }}  {{ e["学历"] }}
    {%p endfor %}

A field HR has not filled shows ``（缺）`` and is listed under 待补充, never left as a blank box.
:func:`write_default_template` writes the built-in layout, which HR can copy and edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backroom.bots.profiles.records import PARTS, Person

__all__ = ["MISSING", "Profile", "render_docx", "render_pdf", "write_default_template"]

MISSING = "（缺）"
_SHOWN = ("工号", "姓名", "性别", "出生日期", "部门", "岗位", "入职日期", "学历", "手机", "邮箱")
_PART_COLUMNS = {
    "教育经历": ("起止", "学校", "专业", "学历"),
    "工作经历": ("起止", "单位", "职务"),
    "证书": ("日期", "名称"),
    "培训": ("日期", "名称"),
}


@dataclass
class Profile:
    company: str
    person: Person
    photo: Path | None
    missing: list[str]

    def context(self) -> dict[str, Any]:
        fields = {k: (self.person.fields.get(k) or MISSING) for k in _SHOWN}
        parts = {
            part: [{c: row.get(c, "") for c in _PART_COLUMNS[part]} for row in self.person.parts[part]]
            for part in PARTS
        }
        return {"company": self.company, "p": fields, "parts": parts, "missing": self.missing}


def write_default_template(path: Path) -> Path:
    """The built-in layout as a docxtpl template (python-docx writes the tags as plain text)."""
    from docx import Document

    doc = Document()
    doc.add_heading("{{ company }} 员工档案", level=1)
    doc.add_paragraph("{{ photo }}")
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label in _SHOWN:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = f'{{{{ p["{label}"] }}}}'
    for part in PARTS:
        doc.add_heading(part, level=2)
        doc.add_paragraph(f'{{%p for e in parts["{part}"] %}}')
        doc.add_paragraph("    ".join(f'{{{{ e["{c}"] }}}}' for c in _PART_COLUMNS[part]))
        doc.add_paragraph("{%p endfor %}")
    doc.add_heading("待补充", level=2)
    doc.add_paragraph("{%p for m in missing %}")
    doc.add_paragraph("{{ m }}")
    doc.add_paragraph("{%p endfor %}")
    doc.save(str(path))
    return path


def render_docx(template: Path, profile: Profile, target: Path) -> Path:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    tpl = DocxTemplate(str(template))
    context = profile.context()
    context["photo"] = InlineImage(tpl, str(profile.photo), width=Mm(30)) if profile.photo else f"照片{MISSING}"
    tpl.render(context, autoescape=True)
    tpl.save(str(target))
    return target


def render_pdf(profile: Profile, target: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from backroom.bots.payslips.render import cjk_font

    font = cjk_font()
    width, height = A4
    pdf = canvas.Canvas(str(target), pagesize=A4, invariant=1)
    context = profile.context()
    y = height - 60
    pdf.setFont(font, 18)
    pdf.drawCentredString(width / 2, y, f"{profile.company} 员工档案")
    y -= 30
    if profile.photo:
        pdf.drawImage(str(profile.photo), width - 150, y - 120, width=90, height=120, preserveAspectRatio=True)
    pdf.setFont(font, 11)
    for label in _SHOWN:
        pdf.drawString(60, y, f"{label}：{context['p'][label]}")
        y -= 18

    def line(text: str, size: int = 11) -> None:
        nonlocal y
        if y < 60:
            pdf.showPage()
            y = height - 60
        pdf.setFont(font, size)
        pdf.drawString(60, y, text)
        y -= 18

    for part in PARTS:
        y -= 6
        line(f"【{part}】", 12)
        for row in context["parts"][part]:
            line("    ".join(v for v in row.values() if v))
        if not context["parts"][part]:
            line("无")
    if profile.missing:
        y -= 6
        line("【待补充】", 12)
        for item in profile.missing:
            line(item)
    pdf.showPage()
    pdf.save()
    return target

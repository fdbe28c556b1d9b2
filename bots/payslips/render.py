"""One payslip: a PDF laid out like a Chinese 工资条, encrypted with the employee's password, and an
HTML body for the e-mail that carries it.

The PDF uses the Adobe CJK font STSong-Light (a standard PDF CID font every reader has), so it stays a
few kilobytes and renders without embedding a font; it is then encrypted with AES-256 (pypdf) under a
password from the configured rule — the only place a salary or an ID number appears unmasked.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from decimal import Decimal

from backroom.bots.payslips.checks import Line

__all__ = ["Payslip", "amount_in_words", "cjk_font", "password_for", "render_html", "render_pdf"]

_FONT = "STSong-Light"
_font_ready = False


@dataclass(frozen=True)
class Payslip:
    """What one payslip states: the company and month, the employee, every figure."""

    company: str
    month: str  # 2026-03
    line: Line
    correction: bool = False

    @property
    def title(self) -> str:
        year, month = self.month.split("-")
        mark = "【更正】" if self.correction else ""
        return f"{mark}{self.company} {year}年{int(month)}月 工资条"

    def rows(self) -> list[tuple[str, str, Decimal]]:
        """(section, label, amount) in payslip order."""
        line = self.line
        out: list[tuple[str, str, Decimal]] = [("应发", k, v) for k, v in line.earnings.items()]
        out.append(("应发", "应发合计", line.gross))
        out += [
            ("扣款", "养老保险", line.pension),
            ("扣款", "医疗保险", line.medical),
            ("扣款", "失业保险", line.unemployment),
            ("扣款", "住房公积金", line.housing_fund),
            ("扣款", "个人所得税", line.iit),
        ]
        out += [("扣款", k, v) for k, v in line.other.items()]
        out.append(("扣款", "扣款合计", line.deductions))
        return out


def amount_in_words(amount: Decimal) -> str:
    """人民币大写: ``12345.60`` → 壹万贰仟叁佰肆拾伍元陆角 (negative amounts prefixed 负)."""
    import cn2an

    text = cn2an.an2cn(f"{abs(amount):.2f}", "rmb")
    return ("负" if amount < 0 else "") + text


def password_for(id_number: str, rule: str) -> str:
    """The payslip password from the roster's ID number; refuses an ID too short for the rule."""
    size = 8 if rule == "id_last8" else 6
    clean = "".join(id_number.split()).upper()
    if len(clean) < size:
        raise ValueError(f"the roster's ID number is shorter than {size} characters (rule {rule})")
    return clean[-size:]


def cjk_font() -> str:
    """The name of the CJK font registered with reportlab (registered once per process)."""
    global _font_ready
    if not _font_ready:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
        _font_ready = True
    return _FONT


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def render_pdf(slip: Payslip, password: str) -> bytes:
    """The payslip as PDF bytes, AES-256 encrypted: it opens with ``password`` and not without."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A5, landscape
    from reportlab.pdfgen import canvas

    cjk_font()
    width, height = landscape(A5)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1, invariant=1)
    pdf.setTitle(slip.title)
    pdf.setAuthor(slip.company)
    line = slip.line
    y = height - 40
    pdf.setFont(_FONT, 16)
    pdf.drawCentredString(width / 2, y, slip.title)
    y -= 26
    pdf.setFont(_FONT, 10)
    pdf.drawString(40, y, f"工号：{line.employee_no}    姓名：{line.name}    部门：{line.department}")
    pdf.drawRightString(width - 40, y, f"发放月份：{slip.month}")
    y -= 10
    pdf.line(40, y, width - 40, y)
    y -= 16
    section = None
    for part, label, amount in slip.rows():
        if part != section:
            section = part
            pdf.setFont(_FONT, 11)
            pdf.drawString(40, y, f"【{part}】")
            y -= 15
            pdf.setFont(_FONT, 10)
        pdf.drawString(70, y, label)
        pdf.drawRightString(width / 2 + 60, y, _money(amount))
        y -= 13
        if y < 70:
            pdf.showPage()
            pdf.setFont(_FONT, 10)
            y = height - 40
    y -= 4
    pdf.line(40, y, width - 40, y)
    y -= 18
    pdf.setFont(_FONT, 12)
    pdf.drawString(40, y, f"实发工资：¥{_money(line.net)}")
    y -= 16
    pdf.drawString(40, y, f"人民币大写：{amount_in_words(line.net)}")
    if slip.correction:
        y -= 18
        pdf.setFont(_FONT, 9)
        pdf.drawString(40, y, "本工资条为更正版本，替代此前发送的同月工资条。")
    pdf.showPage()
    pdf.save()

    reader = PdfReader(io.BytesIO(buffer.getvalue()))
    writer = PdfWriter(clone_from=reader)
    writer.encrypt(user_password=password, owner_password=None, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_html(slip: Payslip, *, full: bool) -> str:
    """The e-mail body. ``full`` puts every figure in it; else it says a payslip is attached and how to open it."""
    e = html.escape
    intro = (
        f"<p>{e(slip.line.name)}，您好：</p>"
        f"<p>附件是您 {e(slip.month)} 的工资条（PDF），打开密码为您身份证号的后六位。</p>"
    )
    if slip.correction:
        intro += "<p><strong>这是更正版本，替代此前发送的同月工资条。</strong></p>"
    if not full:
        return f"<html><body>{intro}<p>{e(slip.company)} 人力资源部</p></body></html>"
    rows = "".join(
        f"<tr><td>{e(part)}</td><td>{e(label)}</td><td style='text-align:right'>{_money(amount)}</td></tr>"
        for part, label, amount in slip.rows()
    )
    net = slip.line.net
    return (
        f"<html><body><h3>{e(slip.title)}</h3>{intro}<table border='1' cellspacing='0' cellpadding='4'>{rows}"
        f"<tr><th colspan='2'>实发工资</th><th style='text-align:right'>{_money(net)}</th></tr></table>"
        f"<p>人民币大写：{e(amount_in_words(net))}</p><p>{e(slip.company)} 人力资源部</p></body></html>"
    )

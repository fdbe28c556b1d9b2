"""The profiles bot's part of ``backroom demo``: HR's records workbook (staff, education, work history,
certificates, training) and photos; one person lacks a photo and a degree, to show the gaps listed."""

from __future__ import annotations

from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["prepare"]


def prepare(workdir: Path) -> DemoPart:
    from openpyxl import Workbook
    from PIL import Image, ImageDraw

    inbox = Path(workdir) / "profiles" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    staff = book.active
    staff.title = "员工"
    staff.append(["工号", "姓名", "性别", "出生日期", "部门", "岗位", "入职日期", "学历", "手机", "邮箱", "照片"])
    people = [
        ("E001", "张伟", "男", "1990-05-01", "客服部", "客服主管", "2019-03-01", "本科", "e001.png"),
        ("E002", "王芳", "女", "1993-08-12", "客服部", "客服专员", "2022-07-04", "大专", "e002.png"),
        ("E003", "李娜", "女", "1988-11-23", "财务部", "会计", "2017-09-01", "硕士", "e003.png"),
        ("E004", "刘洋", "男", "1996-02-17", "运营部", "运营专员", "2025-02-10", "", ""),
    ]
    for number, name, sex, born, dept, post, start, degree, photo in people:
        staff.append([number, name, sex, born, dept, post, start, degree, "", f"{number.lower()}@example.com", photo])
        if photo:
            image = Image.new("RGB", (240, 320), (70, 110, 160))
            ImageDraw.Draw(image).ellipse((60, 50, 180, 170), fill=(235, 205, 180))
            image.save(inbox / photo)
    education = book.create_sheet("教育经历")
    education.append(["工号", "起止", "学校", "专业", "学历"])
    education.append(["E001", "2008-2012", "华东师范大学", "汉语言文学", "本科"])
    education.append(["E002", "2011-2014", "上海电机学院", "市场营销", "大专"])
    education.append(["E003", "2006-2010", "上海财经大学", "会计学", "本科"])
    education.append(["E003", "2010-2013", "复旦大学", "会计学", "硕士"])
    work = book.create_sheet("工作经历")
    work.append(["工号", "起止", "单位", "职务"])
    work.append(["E001", "2012-2019", "上海某某电商有限公司", "客服组长"])
    work.append(["E003", "2013-2017", "某某会计师事务所", "审计员"])
    certificates = book.create_sheet("证书")
    certificates.append(["工号", "日期", "名称"])
    certificates.append(["E003", "2015-06-01", "中级会计师"])
    training = book.create_sheet("培训")
    training.append(["工号", "日期", "名称"])
    for number, *_ in people:
        training.append([number, "2025-03-15", "信息安全与个人信息保护"])
    book.save(inbox / "员工档案.xlsx")
    params = {"records": "员工档案.xlsx"}
    return DemoPart(
        bot="profiles",
        bot_table={
            "schedule": "cron: 0 9 1 * *",
            "timeout": "30m",
            "roots": {"inbox": str(inbox)},
            "params": params,  # what its schedule runs with (`backroom check` wants the required ones)
            "config": {"company": "上海后屋科技有限公司"},
        },
        params=params,
        description="简历制作: render 4 employee profiles (.docx from a template, and PDF); gaps listed",
    )

"""Profiles from HR's database: the records come from a real PostgreSQL through a ``sql`` system."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document

from backroom.bots.profiles import Profiles, ProfilesConfig, ProfilesParams
from backroom.bots.profiles.config import SqlRecords
from backroom.bots.sdk.testing import make_context, make_params

pytestmark = pytest.mark.postgres


def test_profiles_render_from_sql_records(tmp_path: Path, postgres_url: str) -> None:
    schema = f"hr_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {schema}.staff (emp_no text, name text, dept text, post text, joined date, degree text)"
            )
        )
        conn.execute(
            sa.text(f"CREATE TABLE {schema}.education (emp_no text, years text, school text, major text, degree text)")
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {schema}.staff VALUES ('E1', '张三', '客服部', '客服专员', '2024-03-01', '本科'),"
                " ('E2', '李四', '财务部', '会计', '2025-01-06', NULL)"
            )
        )
        conn.execute(
            sa.text(f"INSERT INTO {schema}.education VALUES ('E1', '2008-2012', '复旦大学', '会计学', '本科')")
        )
    sql = SqlRecords(
        system="hrdb",
        people=(
            f'SELECT emp_no AS "工号", name AS "姓名", dept AS "部门", post AS "岗位", joined AS "入职日期",'
            f' degree AS "学历" FROM {schema}.staff ORDER BY emp_no'
        ),
        parts={
            "教育经历": (
                f'SELECT emp_no AS "工号", years AS "起止", school AS "学校", major AS "专业", degree AS "学历"'
                f" FROM {schema}.education"
            )
        },
    )
    config = ProfilesConfig(sql=sql, required=["姓名", "部门", "学历"])
    ctx = make_context(tmp_path, "profiles", systems={"hrdb": {"kind": "sql", "url": postgres_url}}, config=config)
    try:
        result = Profiles().run(ctx, make_params(ProfilesParams, ctx))
        assert result.counts == {"profiles": 2, "incomplete": 1}
        doc = Document(str(ctx.artifacts_dir / "profiles" / "客服部" / "E1-张三.docx"))
        text = "\n".join(
            [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]
        )
        assert "复旦大学" in text and "2024-03-01" in text
    finally:
        ctx.close()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()

"""``backroom check`` on the HR example (payslips, onboarding, profiles): it passes as written, and a
broken column mapping is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.schedules.check import load_checked
from backroom.schedules.settings import InvalidConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "hr.toml"


FILES = {
    "payroll": ("工资表.xlsx", "花名册.xlsx"),
    "people": ("入职名单.xlsx", "离职名单.xlsx"),
    "profiles": ("员工档案.xlsx", "员工档案模板.docx"),
}


def _config(tmp_path: Path, text: str) -> Path:
    for folder, names in FILES.items():
        inbox = tmp_path / folder
        inbox.mkdir(exist_ok=True)
        for name in names:  # the params name files that must exist under the root
            (inbox / name).write_bytes(b"")
        text = text.replace(f"/srv/share/hr/{folder}", str(inbox))
    path = tmp_path / "backroom.toml"
    path.write_text(f'runs_dir = "{tmp_path / "runs"}"\n' + text, encoding="utf-8")
    return path


def test_the_example_passes_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYROLL_SMTP_PASSWORD", "x" * 12)
    monkeypatch.setenv("RT_ACCOUNTS_TOKEN", "y" * 12)
    settings = load_checked(_config(tmp_path, EXAMPLE.read_text(encoding="utf-8")))
    assert settings.bots["payslips"].config["columns"]["gross"] == "应发工资/应发合计"
    assert set(settings.bots) == {"payslips", "onboarding", "profiles"}


def test_a_broken_mapping_is_reported_where_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYROLL_SMTP_PASSWORD", "x" * 12)
    monkeypatch.setenv("RT_ACCOUNTS_TOKEN", "y" * 12)
    text = EXAMPLE.read_text(encoding="utf-8").replace('net = "实发工资"', 'net = "扣款/养老"')
    text = text.replace('rate = "0.08"', 'rate = "8"')
    with pytest.raises(InvalidConfig) as caught:
        load_checked(_config(tmp_path, text))
    report = str(caught.value)
    assert "backroom.toml: [bots.payslips.config] columns: columns mapped to more than one figure: 扣款/养老" in report
    assert "[bots.payslips.config.contributions.pension] rate: Input should be less than or equal to 1" in report

"""The built wheel adds exactly one top-level import package, ``backroom``, and carries what runs need
(templates, static files, migrations, the entry points) — the check behind "installing Backroom
clobbers nothing"."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "test-artifacts", "__pycache__", "build", "dist", "*.egg-info", ".pytest_cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(source)],
        check=True,
        timeout=600,
    )
    (built,) = work.glob("backroom-*.whl")
    return zipfile.ZipFile(built)


def test_one_top_level_package(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"backroom"}
    top_level = [n for n in wheel.namelist() if n.endswith("top_level.txt")]
    if top_level:
        assert wheel.read(top_level[0]).decode().split() == ["backroom"]


def test_the_wheel_carries_what_runs_need(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for needed in (
        "backroom/bots/sdk/context.py",
        "backroom/schedules/console/templates/base.html",
        "backroom/schedules/console/static/console.js",
        "backroom/schedules/console/static/console.css",
        "backroom/schedules/migrations/versions/0001_baseline.py",
        "backroom/sandbox/demo.py",
    ):
        assert needed in names, f"{needed} missing from the wheel"
    assert not any(n.startswith(("backroom/tests/", "backroom/config/")) for n in names)


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    (path,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(path).decode())
    assert parser["console_scripts"]["backroom"] == "backroom.schedules.cli:main"
    assert set(parser["backroom.bots"]) == {
        *("expenses", "metrics", "migrate", "reconcile", "tickets"),
        *("payslips", "onboarding", "profiles"),
    }


def test_the_demo_extra_brings_the_sandbox_dependencies(wheel: zipfile.ZipFile) -> None:
    (path,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = wheel.read(path).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for package in ("faker", "qrcode"):
        mine = [r for r in requires if r.split()[1].lower().startswith(package)]
        assert mine and all("extra ==" in r for r in mine), f"{package} must come only with an extra: {mine}"
    assert any(r.split()[1].lower().startswith("faker") and "demo" in r.split("extra ==")[1] for r in requires)

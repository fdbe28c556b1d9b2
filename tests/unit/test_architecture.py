"""The rooms' rules, held by reading every module's imports (no module is imported here).

Data flows one way: the bot SDK never imports the runner; ``ocr`` imports neither bots nor the runner;
adapters import only the SDK, file formats and their own kind; nothing outside the demo imports the
sandbox. A rule broken here is a dependency that would make one room unusable without another.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "bots": "backroom.bots",
    "ocr": "backroom.ocr",
    "schedules": "backroom.schedules",
    "sandbox": "backroom.sandbox",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[parts[0]], *parts[1:]])


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name the file imports (top level or inside functions), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _product_modules() -> list[tuple[str, Path]]:
    return sorted(
        (_module_name(path), path)
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


RULES: list[tuple[str, tuple[str, ...], tuple[str, ...], str]] = [
    # (modules under, may not import any of, except, why)
    ("backroom.bots", ("backroom.schedules", "backroom.sandbox"), (), "bots never import the runner or the demo"),
    ("backroom.bots.sdk", ("backroom.bots",), ("backroom.bots.sdk",), "the SDK stands on its own"),
    (
        "backroom.bots.systems",
        ("backroom.bots",),
        ("backroom.bots.sdk", "backroom.bots.systems", "backroom.bots.formats"),
        "adapters import only the SDK, file formats and their own kind",
    ),
    (
        "backroom.bots.formats",
        ("backroom.bots",),
        ("backroom.bots.sdk.errors", "backroom.bots.formats"),
        "file formats are parsers: they know only the SDK's errors",
    ),
    ("backroom.ocr", ("backroom.bots", "backroom.schedules", "backroom.sandbox"), (), "ocr stands on its own"),
    (
        "backroom.schedules",
        ("backroom.sandbox",),
        ("backroom.sandbox.demo",),
        "only the `backroom demo` command may reach into the demo, and only through its entry module",
    ),
    (
        "backroom.schedules.execution",
        ("backroom.schedules.history", "backroom.schedules.runner", "backroom.schedules.dispatch"),
        ("backroom.schedules.history.models",),
        "execution supervises a run and returns its outcome; only the runner writes history",
    ),
    (
        "backroom.schedules.worker",
        ("backroom.schedules", "backroom.bots"),
        (
            "backroom.schedules.pipe",
            "backroom.schedules.discovery",
            "backroom.schedules.capture",
            "backroom.schedules.scrub",
            "backroom.schedules.undumpable",
            "backroom.schedules.reaper",
            "backroom.bots.sdk",
        ),
        "a run's process loads only what the forkserver preloaded: the pipe's messages, discovery, the SDK",
    ),
    ("backroom.schedules.pipe", ("backroom",), (), "the pipe's messages are plain values (standard library only)"),
    ("backroom.schedules.capture", ("backroom",), (), "output capture runs in a run's process: standard library only"),
    ("backroom.schedules.undumpable", ("backroom",), (), "runs in a run's process: standard library only"),
    (
        "backroom.schedules.scrub",
        ("backroom",),
        ("backroom.schedules.pipe",),
        "scrubbing runs in a run's process: it knows the pipe's messages and nothing else",
    ),
    ("backroom.schedules.intake", ("backroom",), (), "intake is a pure function of fires, settings and a clock"),
    (
        "backroom.schedules.history",
        ("backroom.schedules", "backroom.bots"),
        (
            "backroom.schedules.history",
            "backroom.schedules.status",
            "backroom.schedules.outcome",
            "backroom.schedules.errors",
            "backroom.schedules.migrations",
            "backroom.bots.sdk.db",
        ),
        "the stores know their tables, their migrations, the run statuses and outcomes; nothing of the runner",
    ),
    (
        "backroom.schedules.ownership",
        ("backroom.schedules", "backroom.bots"),
        ("backroom.schedules.history", "backroom.schedules.errors"),
        "the owner lease knows the lock's store and RunnerBusy; what losing it means is the runner's",
    ),
    (
        "backroom.schedules.jobstore",
        ("backroom",),
        (),
        "the job store is APScheduler's, batched; ownership reaches it only as a fence callable",
    ),
    ("backroom.schedules.errors", ("backroom",), (), "the error tree is the bottom of the package"),
    ("backroom.schedules.status", ("backroom",), (), "statuses are the bottom of the package"),
]


def test_every_module_parses_and_rooms_are_known() -> None:
    modules = _product_modules()
    assert len(modules) > 100, "the scan found too few modules to mean anything"


@pytest.mark.parametrize(("room", "forbidden", "allowed", "why"), RULES, ids=[r[0] for r in RULES])
def test_room_imports(room: str, forbidden: tuple[str, ...], allowed: tuple[str, ...], why: str) -> None:
    broken = []
    for name, path in _product_modules():
        if not _within(name, room):
            continue
        for line, imported in _imports(path):
            if _within(imported, *forbidden) and not _within(imported, *allowed):
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, f"{why}:\n" + "\n".join(broken)


def test_no_bare_top_level_imports() -> None:
    """Everything imports as ``backroom.*``; a bare ``import bots`` would load a second copy of a module."""
    bare = []
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *(p for _, p in _product_modules())]:
        for line, imported in _imports(path):
            if imported.split(".")[0] in FOLDERS:
                bare.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not bare, "\n".join(bare)


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """Setuptools does not discover packages through a package-dir map, so a new folder must be listed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {_module_name(init) for folder in FOLDERS for init in (ROOT / folder).rglob("__init__.py")}
    assert on_disk == listed, f"missing: {sorted(on_disk - listed)}; stale: {sorted(listed - on_disk)}"


def test_bots_register_through_the_entry_point_group() -> None:
    """Backroom's own bots come in the way a company's do: the ``backroom.bots`` entry-point group."""
    from importlib.metadata import entry_points

    from backroom.bots.sdk.bot import Bot

    names = {}
    for ep in entry_points(group="backroom.bots"):
        cls = ep.load()
        assert isinstance(cls, type) and issubclass(cls, Bot), f"{ep.value} is not a Bot"
        names[ep.name] = cls.name
    hr = ("onboarding", "payslips", "profiles")
    assert names == {n: n for n in ("expenses", "metrics", "migrate", "reconcile", "tickets", *hr)}


def test_tables_are_made_by_migrations_only() -> None:
    """``create_all`` never reaches an existing database with a new column; Alembic revisions do."""
    calls = []
    for _, path in _product_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "create_all":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not calls, "tables are created by a schema's migrations (backroom.bots.sdk.db.upgrade):\n" + "\n".join(calls)


def test_revisions_spell_out_their_ddl() -> None:
    """A revision imports Alembic and SQLAlchemy only: with a model imported, a change of the model
    would silently change what an old revision does to a database that has not run it yet."""
    from backroom.bots.sdk.db import registered_schemas

    broken = []
    for schema in registered_schemas():
        revisions = [p for p in schema.location.glob("*.py") if p.name != "__init__.py"]
        assert revisions, f"schema {schema.name} has no revisions in {schema.location}"
        assert schema.location.is_relative_to(ROOT) and (schema.location / "__init__.py").exists()
        for path in revisions:
            for line, imported in _imports(path):
                top = imported.split(".")[0]  # the standard library does not move with the models either
                if top not in {"__future__", "alembic", "sqlalchemy"} and top not in sys.stdlib_module_names:
                    broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, "\n".join(broken)


def test_one_place_launches_a_browser() -> None:
    """Flags, executable, failure message and time zone are decided once, in ``bots/sdk/browser.py``."""
    allowed = {ROOT / "bots" / "sdk" / "browser.py", ROOT / "schedules" / "setup.py"}  # setup only asks for a path
    elsewhere = [
        f"{path.relative_to(ROOT)}:{line}"
        for _, path in _product_modules()
        if path not in allowed and "sandbox" not in path.parts
        for line, imported in _imports(path)
        if imported.startswith(("playwright.sync_api.sync_playwright", "playwright.async_api.async_playwright"))
    ]
    assert not elsewhere, "browsers are started through backroom.bots.sdk.browser only:\n" + "\n".join(elsewhere)

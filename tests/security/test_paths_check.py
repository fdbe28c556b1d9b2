"""Roots are configuration: ``backroom check`` reports every configured folder, watched folder and default
parameter that lies outside the bot's roots, and roots in kernel trees, before any run starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backroom.bots.sdk.secrets import SecretResolver
from backroom.schedules.check import check_settings
from backroom.schedules.settings import parse_settings


def _bots() -> dict[str, Any]:
    from backroom.bots.expenses import Expenses
    from backroom.bots.migrate import Migrate
    from backroom.bots.reconcile import Reconcile
    from backroom.bots.tickets import Tickets

    return {b.name: b for b in (Reconcile, Expenses, Tickets, Migrate)}


def _problems(home: Path, bots: dict[str, Any]) -> dict[str, str]:
    settings = parse_settings({"home": str(home), "bots": bots})
    found = check_settings(settings, _bots(), SecretResolver(environ={}))
    return {p.location: p.message for p in found}


def test_default_folders_lie_under_the_default_roots(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"reconcile": {}, "expenses": {}, "tickets": {}})
    assert not [where for where in problems if "roots" in problems[where] or "outside" in problems[where]]


def test_a_config_folder_outside_its_root_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {
            "reconcile": {"config": {"inbox": "/etc", "review_inbox": "var/inbox/reconcile/review"}},
            "tickets": {"config": {"autoclose": {"archive_dir": "var/inbox/tickets"}}},
        },
    )
    assert "outside the bot's inbox root" in problems["bots.reconcile.config.inbox"]
    assert "bots.reconcile.config.review_inbox" not in problems
    assert "outside the bot's archive root" in problems["bots.tickets.config.autoclose.archive_dir"]


def test_a_configured_root_makes_the_folder_acceptable(tmp_path: Path) -> None:
    share = tmp_path / "share"
    problems = _problems(
        tmp_path,
        {"tickets": {"roots": {"archive": str(share)}, "config": {"autoclose": {"archive_dir": str(share / "t")}}}},
    )
    assert "bots.tickets.config.autoclose.archive_dir" not in problems


def test_a_migration_file_source_outside_the_inbox_is_a_problem(tmp_path: Path) -> None:
    migration = {
        "source": {"kind": "files", "folder": "/var/lib"},
        "target": {"kind": "sql", "system": "db", "table": "t"},
        "key": ["id"],
        "fields": {"id": {"from": "id"}},
    }
    problems = _problems(tmp_path, {"migrate": {"config": {"migrations": {"partners": migration}}}})
    assert any(
        where.endswith("source.folder") and "outside the bot's inbox root" in msg for where, msg in problems.items()
    ), problems


def test_a_watched_folder_outside_the_inbox_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"expenses": {"watch": {"folder": "/srv/anywhere"}}})
    assert "outside the bot's inbox root" in problems["bots.expenses.watch.folder"]
    ok = _problems(tmp_path, {"expenses": {"watch": {"folder": "var/inbox/expenses"}}})
    assert "bots.expenses.watch.folder" not in ok


@pytest.mark.parametrize("value", ["/etc/passwd", "../../etc/passwd"])
def test_default_params_outside_the_roots_are_a_problem(tmp_path: Path, value: str) -> None:
    (tmp_path / "var/inbox/reconcile").mkdir(parents=True)
    problems = _problems(tmp_path, {"reconcile": {"params": {"statement": value}}})
    assert "refused" in problems["bots.reconcile.params.statement"]


def test_a_root_in_a_kernel_tree_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"reconcile": {"roots": {"inbox": "/proc/self"}}})
    assert "kernel or device" in problems["bots.reconcile.roots"]


def test_expenses_processed_and_rejected_stay_inside_the_inbox(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"expenses": {"config": {"processed_dir": "/var/lib", "rejected_dir": "../x"}}})
    assert "inside the inbox" in problems["bots.expenses.config.processed_dir"]
    assert "inside the inbox" in problems["bots.expenses.config.rejected_dir"]


def test_roots_default_under_home_and_follow_config(tmp_path: Path) -> None:
    settings = parse_settings(
        {"home": str(tmp_path), "runs_dir": "runs", "bots": {"expenses": {"roots": {"inbox": "/srv/share/in"}}}}
    )
    defaults = settings.roots_for("reconcile")
    assert defaults.root("inbox") == tmp_path / "var/inbox/reconcile"
    assert defaults.root("outbox") == tmp_path / "var/outbox/reconcile"
    assert defaults.root("archive") == tmp_path / "var/archive/reconcile"
    assert defaults.root("runs") == tmp_path / "runs"
    configured = settings.roots_for("expenses")
    assert configured.root("inbox") == Path("/srv/share/in")
    assert configured.root("outbox") == tmp_path / "var/outbox/expenses"

"""Inside a run: even parameters that skipped validation (built with ``model_construct``, a tampered row)
cannot make a bot read, copy, move or archive outside its roots. The second line of defence behind the
runner's validation: ``ctx.file``, ``ctx.folder``, ``ctx.inputs`` and ``ctx.roots.require``."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from backroom.bots.sdk.paths import PathRefused, Roots
from backroom.bots.sdk.testing import make_context


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """Roots under ``tmp_path/roots``; a secret and a precious file outside them."""
    roots = {name: tmp_path / "roots" / name for name in ("inbox", "outbox", "archive")}
    for folder in roots.values():
        folder.mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("root:$6$hash")
    (tmp_path / "live.db").write_bytes(b"SQLite format 3\x00")
    return {**roots, "home": tmp_path, "secret": tmp_path / "secret.txt", "db": tmp_path / "live.db"}


def _ctx(layout: dict[str, Path], bot: str, **kw: object):  # noqa: ANN202 - a Context
    folders = {k: layout[k] for k in ("inbox", "outbox", "archive")}
    return make_context(layout["home"], bot, roots=Roots({**folders, "runs": layout["home"] / "runs"}), **kw)


def test_inputs_skip_links_and_pipes_and_refuse_a_folder_outside(layout: dict[str, Path]) -> None:
    inbox = layout["inbox"]
    (inbox / "good.csv").write_text("a\n")
    os.symlink(layout["secret"], inbox / "shadow.csv")
    os.mkfifo(inbox / "pipe.csv")
    ctx = _ctx(layout, "reconcile")
    assert [p.name for p in ctx.inputs(inbox, ["*.csv"])] == ["good.csv"]
    with pytest.raises(PathRefused, match="outside the bot's roots"):
        ctx.inputs(layout["home"], ["*.txt"])


def test_expenses_never_moves_a_file_it_was_handed_from_outside(layout: dict[str, Path]) -> None:
    from backroom.bots.expenses import Expenses, ExpensesConfig, ExpensesParams

    params = ExpensesParams.model_construct(inbox=Path("."), file=layout["db"], claim_month=dt.date(2024, 5, 1))
    ctx = _ctx(layout, "expenses", config=ExpensesConfig(workers=1))
    with pytest.raises(PathRefused, match="outside the root"):
        Expenses().run(ctx, params)
    assert layout["db"].read_bytes() == b"SQLite format 3\x00"
    assert not any((layout["home"] / "roots").rglob("live.db"))


def test_expenses_inbox_param_cannot_point_outside(layout: dict[str, Path]) -> None:
    from backroom.bots.expenses import Expenses, ExpensesConfig, ExpensesParams

    params = ExpensesParams.model_construct(inbox=layout["home"], file=None, claim_month=None)
    with pytest.raises(PathRefused):
        Expenses().run(_ctx(layout, "expenses", config=ExpensesConfig(workers=1)), params)
    assert layout["secret"].exists() and not (layout["home"] / "processed").exists()


def test_expenses_move_checks_source_and_target(layout: dict[str, Path]) -> None:
    from backroom.bots.expenses.bot import _move

    ctx = _ctx(layout, "expenses")
    inside = layout["inbox"] / "r.pdf"
    inside.write_bytes(b"%PDF-")
    with pytest.raises(PathRefused, match="moving a file into"):
        _move(ctx, inside, layout["home"] / "elsewhere")
    with pytest.raises(PathRefused, match="moving a file from"):
        _move(ctx, layout["db"], layout["inbox"] / "rejected")
    assert inside.exists() and layout["db"].exists()
    assert _move(ctx, inside, layout["inbox"] / "processed") == layout["inbox"] / "processed" / "r.pdf"


def test_reconcile_never_copies_a_statement_from_outside_into_artifacts(layout: dict[str, Path]) -> None:
    from backroom.bots.reconcile import Reconcile, ReconcileConfig, ReconcileParams

    params = ReconcileParams.model_construct(
        statement=layout["secret"], fetch=False, start=None, end=None, account=None, ledger=None, review=None
    )
    ctx = _ctx(layout, "reconcile", config=ReconcileConfig(inbox=layout["inbox"], review_inbox=layout["inbox"]))
    with pytest.raises(PathRefused, match="outside the root"):
        Reconcile().run(ctx, params)
    assert not [p for p in ctx.run_dir.rglob("*") if p.is_file()]


def test_reconcile_reject_refuses_a_file_outside_the_roots(layout: dict[str, Path]) -> None:
    import shutil

    from backroom.bots.reconcile import Reconcile

    ctx = _ctx(layout, "reconcile")
    with pytest.raises(PathRefused, match="copying a file into the run's artifacts"):
        Reconcile._reject(ctx, layout["secret"], "bad", shutil)
    assert not [p for p in ctx.run_dir.rglob("*") if p.is_file()]


def test_a_config_folder_outside_its_root_is_refused_at_run_time(layout: dict[str, Path]) -> None:
    ctx = _ctx(layout, "tickets")
    assert ctx.folder("roots/archive/2024", "archive") == layout["archive"] / "2024"
    with pytest.raises(PathRefused, match="outside the root"):
        ctx.folder(layout["home"] / "var", "archive")


def _bot_classes() -> list[type]:
    from importlib.metadata import entry_points

    return [ep.load() for ep in entry_points(group="backroom.bots")]


@pytest.mark.parametrize("bot", _bot_classes(), ids=lambda cls: cls.name)
def test_no_bot_takes_an_unconfined_path_parameter(bot: type, tmp_path: Path) -> None:
    """Every parameter typed with ``Path`` is a rooted type: ``/etc/passwd`` is refused for each of them."""
    from pydantic import ValidationError

    from backroom.bots.sdk.paths import ROOT_NAMES

    path_fields = [name for name, f in bot.Params.model_fields.items() if "Path" in str(f.annotation)]
    roots = Roots(dict.fromkeys(ROOT_NAMES, tmp_path))
    for name in path_fields:
        with pytest.raises(ValidationError) as caught:
            bot.Params.model_validate({name: "/etc/passwd"}, context={"roots": roots})
        refused = [e for e in caught.value.errors() if e["loc"][:1] == (name,) and "refused" in e["msg"]]
        assert refused, f"{bot.name}.{name} accepts a path outside the bot's roots"


def test_the_tickets_archive_never_writes_outside_its_root(layout: dict[str, Path]) -> None:
    from backroom.bots.tickets.archive import ArchiveError, write_archive

    when = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
    root = layout["archive"]
    with pytest.raises(ArchiveError, match="outside"):
        write_archive(root, {"ticket": {"id": "../../../escaped"}}, when=when)
    (root / "2024").mkdir(exist_ok=True)
    os.symlink(layout["home"], root / "2024" / "06")  # a month folder linked out of the share
    with pytest.raises(ArchiveError, match="outside"):
        write_archive(root, {"ticket": {"id": 7}}, when=when.replace(month=6))
    assert not list(layout["home"].glob("*ticket*")) and not list(layout["home"].parent.glob("*escaped*"))

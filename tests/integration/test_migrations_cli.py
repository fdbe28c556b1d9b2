"""``backroom db current`` and ``backroom db upgrade``: where a database stands, and bringing it up."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from backroom.bots.expenses.state import SCHEMA as EXPENSES
from backroom.bots.sdk.db import current, head, make_engine, registered_schemas
from backroom.schedules.cli import app


def test_db_current_then_upgrade_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'backroom.db'}"
    runner = CliRunner()

    before = runner.invoke(app, ["db", "current", "--database-url", url])
    assert before.exit_code == 0, before.output
    assert before.output.count("not created yet") == len(registered_schemas())

    done = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert done.exit_code == 0, done.output
    assert f"{len(registered_schemas())} schema(s) upgraded" in done.output
    engine = make_engine(url)
    assert all(current(engine, s) == head(s) for s in registered_schemas())

    from backroom.schedules.history import History

    entry = History(engine).audit_log()[0]
    assert (entry.action, entry.source, entry.detail["expenses"]) == ("db-upgrade", "cli", [None, head(EXPENSES)])

    again = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert "every schema was already up to date" in again.output
    after = runner.invoke(app, ["db", "current", "--database-url", url])
    assert after.output.count("up to date") == len(registered_schemas())
    assert len(History(engine).audit_log()) == 1, "an upgrade that changed nothing is not audited"


def test_db_upgrade_reads_the_database_from_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "backroom.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "from-config.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert current(make_engine(f"sqlite:///{tmp_path / 'from-config.db'}"), registered_schemas()[0]) == head(
        registered_schemas()[0]
    )

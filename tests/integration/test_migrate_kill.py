"""kill -9 at random moments, then re-run: no record lost, none duplicated (real PostgreSQL)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUNNER = """
import json, sys
from pathlib import Path
from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context
url, tmp, cfg = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
ctx = make_context(tmp, "migrate", systems={"db": {"kind": "sql", "url": url}}, config=Config.model_validate(cfg))
result = Migrate().run(ctx, MigrateParams(name="m"))
print(json.dumps(result.counts))
"""

ROWS = 20_000


def _config(db: Any, mode: str) -> dict[str, Any]:
    return {
        "migrations": {
            "m": {
                "source": {"kind": "sql", "system": "db", "table": db.t("src"), "cursor": "id"},
                "target": {"kind": "sql", "system": "db", "table": db.t("dst")},
                "key": "id",
                "mode": mode,
                "batch_size": 400,
                "fields": {"id": "id", "amount": {"from": "amount", "type": "decimal"}, "note": "note"},
            }
        }
    }


def _count(db: Any) -> int:
    return int(db.sql(f"SELECT count(*) FROM {db.t('dst')}")[0][0])


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_kill_minus_nine_then_rerun_loses_and_duplicates_nothing(tmp_path: Path, migrate_pg: Any, mode: str) -> None:
    db = migrate_pg
    db.sql(f"CREATE TABLE {db.t('src')} (id INTEGER PRIMARY KEY, amount TEXT, note TEXT)")
    db.sql(f"INSERT INTO {db.t('src')} SELECT g, (g * 0.01)::text, md5(g::text) FROM generate_series(1, {ROWS}) g")
    bad = 20 if mode == "upsert" else 0  # upsert: rejects too, which must stay pending across the kills
    if bad:
        db.sql(f"UPDATE {db.t('src')} SET amount = 'n/a' WHERE id % 1000 = 0")
    key = "" if mode == "append" else "PRIMARY KEY"  # append: the target could not stop a duplicate itself
    db.sql(f"CREATE TABLE {db.t('dst')} (id INTEGER {key}, amount NUMERIC(12,2), note TEXT)")
    args = [sys.executable, "-c", RUNNER, db.url, str(tmp_path), json.dumps(_config(db, mode))]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(20240301)
    kills = 0
    seen_counts = []
    for _attempt in range(8):
        if kills >= 3 or _count(db) >= ROWS - bad:
            break
        before = _count(db)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while _count(db) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.04))  # a batch of 400 takes a few ms on a quiet machine
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        seen_counts.append(_count(db))
    assert kills >= 2, f"the runs finished before they could be killed: {seen_counts}"
    assert seen_counts[0] < ROWS - bad
    final = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr[-2000:]
    counts = json.loads(final.stdout.strip().splitlines()[-1])
    assert counts["rejected"] == bad and counts.get("pending", 0) == bad
    total, distinct = db.sql(f"SELECT count(*), count(DISTINCT id) FROM {db.t('dst')}")[0]
    expected = ROWS - bad
    assert (total, distinct) == (expected, expected), f"after kills at {seen_counts}: {total} rows, {distinct} distinct"
    diff = db.sql(
        f"SELECT count(*) FROM {db.t('src')} s FULL JOIN {db.t('dst')} d USING (id) "
        "WHERE (d.id IS NULL AND s.amount <> 'n/a') OR s.id IS NULL "
        "OR CASE WHEN s.amount = 'n/a' THEN NULL ELSE s.amount::numeric END <> d.amount OR s.note <> d.note"
    )[0][0]
    assert diff == 0
    if bad:  # every reject is still pending, kept in the target with the batches that passed it
        held = db.sql(f"SELECT count(*) FROM {db.t('backroom_migrate_pending')} WHERE migration = 'm'")[0][0]
        assert held == bad

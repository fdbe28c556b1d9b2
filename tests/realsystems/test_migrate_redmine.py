"""The migrate bot against a real Redmine 5: create, update and read issues through its REST API.

Redmine is what broke the old REST target: it wants ``POST /issues.json`` with ``{"issue": {...}}``,
answers a create with 201 and its own id, an update with 204 and no body, and pages its lists by
offset with a ``total_count`` (capped at 100 a page). The API key travels as a secret reference.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from backroom.bots.migrate import Config, Migrate, MigrateParams
from backroom.bots.sdk.testing import make_context
from tests.realsystems.redmine import Redmine

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]

TICKETS = 30


def _project(redmine: Redmine) -> tuple[str, int]:
    identifier = f"mig-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=redmine.url, headers=redmine.headers, timeout=60) as client:
        made = client.post("/projects.json", json={"project": {"name": identifier, "identifier": identifier}})
        assert made.status_code == 201, made.text
        return identifier, int(made.json()["project"]["id"])


def _systems(redmine: Redmine, sqlite_url: str) -> dict[str, Any]:
    return {
        "redmine": {
            "kind": "http",
            "url": redmine.url,
            "headers": {"X-Redmine-API-Key": "env:REDMINE_KEY"},  # a reference, resolved when sent
            # Redmine on SQLite (Rails 6) fails a write that meets another one with "database is
            # locked" (a 500, no busy wait: the lock upgrade would deadlock): one request at a time
            "concurrency": 1,
            "rate_limit": 50,
        },
        "db": {"kind": "sql", "url": sqlite_url},
    }


def _to_redmine(project_id: int) -> dict[str, Any]:
    return {
        "migrations": {
            "tickets": {
                "source": {"kind": "sql", "system": "db", "table": "tickets", "cursor": "updated_at"},
                "target": {
                    "kind": "rest",
                    "system": "redmine",
                    "path": "/issues.json",
                    "item_path": "/issues/{id}.json",
                    "envelope": "issue",
                    # the ticket number stays on our side: the body carries only what Redmine keeps
                    "template": {
                        "project_id": "{project_id}",
                        "subject": "{subject}",
                        "description": "{description}",
                        "done_ratio": "{done_ratio}",
                    },
                    "update_method": "PUT",
                    "read_back": {"project_id": "project.id"},
                },
                "key": "ticket_no",
                "batch_size": 20,
                "max_reject_ratio": 0.5,
                "fields": {
                    "ticket_no": {"from": "ticket_no"},
                    "project_id": {"const": project_id},
                    "subject": "title",
                    "description": "body",
                    "done_ratio": {"from": "done", "type": "int"},
                },
            }
        }
    }


def _from_redmine(identifier: str, page_size: int, paging: str = "offset") -> dict[str, Any]:
    return {
        "migrations": {
            "issues": {
                "source": {
                    "kind": "rest",
                    "system": "redmine",
                    "path": "/issues.json",
                    "items_key": "issues",
                    "paging": paging,
                    "params": {"project_id": identifier, "status_id": "*", "sort": "id"},
                    "since_param": "updated_on",
                    "since_format": ">={}",
                    "cursor": "updated_on",
                    "page_size": page_size,
                },
                "target": {"kind": "sql", "system": "db", "table": "copies"},
                "key": "id",
                "fields": {
                    "id": "id",
                    "subject": "subject",
                    "project": "project.name",
                    "done_ratio": "done_ratio",
                },
            }
        }
    }


def _run(tmp_path: Path, systems: dict[str, Any], cfg: dict[str, Any], name: str, redmine: Redmine, **p: Any) -> Any:
    ctx = make_context(
        tmp_path,
        "migrate",
        systems=systems,
        environ={"REDMINE_KEY": redmine.api_key},
        config=Config.model_validate(cfg),
    )
    try:
        return Migrate().run(ctx, MigrateParams(name=name, **p))
    finally:
        ctx.close()


def test_issues_created_updated_and_read_back_from_redmine(
    tmp_path: Path, redmine_server: Redmine, migrate_sqlite: Any
) -> None:
    db = migrate_sqlite
    identifier, project_id = _project(redmine_server)
    db.sql("CREATE TABLE tickets (ticket_no TEXT PRIMARY KEY, title TEXT, body TEXT, done TEXT, updated_at TEXT)")
    for i in range(1, TICKETS + 1):
        db.sql(
            "INSERT INTO tickets VALUES (:n, :t, :b, :d, :u)",
            n=f"T{i:04d}",
            t=f"打印机卡纸 {i}",
            b=f"第{i}号工单 𠮷",
            d=str(i % 10 * 10),
            u=f"2024-03-01 08:{i:02d}:00",
        )
    db.sql("UPDATE tickets SET title = '' WHERE ticket_no = 'T0007'")  # Redmine: "Subject cannot be blank"
    systems = _systems(redmine_server, db.url)
    cfg = _to_redmine(project_id)

    first = _run(tmp_path, systems, cfg, "tickets", redmine_server)
    assert first.counts["inserted"] == TICKETS - 1 and first.counts["rejected"] == 1
    lines = list(load_workbook(first.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
    assert lines[0][1] == "T0007" and lines[0][2] == "subject" and "Subject cannot be blank" in lines[0][3]

    with httpx.Client(base_url=redmine_server.url, headers=redmine_server.headers, timeout=60) as client:
        listed = client.get("/issues.json", params={"project_id": identifier, "status_id": "*", "limit": 100}).json()
        assert listed["total_count"] == TICKETS - 1
        subjects = {i["subject"]: i for i in listed["issues"]}
        assert (
            subjects["打印机卡纸 3"]["description"] == "第3号工单 𠮷" and subjects["打印机卡纸 3"]["done_ratio"] == 30
        )

    # two tickets change, one is fixed: updates (204, read back) and a create; the rest untouched
    db.sql(
        "UPDATE tickets SET body = '已处理', updated_at = '2024-04-01 00:00:00' WHERE ticket_no IN ('T0003', 'T0004')"
    )
    db.sql("UPDATE tickets SET title = '补上标题' WHERE ticket_no = 'T0007'")
    second = _run(tmp_path, systems, cfg, "tickets", redmine_server)
    assert second.counts["updated"] == 2 and second.counts["inserted"] == 1 and second.counts["rejected"] == 0
    assert second.counts["retried_passed"] == 1
    with httpx.Client(base_url=redmine_server.url, headers=redmine_server.headers, timeout=60) as client:
        listed = client.get("/issues.json", params={"project_id": identifier, "status_id": "*", "limit": 100}).json()
        assert listed["total_count"] == TICKETS  # updated in place: no duplicates created
        bodies = {i["subject"]: i.get("description") for i in listed["issues"]}
        assert bodies["打印机卡纸 3"] == "已处理" and "补上标题" in bodies

    # a full re-read compares with Redmine and sends nothing
    again = _run(tmp_path, systems, cfg, "tickets", redmine_server, full=True)
    assert again.counts["unchanged"] == TICKETS and again.counts["updated"] == again.counts["inserted"] == 0

    # Redmine → SQL, offset paging with pages smaller than the data, all of it read
    db.sql("CREATE TABLE copies (id INTEGER PRIMARY KEY, subject TEXT, project TEXT, done_ratio INTEGER)")
    back = _run(tmp_path, systems, _from_redmine(identifier, 7), "issues", redmine_server)
    assert back.counts["read"] == TICKETS and back.counts["inserted"] == TICKETS and back.counts["batches"] == 5
    assert db.sql("SELECT count(*), count(DISTINCT id) FROM copies")[0] == (TICKETS, TICKETS)
    assert db.sql("SELECT DISTINCT project FROM copies") == [(identifier,)]
    # a page size over Redmine's cap of 100 still reads everything: paging follows what came
    over = _run(tmp_path, systems, _from_redmine(identifier, 500), "issues", redmine_server, full=True)
    assert over.counts["read"] == TICKETS and over.counts["unchanged"] == TICKETS
    # page numbers (?page=2&limit=7) instead of offsets: the same records, five pages
    pages = _run(tmp_path, systems, _from_redmine(identifier, 7, "page"), "issues", redmine_server, full=True)
    assert pages.counts["read"] == TICKETS and pages.counts["unchanged"] == TICKETS and pages.counts["batches"] == 5


class _Killed(BaseException):
    """Stands for kill -9: not an error anything handles."""


def _key_field(redmine: Redmine) -> int:
    """The 'Backroom key' issue custom field the bootstrap created (filterable: ``cf_N=value``)."""
    with httpx.Client(base_url=redmine.url, headers=redmine.headers, timeout=60) as client:
        fields = client.get("/custom_fields.json").json()["custom_fields"]
    return next(int(f["id"]) for f in fields if f["name"] == "Backroom key")


def _keyed(project_id: int, field: int) -> dict[str, Any]:
    """The tickets migration with the ticket number kept in Redmine and looked up before each create."""
    cfg = _to_redmine(project_id)
    target = cfg["migrations"]["tickets"]["target"]
    target["template"]["custom_fields"] = [{"id": field, "value": "{ticket_no}"}]
    target["find_path"] = f"/issues.json?project_id={project_id}&status_id=*&cf_{field}={{key}}"
    target["find_items"] = "issues"
    target["read_back"]["ticket_no"] = f"custom_fields.id={field}.value"  # the key is proved too
    return cfg


def _keys_in_redmine(redmine: Redmine, project_id: int, field: int) -> list[str]:
    with httpx.Client(base_url=redmine.url, headers=redmine.headers, timeout=60) as client:
        listed = client.get("/issues.json", params={"project_id": project_id, "status_id": "*", "limit": 100}).json()
    return sorted(next(c["value"] for c in i["custom_fields"] if c["id"] == field) for i in listed["issues"])


def test_a_create_killed_before_its_id_was_saved_is_found_not_made_twice(
    tmp_path: Path, redmine_server: Redmine, migrate_sqlite: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backroom.bots.migrate.rest_items import RestItemWriter

    db = migrate_sqlite
    _, project_id = _project(redmine_server)
    field = _key_field(redmine_server)
    prefix = uuid.uuid4().hex[:6]
    keys = [f"{prefix}-{i:03d}" for i in range(1, 13)]
    db.sql("CREATE TABLE tickets (ticket_no TEXT PRIMARY KEY, title TEXT, body TEXT, done TEXT, updated_at TEXT)")
    for i, key in enumerate(keys, 1):
        db.sql(
            "INSERT INTO tickets VALUES (:n, :t, :b, '10', :u)",
            n=key,
            t=f"网络中断 {i}",
            b="机房",
            u=f"2024-03-01 08:{i:02d}:00",
        )
    systems = _systems(redmine_server, db.url)
    cfg = _keyed(project_id, field)

    # the fifth create is answered 201, then the process dies before the new id is saved
    saved: list[str] = []
    remember = RestItemWriter._remember

    def dies_on_the_fifth(self: RestItemWriter, label: str, target_id: Any) -> None:
        if len(saved) == 4:
            raise _Killed
        saved.append(label)
        remember(self, label, target_id)

    monkeypatch.setattr(RestItemWriter, "_remember", dies_on_the_fifth)
    with pytest.raises(_Killed):
        _run(tmp_path, systems, cfg, "tickets", redmine_server)
    made = _keys_in_redmine(redmine_server, project_id, field)
    assert len(made) >= 5 and len(saved) == 4  # at least one issue exists whose id was never saved

    monkeypatch.setattr(RestItemWriter, "_remember", remember)
    rerun = _run(tmp_path, systems, cfg, "tickets", redmine_server)
    # before: every issue without a saved id was created again (a duplicate per killed create)
    assert _keys_in_redmine(redmine_server, project_id, field) == keys
    # (a create cancelled in flight by the "kill" may still have reached Redmine after the listing)
    assert rerun.counts["unchanged"] >= len(made) and rerun.counts["unchanged"] + rerun.counts["inserted"] == len(keys)

    # a key Redmine already holds twice is not guessed at: a reject naming both ids
    twin = f"{prefix}-twin"
    with httpx.Client(base_url=redmine_server.url, headers=redmine_server.headers, timeout=60) as client:
        for _ in range(2):
            body = {"project_id": project_id, "subject": "手工", "custom_fields": [{"id": field, "value": twin}]}
            assert client.post("/issues.json", json={"issue": body}).status_code == 201
    db.sql("INSERT INTO tickets VALUES (:n, '双胞胎', '机房', '10', '2024-05-01 00:00:00')", n=twin)
    doubled = _run(tmp_path, systems, cfg, "tickets", redmine_server)
    assert doubled.counts["rejected"] == 1 and doubled.counts["inserted"] == 0
    lines = list(load_workbook(doubled.outputs["rejects_file"]).active.iter_rows(values_only=True))[1:]
    assert lines[0][1] == twin and "already holds 2 records" in lines[0][3]
    assert _keys_in_redmine(redmine_server, project_id, field).count(twin) == 2

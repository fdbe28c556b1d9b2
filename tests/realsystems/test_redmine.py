"""Redmine's REST API: projects, issues in their ``{"issue": ...}`` envelope, offset paging."""

from __future__ import annotations

import httpx
import pytest

from tests.realsystems.redmine import Redmine

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]


def _client(redmine: Redmine) -> httpx.Client:
    return httpx.Client(base_url=redmine.url, headers=redmine.headers, timeout=60)


def test_project_and_issue_round_trip(redmine_server: Redmine) -> None:
    with _client(redmine_server) as client:
        project = client.post("/projects.json", json={"project": {"name": "Smoke", "identifier": "smoke"}})
        assert project.status_code == 201, project.text
        assert client.get("/projects/smoke.json").json()["project"]["name"] == "Smoke"

        created = client.post(
            "/issues.json", json={"issue": {"project_id": "smoke", "subject": "printer jam", "description": "tray 2"}}
        )
        assert created.status_code == 201, created.text
        issue_id = created.json()["issue"]["id"]

        issue = client.get(f"/issues/{issue_id}.json").json()["issue"]
        assert (issue["subject"], issue["description"], issue["project"]["name"]) == ("printer jam", "tray 2", "Smoke")
        assert issue["status"]["name"] == "New"

        updated = client.put(f"/issues/{issue_id}.json", json={"issue": {"notes": "cleared", "done_ratio": 50}})
        assert updated.status_code == 204
        assert client.get(f"/issues/{issue_id}.json").json()["issue"]["done_ratio"] == 50


def test_offset_paging_reports_total_count(redmine_server: Redmine) -> None:
    with _client(redmine_server) as client:
        client.post("/projects.json", json={"project": {"name": "Paging", "identifier": "paging"}})
        for number in range(5):
            answer = client.post("/issues.json", json={"issue": {"project_id": "paging", "subject": f"page {number}"}})
            assert answer.status_code == 201, answer.text

        seen: list[str] = []
        offset = 0
        while True:
            page = client.get(
                "/issues.json", params={"project_id": "paging", "limit": 2, "offset": offset, "sort": "id"}
            ).json()
            assert page["total_count"] == 5
            assert (page["offset"], page["limit"]) == (offset, 2)
            seen += [issue["subject"] for issue in page["issues"]]
            offset += page["limit"]
            if offset >= page["total_count"]:
                break
        assert seen == [f"page {n}" for n in range(5)]


def test_unauthenticated_and_invalid_requests(redmine_server: Redmine) -> None:
    assert httpx.get(f"{redmine_server.url}/users/current.json").status_code == 401
    with _client(redmine_server) as client:
        assert client.get("/users/current.json").json()["user"]["login"] == "admin"
        refused = client.post("/issues.json", json={"issue": {"project_id": "nope", "subject": ""}})
        assert refused.status_code == 422
        assert refused.json()["errors"]


def test_reset_restores_the_seeded_database(redmine_server: Redmine) -> None:
    with _client(redmine_server) as client:
        client.post("/projects.json", json={"project": {"name": "Gone", "identifier": "gone"}})
    redmine_server.reset()
    with _client(redmine_server) as client:
        assert client.get("/projects.json").json()["total_count"] == 0
        assert [t["name"] for t in client.get("/trackers.json").json()["trackers"]] == ["Bug", "Feature", "Support"]

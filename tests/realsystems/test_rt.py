"""Request Tracker 5 through REST2, as the tickets bot will see it."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.realsystems.rt import RequestTracker

pytestmark = [pytest.mark.realsystem, pytest.mark.slow]


def _client(rt: RequestTracker) -> httpx.Client:
    return httpx.Client(base_url=rt.rest_url, headers=rt.headers, timeout=30)


def test_create_read_and_search_a_ticket(rt_server: RequestTracker) -> None:
    with _client(rt_server) as client:
        created = client.post("ticket", json={"Queue": "General", "Subject": "printer on fire", "Content": "smoke"})
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]

        ticket = client.get(f"ticket/{ticket_id}").json()
        assert ticket["Subject"] == "printer on fire"
        assert ticket["Status"] == "new"

        query = quote("Queue = 'General' AND Subject LIKE 'printer on fire'")
        found = client.get(f"tickets?query={query}").json()
        assert [item["id"] for item in found["items"]] == [str(ticket_id)]
        assert found["total"] == 1


def test_root_password_logs_in_too(rt_server: RequestTracker) -> None:
    answer = httpx.get(f"{rt_server.rest_url}queue/General", auth=(rt_server.username, rt_server.password))
    assert answer.status_code == 200
    assert answer.json()["Name"] == "General"
    assert httpx.get(f"{rt_server.rest_url}queue/General").status_code == 401


def test_an_invalid_status_is_refused_with_http_200(rt_server: RequestTracker) -> None:
    """RT answers 200 to an update it refused and puts the refusal in the body; the status stays.
    ``closed`` is no status of RT's default lifecycle (it is ``resolved``): a bot must read the body."""
    with _client(rt_server) as client:
        ticket_id = client.post("ticket", json={"Queue": "General", "Subject": "to close"}).json()["id"]
        answer = client.put(f"ticket/{ticket_id}", json={"Status": "closed"})
        assert answer.status_code == 200
        assert answer.json() == [f"Ticket {ticket_id}: Status 'closed' isn't a valid status for this ticket."]
        assert client.get(f"ticket/{ticket_id}").json()["Status"] == "new"

        resolved = client.put(f"ticket/{ticket_id}", json={"Status": "resolved"})
        assert resolved.status_code == 200
        assert client.get(f"ticket/{ticket_id}").json()["Status"] == "resolved"


def test_reset_restores_the_initialised_database(rt_server: RequestTracker) -> None:
    with _client(rt_server) as client:
        client.post("ticket", json={"Queue": "General", "Subject": "gone after reset"})
    rt_server.reset()
    with _client(rt_server) as client:
        assert client.get(f"tickets?query={quote('id > 0')}").json()["total"] == 0


def test_mail_goes_to_an_mbox_in_the_instance_folder(rt_server: RequestTracker) -> None:
    """``$MailCommand = 'mbox'``: RT's autoreply to a requestor lands in a file, never on the network."""
    with _client(rt_server) as client:
        answer = client.post(
            "ticket", json={"Queue": "General", "Subject": "mbox probe", "Requestor": "someone@example.test"}
        )
        assert answer.status_code == 201, answer.text
    mail = "".join(path.read_text(errors="replace") for path in rt_server.mailbox_folder.glob("*.mbox"))
    assert "someone@example.test" in mail
    assert "mbox probe" in mail

"""The tickets bot's part in ``backroom demo``: a helpdesk full of complaints and a call platform.

The helpdesk starts with 60 generated complaint tickets (about half resolved, the new ones with
empty fields); the dialer answers after half a second. The demo run does ``action=all``: fill the
new tickets' fields from their text, then call back, close and archive the resolved simple ones.
The sandbox dialer rings nobody, so the demo's calling window is the whole day; the example
config in ``config/examples/tickets.toml`` shows the real 09:00-20:00 window.
"""

from __future__ import annotations

from pathlib import Path

from backroom.sandbox.demo_base import DemoPart

__all__ = ["HELPDESK_PROFILE", "prepare"]

#: The sandbox helpdesk's web UI as a browser-helpdesk profile (``[systems.NAME.options.profile]``
#: with ``kind = "browser"``): the demo itself uses the REST API, the browser tests use this.
HELPDESK_PROFILE: dict[str, object] = {
    "login_path": "/login",
    "home_path": "/",
    "ticket_path": "/ticket/{id}",
    "title_prefix": r"^工单\s*#\d+\s*",
    "field_id_prefix": "cf-",
    "conflict_text": "已被他人修改",
    "selectors": {
        "login_user": "#user",
        "login_password": "#password",
        "login_submit": "#login",
        "login_error": "#error",
        "search_box": "#search-box",
        "search_submit": "#search-btn",
        "result_link": "a.ticket-link",
        "next_page": "#next-page",
        "status": "#status",
        "queue": "#queue-name",
        "priority": "#priority",
        "created": "#created",
        "resolved": "#resolved",
        "last_updated": "#last-updated",
        "requestor": "#requestor",
        "title": "h1",
        "version": "#fields-form input[name=version]",
        "field_input": "#cf-{name}",
        "field_inputs": "input[id^='cf-']",
        "queue_select": "#queue",
        "priority_input": "#priority-input",
        "save_fields": "#save-fields, #btn-update",
        "comment_box": "#comment-box",
        "comment_submit": "#add-comment",
        "status_button": "#set-{status}",
        "message": "#message",
        "history_item": "#history li.tx",
    },
}


def prepare(workdir: Path) -> DemoPart:
    from backroom.sandbox.dialer import create_app as dialer_app
    from backroom.sandbox.helpdesk import create_app as helpdesk_app
    from backroom.sandbox.server import start

    helpdesk_token, dialer_token = "demo-helpdesk-token", "demo-dialer-token"
    helpdesk = start(helpdesk_app(tickets=60, seed=2026, token=helpdesk_token))
    dialer = start(dialer_app(seed=2026, token=dialer_token, outcome_delay_s=0.5))
    archive = (workdir / "tickets-archive").resolve()
    archive.mkdir(parents=True, exist_ok=True)
    systems = {
        "helpdesk": {
            "kind": "rt-rest",
            "url": helpdesk.url,
            "token": "env:HELPDESK_TOKEN",
            "retries": 3,
            "concurrency": 8,
        },
        "dialer": {"kind": "dialer-http", "url": dialer.url, "token": "env:DIALER_TOKEN", "retries": 3},
    }
    config = {
        "helpdesk": "helpdesk",
        "dialer": "dialer",
        "autoclose": {
            "archive_dir": str(archive),
            "max_amount": "3000",
            "quiet_start": "00:00",
            "quiet_end": "00:00",  # start == end: no quiet hours (the sandbox rings nobody)
            "skip_public_holidays": False,
            "wait_for_outcomes_s": 6,
            "poll_interval_s": 0.25,
        },
    }
    return DemoPart(
        bot="tickets",
        systems=systems,
        bot_table={
            "schedule": "cron: 0 10,15 * * *",
            "calendar": "cn-workdays",
            "timeout": "30m",
            "params": {"action": "all"},
            "roots": {"archive": str(archive)},
            "config": config,
        },
        params={"action": "all"},
        env={"HELPDESK_TOKEN": helpdesk_token, "DIALER_TOKEN": dialer_token},
        servers=[helpdesk, dialer],
        description="fills complaint tickets from their text; calls back, closes and archives resolved ones",
    )

"""The shipped browser profile for Request Tracker 5's own web UI (``options.profile = "rt5"``).

Why each choice, as RT 5.0 draws its pages (checked on Debian's 5.0.3 by
``tests/realsystems/test_rt_browser.py``):

- RT shows its login form at whatever URL was asked, so the login is recognised by ``form#login``,
  and a login counts only when the logout link shows.
- A ticket is read from ``Display.html`` (status, queue, dates, custom fields, whose empty ones say
  "(no value)"), changed through ``Modify.html`` (status is a select list there, saved with the
  custom fields; a Select custom field is chosen, a Freeform one typed), commented on
  ``Update.html?Action=Comment`` and its history read from ``History.html`` (the ticket page loads it
  later by script).
- RT's pages carry no version field: the token is the last transaction, which "Updated:" links to
  (``#txn-N``), so any change in between, a comment included, is seen.
- Comments need a plain textarea: give the bot's RT user the preference "Rich text editor" off
  (``MessageBoxRichText`` = 0); times are read as ISO with the user's "Date format" set to ISO and
  shown in the user's time zone (set ``timezone`` to it where it is not the run's zone).
- RT's own search takes the bot's TicketSQL whole (``Search/Results.html``).
- Priority is a list of words (Low/Medium/High = 0/50/100) in a stock RT: only those numbers can be set.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RT5_PROFILE", "SHIPPED"]

_CF_ROW = "#TicketModify div.edit-custom-field:has(span.prev-icon-helper:text-is('{name}:'))"

RT5_PROFILE: dict[str, Any] = {
    "login_path": "/NoAuth/Login.html",
    "home_path": "/",
    "ticket_path": "/Ticket/Display.html?id={id}",
    "update_path": "/Ticket/Modify.html?id={id}",
    "comment_path": "/Ticket/Update.html?id={id}&Action=Comment",
    "history_path": "/Ticket/History.html?id={id}",
    "search_path": "/Search/Results.html?Query={query}&RowsPerPage=0",
    "status_control": "select",
    "version_attribute": "href",
    "version_pick": "last",
    "empty_values": ["(no value)", "Not set"],
    "title_prefix": r"^#\d+:\s*",
    "history": {
        "id": "@data-transaction-id",
        "type": "",
        "created": ".metadata .date",
        "creator": ".metadata .description .user",
        "field": "",
        "old": "",
        "new": "",
        "content": ".messagebody",
        "description": ".metadata .description",
        "types": [
            [r"Ticket created$", "Create"],
            [r"Comments added$", "Comment"],
            [r"Correspondence added$", "Correspond"],
            [r"(?P<field>Status) changed from '(?P<old>[^']*)' to '(?P<new>[^']*)'", "Status"],
            [r"(?P<field>Queue) changed from '?(?P<old>.*?)'? to '?(?P<new>[^']*?)'?$", "Set"],
            [r" - (?P<field>\S+) (?P<new>.+) added$", "CustomField"],
            [r" - (?P<field>\S+) (?P<old>.+) changed to (?P<new>.+)$", "CustomField"],
        ],
    },
    "selectors": {
        "login_form": "form#login",
        "login_success": "#preferences-logout",
        "login_user": "form#login input[name=user]",
        "login_password": "form#login input[name=pass]",
        "login_submit": "form#login [type=submit]",
        "login_error": "#body > .results .error",
        "search_box": "#simple-search input[name=q]",
        "search_submit": "#simple-search [type=submit]",
        "result_link": "table.ticket-list td:first-child a[href*='Display.html?id=']",
        "next_page": ".paging a:text-is('Next')",
        "status": "div.status.form-row .current-value",
        "queue": "div.queue.form-row .current-value",
        "priority": "div.priority.form-row .current-value .Priority",
        "created": "div.date.created .current-value",
        "resolved": "div.date.resolved .current-value",
        "last_updated": "div.date.updated .current-value",
        "requestor": "div.requestors .current-value",
        "title": "#header h1",
        "version": "div.date.updated a[href^='#txn-']",
        "field_rows": "div.form-row.custom-field",
        "field_row_label": ".label",
        "field_row_value": ".value .current-value",
        "field_input": _CF_ROW + " .value :is(input[type=text], select, textarea)",
        "queue_select": "#TicketModify select[name=Queue]",
        "priority_input": "#TicketModify select[name=Priority]",
        "status_select": "#TicketModify select[name=Status]",
        "save_fields": "#TicketModify input[name=SubmitTicket]",
        "comment_box": "form[name=TicketUpdate] textarea[name=UpdateContent]",
        "comment_submit": "form[name=TicketUpdate] input[name=SubmitTicket]",
        "message": ".action-results",
        "history_item": "div.history-container div.transaction",
    },
}

#: profiles a config may name instead of writing the table (``options.profile = "rt5"``)
SHIPPED: dict[str, dict[str, Any]] = {"rt5": RT5_PROFILE}

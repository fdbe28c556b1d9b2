"""A complaint helpdesk that speaks Request Tracker 5's REST2, with a small web UI.

The REST API follows RT5 REST2 paths and JSON shapes closely enough that one adapter serves the
sandbox and a real RT: ``GET/PUT /REST/2.0/ticket/{id}`` (with ``ETag`` / ``If-Match``),
``POST /REST/2.0/ticket``, ``GET /REST/2.0/tickets?query=<TicketSQL>&fields=...&page=&per_page=``,
``POST /REST/2.0/ticket/{id}/correspond`` and ``/comment``, ``GET /REST/2.0/ticket/{id}/history``,
``GET /REST/2.0/transaction/{id}`` and ``/transaction/{id}/attachments`` (content base64, as RT
sends it). Authentication is ``Authorization: token <TOKEN>``.

The web UI (``/``) has a login form with a CSRF token and a session cookie, a search page, and a
ticket page to edit fields, comment, resolve and close — for the browser adapter. Statuses use a
lifecycle with ``archived`` after ``closed``. Time comes from an injectable clock (tests move it).
Every misbehaviour switch of :mod:`sandbox.faults` applies.

    model.py      tickets, transactions, users: the in-memory data and its one lock
    ticketsql.py  the TicketSQL subset, compiled to a predicate
    seed.py       deterministic complaint tickets
    rest.py       the RT5 REST2 routes
    pages.py      the web pages (login, list, search, ticket)
    app.py        ``create_app``: all of the above behind the fault middleware
"""

from __future__ import annotations

from backroom.sandbox.helpdesk.app import create_app
from backroom.sandbox.helpdesk.model import CUSTOM_FIELDS, STATUSES, Helpdesk, Ticket, Transaction
from backroom.sandbox.helpdesk.seed import seed_tickets
from backroom.sandbox.helpdesk.ticketsql import TicketSQLError, parse_ticketsql

__all__ = [
    "CUSTOM_FIELDS",
    "STATUSES",
    "Helpdesk",
    "Ticket",
    "TicketSQLError",
    "Transaction",
    "create_app",
    "parse_ticketsql",
    "seed_tickets",
]

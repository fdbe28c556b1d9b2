"""Adapters: how bots talk to other systems, one room per kind of system.

    systems/
      base.py          SystemAdapter (the root of the kinds built from [systems.NAME]) and open_system
      registry.py      the one ``kind -> class`` registry (+ entry-point group ``backroom.systems``)
      helpdesk/        base.py (Helpdesk), rt.py (RT 5 REST2), browser.py (a web UI by profile)
      dialer/          base.py (Dialer), http.py (a call platform's HTTP API)
      bank_portal/     base.py (BankPortal, verify_download), browser.py (a portal by its labels)
      form/            base.py (FormAdapter), browser.py (a record form by profile)
      sql/             base.py (SqlDatabase), alchemy.py (SQLAlchemy engines, COPY, quoting)
      metric_sources/  base.py (MetricSource), one module per backend

A bot asks for a kind, config names the backend::

    helpdesk = open_system(ctx, "helpdesk", Helpdesk)   # [systems.helpdesk] kind = "rt-rest"

Adapters import only the SDK, file formats and their own kind; every write returns what the
other system confirmed.
"""

"""Real systems (Request Tracker, Redmine, Prometheus, Dovecot) started on 127.0.0.1 for the tests.

Each module here knows how to start one system from its Debian packages in a folder of its own;
``tests/fixtures/realsystems.py`` turns them into session fixtures. See README.md beside this file.
"""

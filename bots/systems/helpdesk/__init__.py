"""Helpdesks: the interface in ``base``, one module per backend (``rt``, ``browser``)."""

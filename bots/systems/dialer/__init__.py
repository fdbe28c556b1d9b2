"""Call platforms: the interface in ``base``, one module per backend (``http``)."""

"""Record forms in a browser: the interface in ``base``, one module per backend (``browser``)."""

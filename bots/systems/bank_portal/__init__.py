"""Corporate online banks: the interface in ``base``, one module per backend (``browser``)."""

"""SQL databases: the interface in ``base``, the SQLAlchemy backend and its helpers in ``alchemy``."""

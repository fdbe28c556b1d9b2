"""``python -m backroom.sandbox.documents OUT_DIR``: write a folder of generated documents."""

from backroom.sandbox.documents import main

raise SystemExit(main())

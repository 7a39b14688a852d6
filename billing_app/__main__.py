"""``python -m billing_app``: see billing_app.cli."""

from billing_app.cli import main

raise SystemExit(main())

"""``python -m apps.cli``: see ``apps.cli`` for the commands and exit codes."""

from __future__ import annotations

from apps.cli.main import main

raise SystemExit(main())

"""What every command receives: the platform, the output, and how to quote this command line in hints."""

from __future__ import annotations

from dataclasses import dataclass

from apps.cli.client import Platform
from apps.cli.output import Output


@dataclass(frozen=True)
class Context:
    platform: Platform
    out: Output
    cli: str
    """The prefix of hints such as ``… approve <id>``, with ``--url`` when it is not the default."""

"""When a tool call needs a person's approval, and what an approval is bound to.

A call needs approval when its tool is annotated destructive (or the catalog does not know it
and so cannot say otherwise) or is listed in ``AGENTIC_REQUIRE_APPROVAL``, unless it is listed in
``AGENTIC_AUTO_APPROVE``. An approval is bound to a hash of the exact server, tool and
arguments, so approving one call can never approve a different one; it is single-use and expires.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from apps.agent_core.model import ToolSpec


def arguments_hash(server: str, tool: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"server": server, "tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ApprovalPolicy:
    require: frozenset[str]
    auto_approve: frozenset[str]
    ttl_seconds: int

    def needs_approval(self, server: str, tool: str, spec: ToolSpec | None) -> bool:
        qualified = f"{server}.{tool}"
        if qualified in self.auto_approve:
            return False
        if qualified in self.require:
            return True
        return spec is None or (spec.destructive and not spec.read_only)

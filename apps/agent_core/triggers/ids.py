"""Run ids derived from what a trigger fires for, so that the store's conditional create starts it once.

Every replica that sees the same schedule tick, or the same alert's firing episode, computes the same id;
``RunStore.create`` lets exactly one of them write it (``RunExists`` for the others), on SQLite and DynamoDB
alike, with no claim to take first and nothing to clean up if a replica dies between two writes.
"""

from __future__ import annotations

import hashlib


def trigger_run_id(kind: str, *parts: str) -> str:
    """A run id (32 hex characters, like the API's) for one firing: ``kind`` and the parts that identify it."""
    identity = "\x1f".join((kind, *parts))  # a separator no part contains, so ("a", "bc") ≠ ("ab", "c")
    return hashlib.sha256(identity.encode()).hexdigest()[:32]

"""Small builders the run store tests share."""

from __future__ import annotations

import time
import uuid

from apps.agent_core.model import RunHeader, RunStatus


def make_header(
    run_id: str | None = None, *, created_at: float = 1_700_000_000.0, status: RunStatus = "queued", title: str = "t"
) -> RunHeader:
    return RunHeader(
        id=run_id or uuid.uuid4().hex,
        kind="task",
        status=status,
        owner="local",
        title=title,
        request={"task": title},
        reasoner="offline",
        created_at=created_at,
        updated_at=created_at,
    )


def leased(owner: str, seconds: float, **fields: object) -> RunHeader:
    """A running run leased to ``owner`` for ``seconds`` from now (negative: already expired)."""
    return make_header(created_at=time.time()).model_copy(
        update={"lease_owner": owner, "lease_expires_at": time.time() + seconds, "status": "running", **fields}
    )

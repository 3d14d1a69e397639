"""A view read while its run ends: the header may already say finished when the events were read just before."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.agent_core.app import create_app
from apps.agent_core.model import RunHeader
from apps.agent_core.runs.events import RunFinished, RunStarted, StepFinished, StepStarted
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.runs.service import RunService
from apps.agent_core.settings import AgentCoreSettings
from tests.apps.agent_core.store.helpers import leased

pytestmark = pytest.mark.anyio
OWNER = "replica-a"


async def test_a_run_that_ends_between_the_two_reads_shows_its_real_ending(tmp_path: Path) -> None:
    """Seen in a 20-race run: the view said the step was cancelled while the tool had run and the run succeeded."""
    # No MCP server answers (port 9, discard): only the service's view and its store are used.
    app = create_app(AgentCoreSettings(mcp_servers="lab=http://127.0.0.1:9/mcp", state=f"sqlite:///{tmp_path}/r.db"))
    service: RunService = app.state.runs
    store = service.store
    header = leased(OWNER, 60)
    await store.create(header)
    journal = RunJournal(store, RunNotifier(), header.id, lease_owner=OWNER, known=header)
    await journal.append(RunStarted(kind="workflow", reasoner="offline"))
    await journal.append(StepStarted(step_id="scale", server="lab", tool="scale"))
    read_header = store.get

    async def ended_meanwhile(run_id: str) -> RunHeader | None:
        # What the replica running it does between the view's two reads: the journal first, then the header.
        await journal.append(StepFinished(step_id="scale", status="succeeded", result={"replicas": 3}))
        await journal.append(RunFinished(status="succeeded", final_answer="scaled"))
        await journal.update(lambda _: {"status": "succeeded", "final_answer": "scaled"})
        return await read_header(run_id)

    store.get = ended_meanwhile  # type: ignore[method-assign]
    try:
        view = await service.view(header.id)
    finally:
        await store.close()

    assert view is not None
    assert (view.status, [(step.id, step.status) for step in view.steps]) == ("succeeded", [("scale", "succeeded")])
    assert view.final_answer == "scaled"

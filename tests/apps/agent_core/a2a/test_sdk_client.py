"""The agent core as an A2A agent, driven by the official A2A SDK's client over real HTTP on 127.0.0.1.

A real agent core with API keys in front of the lab MCP server; the offline planner turns "echo …" into the lab's
read-only ``echo`` and "scale …" into its destructive ``scale``, which waits for a person's approval. Each task must
be a run (``trigger.kind == "a2a"``, same id), and its state must follow the run's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_artifact_text, new_data_part, new_text_part
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)
from a2a.utils.errors import InvalidParamsError

from apps.agent_core.workflows.templates import list_templates
from tests.support.agent_core import TERMINAL, CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import LabState, run_lab_server

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
WAIT_SECONDS = 60.0
"""Generous bound for a state the run reaches within a second or two; it only stops a broken agent."""
DASHBOARD = "https://agentic.example.com"


class Platform:
    def __init__(self, core: CoreClient, keys: Keys, lab: LabState) -> None:
        self.core = core
        self.keys = keys
        self.lab = lab


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    keys = make_keys()
    with (
        run_lab_server() as (url, state),
        run_agent_core(
            {"lab": url}, tmp_path_factory.mktemp("a2a"), api_keys=keys.entries_json, dashboard_url=DASHBOARD
        ) as core,
    ):
        yield Platform(core, keys, state)


@asynccontextmanager
async def a2a_client(platform: Platform, key: str | None, *, streaming: bool = True) -> AsyncIterator[Client]:
    """The SDK's client, built from the card it fetches from the well-known path (the card is public)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(headers=headers, timeout=WAIT_SECONDS) as http:
        # The card names the public address (AGENTIC_DASHBOARD_URL); this test reaches the same core on 127.0.0.1.
        card = await A2ACardResolver(http, platform.core.url).get_agent_card()
        card.supported_interfaces[0].url = platform.core.url + "/api/a2a"
        client = ClientFactory(ClientConfig(httpx_client=http, streaming=streaming)).create(card)
        try:
            yield client
        finally:
            await client.close()


def user_message(text: str | None = None, data: dict[str, Any] | None = None) -> Message:
    parts = [new_text_part(text)] if text else []
    if data is not None:
        parts.append(new_data_part(data))
    return Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=parts)


def send(message: Message, *, return_immediately: bool = False) -> SendMessageRequest:
    return SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(return_immediately=return_immediately)
    )


def _state(response: StreamResponse) -> TaskState | None:
    if response.HasField("task"):
        return response.task.status.state
    if response.HasField("status_update"):
        return response.status_update.status.state
    return None


def _task_id(response: StreamResponse) -> str:
    if response.HasField("task"):
        return response.task.id
    return response.status_update.task_id or response.artifact_update.task_id


def _run(platform: Platform, run_id: str) -> dict[str, Any]:
    return platform.core.run(run_id, key=platform.keys.viewer)


def _approve(platform: Platform, run_id: str) -> None:
    run = platform.core.wait_for(run_id, {"awaiting_approval"}, timeout=WAIT_SECONDS, key=platform.keys.viewer)
    [approval] = [a for a in run["approvals"] if a["status"] == "pending"]
    decided = platform.core.http.post(
        f"/api/runs/{run_id}/approvals",
        json={"decision": "approve", "approval_id": approval["id"], "arguments_hash": approval["arguments_hash"]},
        headers={"Authorization": f"Bearer {platform.keys.approver}"},
    )
    assert decided.status_code == 200, decided.text


async def test_the_card_is_public_at_the_well_known_path_and_lists_the_skills(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=WAIT_SECONDS) as http:  # no key: the card is public
        card = await A2ACardResolver(http, platform.core.url).get_agent_card()

    assert [skill.id for skill in card.skills] == ["run_task", *(t.id for t in list_templates())]
    [interface] = card.supported_interfaces
    assert (interface.url, interface.protocol_binding) == (DASHBOARD + "/api/a2a", "JSONRPC")
    assert card.security_schemes["bearer"].http_auth_security_scheme.scheme == "Bearer"
    assert "bearer" in card.security_requirements[0].schemes
    assert card.capabilities.streaming


async def test_a_task_streams_to_completion_with_the_final_answer_as_last_artifact(platform: Platform) -> None:
    async with a2a_client(platform, platform.keys.operator) as client:
        seen = [response async for response in client.send_message(send(user_message('echo "hello from a2a"')))]
        task_id = _task_id(seen[0])
        task = await client.get_task(GetTaskRequest(id=task_id))

    states = [state for state in map(_state, seen) if state is not None]
    assert states[0] == TaskState.TASK_STATE_SUBMITTED
    # Working shows when the follower looks while a step runs; an echo may already be done by then.
    assert set(states[1:-1]) <= {TaskState.TASK_STATE_WORKING}
    run = _run(platform, task_id)
    assert states[-1] == TaskState.TASK_STATE_COMPLETED, json.dumps(run)
    assert run["status"] == "succeeded" and run["trigger"]["kind"] == "a2a" and run["trigger"]["id"] == task_id
    assert run["owner"] == "operator-user"
    assert [(s["server"], s["tool"], s["status"]) for s in run["steps"]] == [("lab", "echo", "succeeded")]
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.artifacts[-1].name == "final_answer"
    assert get_artifact_text(task.artifacts[-1]) == run["final_answer"]
    [step] = [a for a in task.artifacts if a.name == "lab.echo"]
    assert step.parts[0].data.struct_value["text"] == "hello from a2a"


async def test_an_approval_gated_task_is_input_required_until_approved(platform: Platform) -> None:
    async with a2a_client(platform, platform.keys.operator) as client:
        stream = aiter(client.send_message(send(user_message('scale target "web" to 3 replicas'))))
        states: list[TaskState] = []
        waiting: StreamResponse | None = None
        async with asyncio.timeout(WAIT_SECONDS):
            async for response in stream:
                state = _state(response)
                if state is not None:
                    states.append(state)
                if state == TaskState.TASK_STATE_INPUT_REQUIRED and waiting is None:
                    waiting = response
                    assert platform.lab.calls["scale"] == 0, "nothing runs before a decision"
                    await asyncio.to_thread(_approve, platform, _task_id(response))
        assert waiting is not None, states
        task = await client.get_task(GetTaskRequest(id=_task_id(waiting)))

    message = waiting.status_update.status.message if waiting.HasField("status_update") else None
    text = "".join(part.text for part in message.parts) if message else ""
    assert "lab.scale" in text and f"{DASHBOARD}/#/runs/{task.id}" in text and "approve" in text
    assert states[0] == TaskState.TASK_STATE_SUBMITTED and states[-1] == TaskState.TASK_STATE_COMPLETED
    assert states.index(TaskState.TASK_STATE_INPUT_REQUIRED) < len(states) - 1
    assert task.status.state == TaskState.TASK_STATE_COMPLETED and platform.lab.calls["scale"] == 1


async def test_cancelling_a_waiting_task_cancels_its_run(platform: Platform) -> None:
    async with a2a_client(platform, platform.keys.operator, streaming=False) as client:
        [sent] = [r async for r in client.send_message(send(user_message('scale target "api" to 5 replicas')))]
        assert sent.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED, sent
        cancelled = await client.cancel_task(CancelTaskRequest(id=sent.task.id))
        read = await client.get_task(GetTaskRequest(id=sent.task.id))

    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    assert read.status.state == TaskState.TASK_STATE_CANCELED
    run = platform.core.wait_for(sent.task.id, TERMINAL, timeout=WAIT_SECONDS, key=platform.keys.viewer)
    assert run["status"] == "cancelled"


async def test_keys_and_roles(platform: Platform) -> None:
    async with a2a_client(platform, platform.keys.operator, streaming=False) as client:
        [done] = [r async for r in client.send_message(send(user_message('echo "for the viewer"')))]
    assert done.task.status.state == TaskState.TASK_STATE_COMPLETED

    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "echo x"}]}},
    }
    get = {"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": done.task.id}}
    http = platform.core.http
    viewer = {"Authorization": f"Bearer {platform.keys.viewer}", "A2A-Version": "1.0"}
    assert http.post("/api/a2a", json=body).status_code == 401
    assert http.post("/api/a2a", json=body, headers={"Authorization": "Bearer awp_nope"}).status_code == 401
    assert http.post("/api/a2a", json=body, headers=viewer).status_code == 403
    read = http.post("/api/a2a", json=get, headers=viewer)
    assert read.status_code == 200 and read.json()["result"]["status"]["state"] == "TASK_STATE_COMPLETED", read.text

    async with a2a_client(platform, platform.keys.viewer) as client:
        fetched = await client.get_task(GetTaskRequest(id=done.task.id))
    assert fetched.id == done.task.id


async def test_a_template_skill_is_checked_like_any_workflow(platform: Platform) -> None:
    """The lab serves none of the templates' tools: the error names what is missing, and no run starts."""
    before = platform.core.http.get(
        "/api/runs?trigger=a2a&limit=200", headers={"Authorization": f"Bearer {platform.keys.viewer}"}
    )
    async with a2a_client(platform, platform.keys.operator, streaming=False) as client:
        with pytest.raises(InvalidParamsError, match='unknown server "custom"') as template:
            _ = [r async for r in client.send_message(send(user_message(data={"skill": "weather_to_store"})))]
        with pytest.raises(InvalidParamsError, match="no skill 'nope'"):
            _ = [r async for r in client.send_message(send(user_message(data={"skill": "nope"})))]
    after = platform.core.http.get(
        "/api/runs?trigger=a2a&limit=200", headers={"Authorization": f"Bearer {platform.keys.viewer}"}
    )
    assert len(after.json()["runs"]) == len(before.json()["runs"]), template.value

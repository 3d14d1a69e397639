"""Runs through the Bedrock reasoner, end to end: HTTP API, agent core, lab MCP server, a local Converse endpoint.

Everything is real (uvicorn on 127.0.0.1, boto3, the MCP client and server) except the model, which
is the scripted stand-in boto3 reaches through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apps.agent_core.api.model_conversation import (
    FAIL_REASON,
    FINAL_ANSWER,
    TASK,
    USAGE,
    assert_scripted_conversation,
)
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.fake_bedrock import (
    STRAY_AWS_VARIABLES,
    ConverseCall,
    FakeBedrock,
    Fault,
    Reply,
    ToolCall,
    run_fake_bedrock,
)
from tests.support.lab_server import LabState, run_lab_server

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
TOOLS = ["lab__always_fails", "lab__apply", "lab__echo", "lab__flaky", "lab__scale", "lab__slow_echo"]


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    """The lab MCP server's URL and call counters, for this module; tests compare counts before and after."""
    with run_lab_server() as served:
        yield served


@pytest.fixture(scope="module")
def bedrock_server() -> Iterator[FakeBedrock]:
    with run_fake_bedrock() as fake:
        yield fake


@pytest.fixture(scope="module")
def core(
    lab: tuple[str, LabState], bedrock_server: FakeBedrock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    """One agent core for the module; boto3 finds the fake only through the standard variables."""
    with pytest.MonkeyPatch.context() as env:
        for name in STRAY_AWS_VARIABLES:
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_REGION", "us-west-2")
        env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_server.base_url)
        state_dir: Path = tmp_path_factory.mktemp("bedrock-runs")
        with run_agent_core({"lab": lab[0]}, state_dir, reasoner="bedrock", bedrock_model_id=MODEL_ID) as client:
            yield client


@pytest.fixture
def bedrock(bedrock_server: FakeBedrock) -> FakeBedrock:
    bedrock_server.clear()
    return bedrock_server


def script_conversation(fake: FakeBedrock) -> None:
    """Two slow echoes in one turn, then a tool that fails, then the answer."""
    first, second, third = USAGE
    fake.script(
        Reply.tool_use(
            ToolCall("lab__slow_echo", {"text": "alpha", "seconds": 0.3}, "tu_alpha"),
            ToolCall("lab__slow_echo", {"text": "beta", "seconds": 0.3}, "tu_beta"),
            text="Echoing both at once.",
            input_tokens=first[0],
            output_tokens=first[1],
        ),
        Reply.tool_use(
            ToolCall("lab__always_fails", {"reason": FAIL_REASON}, "tu_fail"),
            input_tokens=second[0],
            output_tokens=second[1],
        ),
        Reply.text(FINAL_ANSWER, input_tokens=third[0], output_tokens=third[1]),
    )


def tool_results(call: ConverseCall) -> dict[str, dict[str, Any]]:
    """The toolResult blocks of a request's last (user) message, by toolUseId."""
    last = call.messages[-1]
    assert last["role"] == "user"
    return {block["toolResult"]["toolUseId"]: block["toolResult"] for block in last["content"]}


def start_and_finish(core: CoreClient, via: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a run through ``POST /api/runs`` (then poll) or ``POST /api`` (which waits); return its view."""
    if via == "/api/runs":
        return core.wait_for(core.start(body), TERMINAL)
    response = core.http.post("/api", json=body)
    assert response.status_code == 200, response.text
    view = dict(response.json())
    # What POST /api answered is what the run's own page shows.
    assert core.run(view["id"]) == view
    return view


@pytest.mark.parametrize("via", ["/api/runs", "/api"])
def test_a_conversation_with_parallel_tools_and_a_failing_one(
    core: CoreClient, bedrock: FakeBedrock, lab: tuple[str, LabState], via: str
) -> None:
    script_conversation(bedrock)
    calls_before = dict(lab[1].calls)

    view = start_and_finish(core, via, {"task": TASK})

    assert_scripted_conversation(view, reasoner="bedrock", model=MODEL_ID)
    assert view["turns"][0]["text"] == "Echoing both at once."
    assert lab[1].calls["slow_echo"] - calls_before.get("slow_echo", 0) == 2
    assert lab[1].calls["always_fails"] - calls_before.get("always_fails", 0) == 1

    requests = bedrock.calls
    assert len(requests) == 3 and bedrock.pending == 0
    for request in requests:
        assert request.model_id == MODEL_ID
        assert request.tool_config is not None, "every request must carry toolConfig"
        assert request.tool_names == TOOLS
    assert requests[0].last_user_text == TASK
    echoed = tool_results(requests[1])
    assert sorted(echoed) == ["tu_alpha", "tu_beta"]
    for use_id, text in (("tu_alpha", "alpha"), ("tu_beta", "beta")):
        assert "status" not in echoed[use_id]
        assert echoed[use_id]["content"][0]["json"]["text"] == text
    failed = tool_results(requests[2])["tu_fail"]
    assert failed["status"] == "error"
    assert f"always fails: {FAIL_REASON}" in failed["content"][0]["text"]


def test_throttling_is_retried_and_the_run_succeeds(core: CoreClient, bedrock: FakeBedrock) -> None:
    bedrock.script(Fault.throttling(), Reply.text("Answered after a retry.", input_tokens=7, output_tokens=4))

    view = core.wait_for(core.start({"task": "Say something."}), TERMINAL)

    assert view["status"] == "succeeded", view
    assert view["final_answer"] == "Answered after a retry."
    assert len(bedrock.calls) == 2
    assert bedrock.calls[0].body == bedrock.calls[1].body
    # Only the answered call counts: one turn, its tokens.
    assert len(view["turns"]) == 1
    assert view["usage"] == {"input_tokens": 7, "output_tokens": 4}


def test_access_denied_fails_the_run_with_a_clear_error(core: CoreClient, bedrock: FakeBedrock) -> None:
    bedrock.script(Fault.access_denied())

    view = core.wait_for(core.start({"task": "Say something."}), TERMINAL)

    assert view["status"] == "failed", view
    assert view["final_answer"] is None
    error = view["error"]
    assert error.startswith("the model failed: ")
    assert f"Access to Bedrock model {MODEL_ID} was denied in us-west-2" in error
    assert "bedrock:InvokeModel" in error
    # A refusal is not retried.
    assert len(bedrock.calls) == 1
    assert view["turns"] == [] and view["steps"] == []

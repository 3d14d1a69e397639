"""Runs through the OpenAI-compatible reasoner, end to end: HTTP API, agent core, lab MCP server, a local model.

Everything is real (uvicorn on 127.0.0.1, httpx, the MCP client and server) except the model: the
scripted chat-completions endpoint the agent core is pointed at by ``openai_base_url``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from tests.support.fake_openai import ChatCall, FakeOpenAI, FunctionCall, Reply, run_fake_openai
from tests.support.lab_server import LabState, run_lab_server

MODEL = "llama3.1:8b"
TOOLS = ["lab__always_fails", "lab__apply", "lab__echo", "lab__flaky", "lab__scale", "lab__slow_echo"]


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    """The lab MCP server's URL and call counters, for this module; tests compare counts before and after."""
    with run_lab_server() as served:
        yield served


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    with run_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def core(
    lab: tuple[str, LabState], openai_server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    state_dir = tmp_path_factory.mktemp("openai-runs")
    with run_agent_core(
        {"lab": lab[0]}, state_dir, reasoner="openai", openai_base_url=openai_server.base_url, openai_model=MODEL
    ) as client:
        yield client


@pytest.fixture
def openai(openai_server: FakeOpenAI) -> FakeOpenAI:
    openai_server.clear()
    return openai_server


def tool_messages(call: ChatCall) -> dict[str, str]:
    """The ``tool`` messages after the request's last assistant message: tool_call_id → content."""
    messages = call.messages
    last_assistant = max(index for index, message in enumerate(messages) if message["role"] == "assistant")
    answers = messages[last_assistant + 1 :]
    assert all(message["role"] == "tool" for message in answers), answers
    return {message["tool_call_id"]: message["content"] for message in answers}


@pytest.mark.parametrize("via", ["/api/runs", "/api"])
def test_a_conversation_with_parallel_tools_and_a_failing_one(
    core: CoreClient, openai: FakeOpenAI, lab: tuple[str, LabState], via: str
) -> None:
    first, second, third = USAGE
    openai.script(
        Reply.calls(
            FunctionCall("lab__slow_echo", '{"text": "alpha", "seconds": 0.3}', "call_alpha"),
            FunctionCall("lab__slow_echo", {"text": "beta", "seconds": 0.3}, "call_beta"),
            prompt_tokens=first[0],
            completion_tokens=first[1],
        ),
        Reply.calls(
            FunctionCall("lab__always_fails", {"reason": FAIL_REASON}, "call_fail"),
            prompt_tokens=second[0],
            completion_tokens=second[1],
        ),
        Reply.text(FINAL_ANSWER, prompt_tokens=third[0], completion_tokens=third[1]),
    )
    calls_before = dict(lab[1].calls)

    if via == "/api/runs":
        view = core.wait_for(core.start({"task": TASK}), TERMINAL)
    else:
        response = core.http.post("/api", json={"task": TASK})
        assert response.status_code == 200, response.text
        view = response.json()
        assert core.run(view["id"]) == view

    assert_scripted_conversation(view, reasoner="openai", model=MODEL)
    assert lab[1].calls["slow_echo"] - calls_before.get("slow_echo", 0) == 2
    assert lab[1].calls["always_fails"] - calls_before.get("always_fails", 0) == 1

    requests = openai.calls
    assert len(requests) == 3 and openai.pending == 0
    for request in requests:
        assert request.body["model"] == MODEL
        assert request.tool_names == TOOLS
    assert requests[0].last_user_text == TASK
    echoed = tool_messages(requests[1])
    assert sorted(echoed) == ["call_alpha", "call_beta"]
    assert json.loads(echoed["call_alpha"])["text"] == "alpha"
    assert json.loads(echoed["call_beta"])["text"] == "beta"
    failed = tool_messages(requests[2])
    assert list(failed) == ["call_fail"]
    assert failed["call_fail"].startswith("Error: ")
    assert f"always fails: {FAIL_REASON}" in failed["call_fail"]


def test_arguments_that_are_not_json_get_an_error_result_and_the_run_finishes(
    core: CoreClient, openai: FakeOpenAI, lab: tuple[str, LabState]
) -> None:
    broken = '{"text": "hi"'
    openai.script(
        Reply.calls(FunctionCall("lab__echo", broken, "call_broken")),
        Reply.text("I could not call the echo tool."),
    )
    echoes_before = lab[1].calls["echo"]

    view = core.wait_for(core.start({"task": "Echo hi."}), TERMINAL)

    assert view["status"] == "succeeded", view
    assert view["final_answer"] == "I could not call the echo tool."
    # The call is journaled as the model asked it, but never reached the tool.
    assert [(c["server"], c["tool"], c["arguments"]) for c in view["turns"][0]["tool_calls"]] == [("lab", "echo", {})]
    assert view["steps"] == []
    assert lab[1].calls["echo"] == echoes_before

    requests = openai.calls
    assert len(requests) == 2
    answered = tool_messages(requests[1])
    assert list(answered) == ["call_broken"]
    assert "were not valid JSON" in answered["call_broken"]
    assert "Call the tool again" in answered["call_broken"]
    # The model's own (broken) call stays in the history as it wrote it.
    assistant: dict[str, Any] = requests[1].messages[-2]
    assert assistant["tool_calls"][0]["function"]["arguments"] == broken

"""The OpenAI-compatible reasoner over real HTTP against the local chat-completions endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from apps.agent_core.reasoning.base import Budget, ReasonerError
from apps.agent_core.reasoning.openai import OpenAIReasoner, chat_completions_url
from apps.agent_core.reasoning.retry import ModelRetryPolicy
from tests.apps.agent_core.reasoning.helpers import (
    Executor,
    Sleeps,
    TurnLog,
    conversation_executor,
    conversation_tools,
)
from tests.support.fake_openai import ChatCall, FakeOpenAI, Fault, FunctionCall, Reply
from tests.support.net import free_port

pytestmark = pytest.mark.anyio

MODEL = "llama3.1:8b"
Make = Callable[..., OpenAIReasoner]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make(fake_openai: FakeOpenAI, sleeps: Sleeps) -> AsyncIterator[Make]:
    made: list[OpenAIReasoner] = []

    def build(**options: Any) -> OpenAIReasoner:
        options.setdefault("base_url", fake_openai.base_url)
        reasoner = OpenAIReasoner(model=MODEL, sleep=sleeps, **options)
        made.append(reasoner)
        return reasoner

    yield build
    for reasoner in made:
        await reasoner.aclose()


def script_conversation(fake: FakeOpenAI) -> None:
    fake.script(
        Reply.calls(
            FunctionCall("aws__list_s3_buckets", "{}", "call_1"),
            FunctionCall("custom__kv_get", '{"key": "missing"}', "call_2"),
            text="Checking buckets and the key.",
            prompt_tokens=100,
            completion_tokens=20,
        ),
        Reply.calls(
            FunctionCall("kubernetes__list_pods", '{"namespace": "shop"}', "call_3"),
            prompt_tokens=200,
            completion_tokens=10,
        ),
        Reply.text("Two buckets, no stored value, one pod running.", prompt_tokens=300, completion_tokens=15),
    )


def tool_messages_after_last_assistant(call: ChatCall) -> list[dict[str, Any]]:
    messages = call.messages
    last_assistant = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[last_assistant + 1 :]


async def test_the_same_conversation_through_chat_completions(fake_openai: FakeOpenAI, make: Make) -> None:
    script_conversation(fake_openai)
    turns = TurnLog()
    executor = conversation_executor(turns)

    result = await make().run("Check the platform", conversation_tools(), executor, turns, Budget())

    assert result.final_answer == "Two buckets, no stored value, one pod running."
    assert (result.stop_reason, result.turns) == ("end_turn", 3)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (600, 45)
    assert [[(c.id, c.server, c.tool, c.arguments) for c in batch] for batch in executor.batches] == [
        [("call_1", "aws", "list_s3_buckets", {}), ("call_2", "custom", "kv.get", {"key": "missing"})],
        [("call_3", "kubernetes", "list_pods", {"namespace": "shop"})],
    ]
    calls = fake_openai.calls
    assert len(calls) == 3
    for call in calls:
        assert call.body["model"] == MODEL
        assert call.tool_names == ["aws__list_s3_buckets", "custom__kv_get", "kubernetes__list_pods"]
        for tool in call.tools or []:
            assert tool["type"] == "function"
            assert tool["function"]["description"].strip()
            assert tool["function"]["parameters"]["type"] == "object"
        assert call.messages[0]["role"] == "system"
        assert "never instructions" in call.messages[0]["content"]
    buckets, key = tool_messages_after_last_assistant(calls[1])
    assert buckets["role"] == "tool"
    assert buckets["tool_call_id"] == "call_1"
    assert json.loads(buckets["content"]) == {"buckets": [{"name": "alpha"}, {"name": "beta"}], "truncated": False}
    assert key["tool_call_id"] == "call_2"
    assert key["content"] == "Error: No value is stored under 'missing'."
    assert tool_messages_after_last_assistant(calls[2]) == [
        {"role": "tool", "tool_call_id": "call_3", "content": "web-1 Running"}
    ]
    assert executor.turns_seen == [1, 2]
    assert [turn.stop_reason for turn in turns.turns] == ["tool_use", "tool_use", "end_turn"]
    assert [turn.model for turn in turns.turns] == [MODEL] * 3


async def test_tools_of_one_turn_run_concurrently(fake_openai: FakeOpenAI, make: Make) -> None:
    script_conversation(fake_openai)
    turns = TurnLog()
    executor = conversation_executor(turns, delay=0.3)

    await make().run("Check the platform", conversation_tools(), executor, turns, Budget())

    assert len(executor.batches[0]) == 2
    assert 0.3 <= executor.durations[0] < 0.5


async def test_arguments_that_are_not_a_json_object_are_answered_with_an_error(
    fake_openai: FakeOpenAI, make: Make
) -> None:
    fake_openai.script(
        Reply.calls(
            FunctionCall("custom__kv_get", '{"key": ', "bad_json"),
            FunctionCall("custom__kv_get", '["k"]', "not_object"),
            FunctionCall("aws__list_s3_buckets", "", "empty"),
        ),
        Reply.text("Fixed."),
    )
    executor = Executor()

    result = await make().run("read k", conversation_tools(), executor, TurnLog(), Budget())

    assert result.final_answer == "Fixed."
    # Only the call without arguments ran: empty arguments mean none.
    assert [(c.tool, c.arguments) for c in executor.calls] == [("list_s3_buckets", {})]
    bad, not_object, empty = tool_messages_after_last_assistant(fake_openai.calls[1])
    assert bad["tool_call_id"] == "bad_json"
    assert "not valid JSON" in bad["content"]
    assert "valid JSON object" in bad["content"]
    assert "must be a JSON object" in not_object["content"]
    assert json.loads(empty["content"]) == {"echo": {}}


async def test_unknown_tools_get_an_error_listing_the_valid_ones(fake_openai: FakeOpenAI, make: Make) -> None:
    fake_openai.script(Reply.calls(FunctionCall("rm_rf", "{}", "c1")), Reply.text("Sorry."))
    executor = Executor()

    await make().run("Clean up", conversation_tools(), executor, TurnLog(), Budget())

    assert executor.batches == []
    (answer,) = tool_messages_after_last_assistant(fake_openai.calls[1])
    assert "rm_rf" in answer["content"]
    assert "aws__list_s3_buckets" in answer["content"]


async def test_missing_and_repeated_call_ids_are_made_unique(fake_openai: FakeOpenAI, make: Make) -> None:
    fake_openai.script(
        Reply.calls(FunctionCall("aws__list_s3_buckets", "{}", "0")),
        Reply.calls(FunctionCall("aws__list_s3_buckets", "{}", "0")),
        Reply.text("Done."),
    )
    executor = Executor()

    await make().run("buckets twice", conversation_tools(), executor, TurnLog(), Budget())

    ids = [call.id for call in executor.calls]
    assert len(ids) == len(set(ids)) == 2
    assert ids[0] == "0"


async def test_rate_limits_are_retried_honouring_retry_after(
    fake_openai: FakeOpenAI, make: Make, sleeps: Sleeps
) -> None:
    fake_openai.script(Fault.rate_limited(retry_after="2"), Fault.server_error(), Reply.text("ok"))

    result = await make().run("hi", [], Executor(), TurnLog(), Budget())

    assert result.final_answer == "ok"
    assert len(fake_openai.calls) == 3
    assert sleeps.delays[0] == 2.0  # the server's wish outweighs a jitter of at most 0.5 s
    assert 0 <= sleeps.delays[1] <= 1.0


async def test_retry_after_cannot_stall_a_run(fake_openai: FakeOpenAI, make: Make, sleeps: Sleeps) -> None:
    fake_openai.script(Fault.rate_limited(retry_after="3600"), Reply.text("ok"))

    await make(retry=ModelRetryPolicy(max_delay=4.0)).run("hi", [], Executor(), TurnLog(), Budget())

    assert sleeps.delays == [4.0]


async def test_server_errors_give_up_after_the_attempts(fake_openai: FakeOpenAI, make: Make, sleeps: Sleeps) -> None:
    fake_openai.script(*[Fault.server_error("overloaded")] * 3)

    with pytest.raises(ReasonerError, match="kept failing \\(500\\) after 3 attempts: overloaded"):
        await make(retry=ModelRetryPolicy(max_attempts=3)).run("hi", [], Executor(), TurnLog(), Budget())

    assert len(sleeps.delays) == 2


async def test_an_unreachable_endpoint_is_retried_then_reported(make: Make, sleeps: Sleeps) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"

    with pytest.raises(ReasonerError, match="Could not connect"):
        await make(base_url=url, retry=ModelRetryPolicy(max_attempts=2)).run("hi", [], Executor(), TurnLog(), Budget())

    assert len(sleeps.delays) == 1


async def test_a_refused_key_points_at_the_setting(fake_openai: FakeOpenAI, make: Make, sleeps: Sleeps) -> None:
    fake_openai.script(Fault.unauthorized())

    with pytest.raises(ReasonerError, match="AGENTIC_OPENAI_API_KEY"):
        await make(api_key="sk-test").run("hi", [], Executor(), TurnLog(), Budget())

    assert fake_openai.calls[0].headers["authorization"] == "Bearer sk-test"
    assert sleeps.delays == []


async def test_no_key_means_no_authorization_header(fake_openai: FakeOpenAI, make: Make) -> None:
    await make().run("hi", [], Executor(), TurnLog(), Budget())

    assert "authorization" not in fake_openai.calls[0].headers
    assert fake_openai.calls[0].tools is None


async def test_budget_and_length_limits(fake_openai: FakeOpenAI, make: Make) -> None:
    fake_openai.script(
        Reply.calls(FunctionCall("aws__list_s3_buckets", "{}"), text="Looking."),
        Reply.calls(FunctionCall("aws__list_s3_buckets", "{}"), text="Again."),
    )
    executor = Executor()
    result = await make().run("loop", conversation_tools(), executor, TurnLog(), Budget(max_turns=2))
    assert result.stop_reason == "max_turns"
    assert "limit of 2 model turns" in result.final_answer
    assert len(executor.calls) == 1

    fake_openai.script(Reply.text("Half an answ", finish_reason="length", include_usage=False))
    result = await make(max_tokens_per_turn=32).run("explain", [], Executor(), TurnLog(), Budget())
    assert result.stop_reason == "max_tokens"
    assert "cut off at its limit of 32 output tokens" in result.final_answer
    assert (result.usage.input_tokens, result.usage.output_tokens) == (0, 0)
    assert fake_openai.calls[-1].body["max_tokens"] == 32


async def test_summarize(fake_openai: FakeOpenAI, make: Make) -> None:
    fake_openai.script(Reply.text("All healthy.", prompt_tokens=40, completion_tokens=2))

    text, usage = await make().summarize("Is anything unhealthy?", {"pods": [{"name": "web-1", "ready": True}]})

    assert text == "All healthy."
    assert (usage.input_tokens, usage.output_tokens) == (40, 2)
    (call,) = fake_openai.calls
    assert call.tools is None
    assert call.messages[0]["role"] == "system"
    assert '{"pods":[{"name":"web-1","ready":true}]}' in call.last_user_text


async def test_an_injected_client_is_used_and_left_open(fake_openai: FakeOpenAI) -> None:
    async with httpx.AsyncClient(headers={"x-from": "caller"}) as http:
        reasoner = OpenAIReasoner(fake_openai.base_url, MODEL, http=http)
        await reasoner.run("hi", [], Executor(), TurnLog(), Budget())
        await reasoner.aclose()
        assert not http.is_closed
    assert fake_openai.calls[0].headers["x-from"] == "caller"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1/chat/completions"),
        ("http://localhost:11434/v1/", "http://localhost:11434/v1/chat/completions"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"),
        ("http://vllm:8000/v1/chat/completions", "http://vllm:8000/v1/chat/completions"),
    ],
)
def test_base_urls_are_normalized(base_url: str, expected: str) -> None:
    assert chat_completions_url(base_url) == expected


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        chat_completions_url("localhost:11434")

"""The Bedrock reasoner over real HTTP against the local Converse endpoint, boto3 pointed at it by environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from apps.agent_core.reasoning.base import Budget, ReasonerError
from apps.agent_core.reasoning.bedrock import BedrockReasoner, create_bedrock_reasoner
from apps.agent_core.reasoning.retry import ModelRetryPolicy
from tests.apps.agent_core.reasoning.helpers import (
    Executor,
    Sleeps,
    TurnLog,
    conversation_executor,
    conversation_tools,
    failing,
    spec,
)
from tests.support.fake_bedrock import ConverseCall, FakeBedrock, Fault, Reply, ToolCall

pytestmark = pytest.mark.anyio

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
Make = Callable[..., BedrockReasoner]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make(fake_bedrock: FakeBedrock, new_session: Callable[[], boto3.Session], sleeps: Sleeps) -> Make:
    def build(**options: Any) -> BedrockReasoner:
        return create_bedrock_reasoner(MODEL_ID, session=new_session(), sleep=sleeps, **options)

    return build


def script_conversation(fake: FakeBedrock) -> None:
    """Two tools in one turn, then one more, then the answer."""
    fake.script(
        Reply.tool_use(
            ToolCall("aws__list_s3_buckets", {}, "tu_1"),
            ToolCall("custom__kv_get", {"key": "missing"}, "tu_2"),
            text="Checking buckets and the key.",
            input_tokens=100,
            output_tokens=20,
        ),
        Reply.tool_use(
            ToolCall("kubernetes__list_pods", {"namespace": "shop"}, "tu_3"), input_tokens=200, output_tokens=10
        ),
        Reply.text("Two buckets, no stored value, one pod running.", input_tokens=300, output_tokens=15),
    )


def tool_results(call: ConverseCall) -> list[dict[str, Any]]:
    last = call.messages[-1]
    assert last["role"] == "user"
    return [block["toolResult"] for block in last["content"]]


async def test_a_scripted_conversation_with_parallel_tools(fake_bedrock: FakeBedrock, make: Make) -> None:
    script_conversation(fake_bedrock)
    turns = TurnLog()
    executor = conversation_executor(turns)
    reasoner = make()

    result = await reasoner.run("Check the platform", conversation_tools(), executor, turns, Budget())

    assert result.final_answer == "Two buckets, no stored value, one pod running."
    assert (result.stop_reason, result.turns) == ("end_turn", 3)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (600, 45)
    # The first turn's two calls arrive in one execute call, in MCP terms (the dotted name restored).
    assert [[(c.id, c.server, c.tool, c.arguments) for c in batch] for batch in executor.batches] == [
        [("tu_1", "aws", "list_s3_buckets", {}), ("tu_2", "custom", "kv.get", {"key": "missing"})],
        [("tu_3", "kubernetes", "list_pods", {"namespace": "shop"})],
    ]
    calls = fake_bedrock.calls
    assert len(calls) == 3
    for call in calls:
        assert call.model_id == MODEL_ID
        assert call.tool_names == ["aws__list_s3_buckets", "custom__kv_get", "kubernetes__list_pods"]
        for tool in call.tool_config["tools"]:  # type: ignore[index]
            assert tool["toolSpec"]["description"].strip()
            assert tool["toolSpec"]["inputSchema"]["json"]["type"] == "object"
        assert "never instructions" in call.system[0]["text"]  # type: ignore[index]
    first, second = tool_results(calls[1])
    assert first == {
        "toolUseId": "tu_1",
        "content": [{"json": {"buckets": [{"name": "alpha"}, {"name": "beta"}], "truncated": False}}],
    }
    assert second["toolUseId"] == "tu_2"
    assert second["status"] == "error"
    assert "No value is stored under 'missing'." in second["content"][0]["text"]
    assert tool_results(calls[2]) == [{"toolUseId": "tu_3", "content": [{"text": "web-1 Running"}]}]
    # Each turn is recorded before its tools run.
    assert [turn.index for turn in turns.turns] == [1, 2, 3]
    assert executor.turns_seen == [1, 2]
    assert [turn.stop_reason for turn in turns.turns] == ["tool_use", "tool_use", "end_turn"]
    assert [c.tool for c in turns.turns[0].tool_calls] == ["list_s3_buckets", "kv.get"]
    assert turns.turns[0].text == "Checking buckets and the key."
    assert turns.turns[0].model == MODEL_ID
    assert turns.turns[2].usage.input_tokens == 300
    await reasoner.aclose()


async def test_tools_of_one_turn_run_concurrently(fake_bedrock: FakeBedrock, make: Make) -> None:
    script_conversation(fake_bedrock)
    turns = TurnLog()
    executor = conversation_executor(turns, delay=0.3)

    await make().run("Check the platform", conversation_tools(), executor, turns, Budget())

    assert len(executor.batches[0]) == 2
    # Two 0.3 s tools in one batch: together about 0.3 s, where one after the other would take 0.6 s.
    assert 0.3 <= executor.durations[0] < 0.5


async def test_throttling_is_retried_with_backoff(fake_bedrock: FakeBedrock, make: Make, sleeps: Sleeps) -> None:
    fake_bedrock.script(Fault.throttling(), Fault.model_not_ready(), Reply.text("Done."))

    result = await make().run("hello", [], Executor(), TurnLog(), Budget())

    assert result.final_answer == "Done."
    assert len(fake_bedrock.calls) == 3  # botocore itself did not retry: ours are the only retries
    assert len(sleeps.delays) == 2
    assert 0 <= sleeps.delays[0] <= 0.5
    assert 0 <= sleeps.delays[1] <= 1.0


@pytest.mark.parametrize("fault", [Fault.unavailable(), Fault.internal(), Fault(502, "BadGateway", "upstream")])
async def test_transient_failures_give_up_after_the_attempts(
    fake_bedrock: FakeBedrock, make: Make, sleeps: Sleeps, fault: Fault
) -> None:
    fake_bedrock.script(*[fault] * 3)

    with pytest.raises(ReasonerError, match=f"after 3 attempts.*{fault.message}"):
        await make(retry=ModelRetryPolicy(max_attempts=3, base_delay=0.1, max_delay=0.15)).run(
            "hello", [], Executor(), TurnLog(), Budget()
        )

    assert len(fake_bedrock.calls) == 3
    assert len(sleeps.delays) == 2
    assert all(0 <= delay <= 0.15 for delay in sleeps.delays)


async def test_access_denied_names_the_model(fake_bedrock: FakeBedrock, make: Make, sleeps: Sleeps) -> None:
    fake_bedrock.script(Fault.access_denied("User arn:aws:sts::123456789012:assumed-role/x is not authorized"))

    with pytest.raises(ReasonerError) as raised:
        await make().run("hello", [], Executor(), TurnLog(), Budget())

    message = str(raised.value)
    assert MODEL_ID in message
    assert "denied" in message
    assert "123456789012" not in message
    assert len(fake_bedrock.calls) == 1
    assert sleeps.delays == []


async def test_validation_errors_carry_aws_message(fake_bedrock: FakeBedrock, make: Make) -> None:
    fake_bedrock.script(Fault.validation("The provided model identifier is invalid."))

    with pytest.raises(ReasonerError, match="The provided model identifier is invalid"):
        await make().run("hello", [], Executor(), TurnLog(), Budget())


async def test_the_turn_budget_stops_the_loop(fake_bedrock: FakeBedrock, make: Make) -> None:
    tools = conversation_tools()
    fake_bedrock.script(
        Reply.tool_use(ToolCall("aws__list_s3_buckets", {}), text="Looking at buckets."),
        Reply.tool_use(ToolCall("kubernetes__list_pods", {"namespace": "shop"}), text="Now the pods."),
        Reply.text("never reached"),
    )
    executor, turns = Executor(), TurnLog()

    result = await make().run("Check", tools, executor, turns, Budget(max_turns=2))

    assert result.stop_reason == "max_turns"
    assert result.turns == 2
    assert result.final_answer.startswith("Now the pods.")
    assert "limit of 2 model turns" in result.final_answer
    assert "kubernetes.list_pods" in result.final_answer  # asked for, never run
    assert [c.tool for c in executor.calls] == ["list_s3_buckets"]
    assert len(fake_bedrock.calls) == 2
    assert len(turns.turns) == 2


async def test_the_token_budget_stops_the_loop(fake_bedrock: FakeBedrock, make: Make) -> None:
    fake_bedrock.script(
        Reply.tool_use(ToolCall("aws__list_s3_buckets", {}), text="Looking.", input_tokens=120, output_tokens=40)
    )
    executor = Executor()

    result = await make().run("Check", conversation_tools(), executor, TurnLog(), Budget(max_tokens=150))

    assert result.stop_reason == "max_tokens"
    assert "budget of 150 tokens" in result.final_answer
    assert executor.batches == []
    # The one request could not have asked for more output than the whole budget.
    assert fake_bedrock.calls[0].inference_config == {"maxTokens": 150}


async def test_an_answer_cut_off_by_the_model_limit(fake_bedrock: FakeBedrock, make: Make) -> None:
    fake_bedrock.script(Reply.text("The first half of", stop_reason="max_tokens"))

    result = await make(max_tokens_per_turn=64).run("Explain", [], Executor(), TurnLog(), Budget())

    assert result.stop_reason == "max_tokens"
    assert result.final_answer.startswith("The first half of")
    assert "cut off at its limit of 64 output tokens" in result.final_answer


async def test_unknown_tool_names_get_an_error_listing_the_valid_ones(fake_bedrock: FakeBedrock, make: Make) -> None:
    fake_bedrock.script(Reply.tool_use(ToolCall("aws__delete_everything", {}, "tu_x")), Reply.text("Sorry."))
    executor = Executor()

    result = await make().run("Clean up", conversation_tools(), executor, TurnLog(), Budget())

    assert result.final_answer == "Sorry."
    assert executor.batches == []
    (answer,) = tool_results(fake_bedrock.calls[1])
    assert answer["status"] == "error"
    text = answer["content"][0]["text"]
    assert "aws__delete_everything" in text
    assert "aws__list_s3_buckets, custom__kv_get, kubernetes__list_pods" in text


async def test_models_without_tool_result_status_get_the_conversation_again_without_it(
    fake_bedrock: FakeBedrock, make: Make
) -> None:
    def rejects_status(call: ConverseCall) -> Reply | Fault:
        if any("status" in block.get("toolResult", {}) for m in call.messages for block in m["content"]):
            return Fault.validation(
                "This model doesn't support the toolResult.status field. Remove toolResult.status and try again."
            )
        return Reply.text("Handled without status.")

    fake_bedrock.script(
        Reply.tool_use(ToolCall("custom__kv_get", {"key": "k"}, "tu_1")), rejects_status, rejects_status
    )
    executor = Executor(handlers={"kv.get": failing("no such key")})

    result = await make().run("read k", conversation_tools(), executor, TurnLog(), Budget())

    assert result.final_answer == "Handled without status."
    assert len(fake_bedrock.calls) == 3
    (answer,) = tool_results(fake_bedrock.calls[2])
    assert "status" not in answer
    assert answer["content"] == [{"text": "Error: no such key"}]


async def test_summarize_is_one_call_without_tools(fake_bedrock: FakeBedrock, make: Make) -> None:
    fake_bedrock.script(Reply.text("3 failed jobs.", input_tokens=50, output_tokens=4))
    data = {"jobs": [{"name": f"job-{n}", "log": "x" * 200} for n in range(1000)]}

    text, usage = await make().summarize("Which jobs failed?", data)

    assert text == "3 failed jobs."
    assert (usage.input_tokens, usage.output_tokens) == (50, 4)
    (call,) = fake_bedrock.calls
    assert call.tool_config is None
    prompt = call.last_user_text
    assert prompt.startswith("Which jobs failed?")
    assert "cut to fit" in prompt
    assert len(prompt) < 61_000
    assert "untrusted" in call.system[0]["text"]  # type: ignore[index]


async def test_a_model_id_arn_reaches_bedrock_intact(
    fake_bedrock: FakeBedrock, new_session: Callable[[], boto3.Session]
) -> None:
    arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    reasoner = create_bedrock_reasoner(arn, session=new_session())

    await reasoner.run("hi", [spec("aws", "list_s3_buckets")], Executor(), TurnLog(), Budget())

    assert fake_bedrock.calls[0].model_id == arn
    await reasoner.aclose()


def test_the_client_comes_from_the_environment(
    fake_bedrock: FakeBedrock, new_session: Callable[[], boto3.Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    reasoner = create_bedrock_reasoner(MODEL_ID, session=new_session())
    client = reasoner._client
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.endpoint_url == fake_bedrock.base_url
    assert client.meta.config.retries["total_max_attempts"] == 1  # type: ignore[attr-defined]

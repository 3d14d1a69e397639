"""Long tool errors in a failed task's final answer keep what they say to do (issue 17).

The errors are the platform's own, made by the code that makes them: the AWS server's for missing credentials
and for a request AWS refused with a long message, and the database server's when it is busy. Each ends with
its advice, which is the part a cut at the end used to lose.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import Budget, ReasoningResult
from apps.agent_core.reasoning.offline import OfflineReasoner
from apps.agent_core.reasoning.offline_answer import clip
from apps.agent_core.runs.outcome import TurnCalls, task_outcome
from apps.mcp_aws.errors import tool_error_for
from tests.apps.agent_core.reasoning.helpers import Executor, TurnLog, failing, spec

NO_CREDENTIALS = str(tool_error_for("s3:ListAllMyBuckets", NoCredentialsError()))
NO_CREDENTIALS_ADVICE = (
    "the server needs an IAM role (EKS Pod Identity in the cluster) or AWS credentials in its environment."
)
# AWS describes a refused request at length (its message is kept up to 500 characters); the advice follows it.
LONG_AWS_MESSAGE = "1 validation error detected: Value at 'modelId' failed to satisfy constraint: " + "x" * 420
REFUSED = str(
    tool_error_for(
        "bedrock:InvokeModel",
        ClientError({"Error": {"Code": "ValidationException", "Message": LONG_AWS_MESSAGE}}, "Converse"),
    )
)
REFUSED_ADVICE = "supports the Converse API."


def answered() -> ReasoningResult:
    return ReasoningResult(final_answer="Here is what happened.", stop_reason="end_turn")


def failed_turn(step_id: str, server: str, tool: str, error: str) -> list[TurnCalls]:
    call = ToolCall(id=f"id-{step_id}", server=server, tool=tool, arguments={})
    return [[(step_id, call, ToolOutcome(call_id=call.id, ok=False, error=error))]]


def failed_steps(final_answer: str) -> list[str]:
    return final_answer.split("Steps that failed:\n", 1)[1].splitlines()


def test_the_errors_used_here_are_long_and_end_with_their_advice() -> None:
    assert NO_CREDENTIALS.endswith(NO_CREDENTIALS_ADVICE)
    assert REFUSED.endswith(REFUSED_ADVICE)
    assert len(REFUSED) > 400, "longer than the old cut of an error in the answer"


@pytest.mark.parametrize(("error", "advice"), [(NO_CREDENTIALS, NO_CREDENTIALS_ADVICE), (REFUSED, REFUSED_ADVICE)])
def test_the_answer_gives_each_failed_steps_error_whole(error: str, advice: str) -> None:
    ending = task_outcome(
        answered(), failed_turn("call-1", "aws", "list_s3_buckets", f"Error executing tool list_s3_buckets: {error}")
    )
    assert ending.status == "failed"
    assert failed_steps(ending.final_answer) == [f"- call-1 aws.list_s3_buckets: {error.rstrip('.')}"]
    assert advice.rstrip(".") in ending.final_answer


def test_an_error_past_the_bound_keeps_its_start_and_its_end() -> None:
    # Not one of ours (ours stay under the bound), but a stdio server's may be anything.
    error = "Upstream said: " + "lorem ipsum " * 150 + "Set AGENTIC_EXAMPLE_TOKEN and try again"
    ending = task_outcome(answered(), failed_turn("call-1", "extra", "fetch", error))
    [line] = failed_steps(ending.final_answer)
    assert line.startswith("- call-1 extra.fetch: Upstream said: lorem ipsum")
    assert line.endswith(" Set AGENTIC_EXAMPLE_TOKEN and try again")
    assert "…" in line
    assert len(line) <= len("- call-1 extra.fetch: ") + 1_000


def test_clip_keeps_both_ends_and_cuts_between_words() -> None:
    busy = (
        "The database is busy: all 4 query workers are in use and 256 calls are already waiting. "
        "Try again in a few seconds, or with a cheaper query."
    )
    clipped = clip(busy)
    assert len(clipped) <= 120
    assert clipped.startswith("The database is busy: all 4 query workers ")
    assert clipped.endswith(" Try again in a few seconds, or with a cheaper query.")
    assert " … " in clipped, "the cut falls between words"
    assert clip("short") == "short"
    assert clip("x" * 300) == "x" * 59 + "…" + "x" * 60


@pytest.mark.anyio
async def test_the_offline_answer_of_a_task_that_failed_ends_with_the_advice() -> None:
    catalog = [spec("aws", "list_s3_buckets", description="List the S3 buckets of the account.")]
    executor, turns = Executor(handlers={"list_s3_buckets": failing(NO_CREDENTIALS)}), TurnLog()
    result = await OfflineReasoner().run("list my S3 buckets", catalog, executor, turns, Budget())
    [call] = executor.calls
    [line] = [line for line in result.final_answer.splitlines() if "aws.list_s3_buckets() failed:" in line]
    assert line.endswith("or AWS credentials in its environment."), line

    ending = task_outcome(result, failed_turn("call-1", call.server, call.tool, NO_CREDENTIALS))
    assert NO_CREDENTIALS.rstrip(".") in ending.final_answer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

from __future__ import annotations

from typing import Any

import anyio
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from mcp import Client

from apps.common.tools import RETRYABLE_META, ToolDef, ToolError
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.errors import aws_errors
from apps.mcp_aws.server import create_app
from apps.mcp_aws.settings import AwsSettings

ACCOUNT_ARN = "arn:aws:sts::123456789012:assumed-role/aws-mcp/session"


def client_error(code: str, message: str = "", operation: str = "Operation") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
    return ClientError(response, operation)


def raised_by(error: Exception, action: str = "glue:StartJobRun", resource: str | None = None) -> ToolError:
    with pytest.raises(ToolError) as caught, aws_errors(action, resource=resource):
        raise error
    return caught.value


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"])
def test_access_denied_names_the_action_and_hides_the_role(code: str) -> None:
    message = str(raised_by(client_error(code, f"User: {ACCOUNT_ARN} is not authorized"), "s3:ListAllMyBuckets"))
    assert "Access denied" in message
    assert "s3:ListAllMyBuckets" in message
    assert "123456789012" not in message
    assert "Do not retry" in message


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown"])
def test_throttling_says_to_wait(code: str) -> None:
    message = str(raised_by(client_error(code, "Rate exceeded")))
    assert "throttling glue:StartJobRun" in message
    assert "Wait before trying again" in message


@pytest.mark.parametrize(
    ("code", "aws_message", "expected"),
    [
        ("NoSuchBucket", "The specified bucket does not exist", "does not exist"),
        ("EntityNotFoundException", "Job nightly-etl not found.", "Job nightly-etl not found."),
        ("EntityNotFoundException", "Job nightly-etl not found.", "list_glue_jobs"),
        (
            "ValidationException",
            "The provided model identifier is invalid.",
            "The provided model identifier is invalid.",
        ),
        ("ValidationException", "x", "supports the Converse API"),
        ("ResourceNotFoundException", "Model not found", "Check the name or id and the region"),
        ("ModelNotReadyException", "", "not ready"),
        ("ConcurrentRunsExceededException", "Job already running", "get_glue_job_status"),
        ("ServiceUnavailable", "", "temporary problem"),
        ("InternalServerException", "", "Retry in a little while"),
        ("ExpiredTokenException", "The security token included in the request is expired", "invalid or expired"),
        ("SomethingNew", "Odd thing happened", "AWS returned SomethingNew for glue:StartJobRun: Odd thing happened"),
    ],
)
def test_client_errors_say_what_to_do(code: str, aws_message: str, expected: str) -> None:
    assert expected in str(raised_by(client_error(code, aws_message)))


def test_no_such_bucket_names_the_bucket() -> None:
    message = str(raised_by(client_error("NoSuchBucket", "gone"), "s3:GetObject", resource="reports-2024"))
    assert "reports-2024" in message


def test_long_aws_messages_are_cut() -> None:
    message = str(raised_by(client_error("ValidationException", "x" * 5000)))
    assert len(message) < 1000
    assert "x" * 500 + "…" in message


@pytest.mark.parametrize(
    "error",
    [NoCredentialsError(), PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY")],
)
def test_missing_credentials_are_a_deployment_problem(error: Exception) -> None:
    message = str(raised_by(error))
    assert message.startswith("No AWS credentials are configured")
    assert "glue:StartJobRun" in message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (EndpointConnectionError(endpoint_url="https://glue.us-west-2.amazonaws.com/"), "Could not connect"),
        (ConnectTimeoutError(endpoint_url="https://glue.us-west-2.amazonaws.com/"), "Could not connect"),
        (ReadTimeoutError(endpoint_url="https://glue.us-west-2.amazonaws.com/"), "may still have taken effect"),
        (ParamValidationError(report="Invalid length for parameter JobName"), "Invalid length for parameter JobName"),
    ],
)
def test_transport_and_sdk_failures(error: Exception, expected: str) -> None:
    assert expected in str(raised_by(error))


def test_the_original_error_is_chained_but_not_in_the_message() -> None:
    original = client_error("AccessDenied", f"User: {ACCOUNT_ARN}")
    tool_error = raised_by(original)
    assert tool_error.__cause__ is original
    assert "Traceback" not in str(tool_error)
    assert "ClientError" not in str(tool_error)


def test_tool_errors_and_other_exceptions_pass_through_unchanged() -> None:
    mine = ToolError("bad arguments")
    with pytest.raises(ToolError) as caught, aws_errors("s3:ListAllMyBuckets"):
        raise mine
    assert caught.value is mine
    with pytest.raises(KeyError), aws_errors("s3:ListAllMyBuckets"):
        raise KeyError("a bug, not an AWS failure")


def test_access_denied_from_s3_reaches_the_tool_as_a_clear_message(
    clients: AwsClients, tools: dict[str, ToolDef]
) -> None:
    with Stubber(clients.s3) as stub:
        stub.add_client_error(
            "list_buckets",
            service_error_code="AccessDenied",
            service_message=f"User: {ACCOUNT_ARN} is not authorized to perform: s3:ListAllMyBuckets",
            http_status_code=403,
        )
        with pytest.raises(ToolError, match=r"not allowed to perform s3:ListAllMyBuckets") as caught:
            tools["list_s3_buckets"].fn()
        stub.assert_no_pending_responses()
    assert ACCOUNT_ARN not in str(caught.value)


def client_error_with_status(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Operation")


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (NoCredentialsError(), False),
        (client_error("AccessDenied"), False),
        (client_error("ExpiredToken"), False),
        (client_error("NoSuchBucket"), False),
        (client_error("ValidationException"), False),
        (ParamValidationError(report="Invalid length for parameter JobName"), False),
        (client_error("ThrottlingException"), True),
        (client_error("ServiceUnavailable"), True),
        (client_error("ModelNotReadyException"), True),
        (client_error("ConcurrentRunsExceededException"), True),
        (EndpointConnectionError(endpoint_url="https://glue.us-west-2.amazonaws.com/"), True),
        (ReadTimeoutError(endpoint_url="https://glue.us-west-2.amazonaws.com/"), True),
        (client_error_with_status("SomethingNew", 503), True),
        (client_error_with_status("SomethingNew", 400), False),
    ],
)
def test_each_failure_says_whether_retrying_may_help(error: Exception, retryable: bool) -> None:
    assert raised_by(error).retryable is retryable


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_reach_the_caller_as_an_error_not_worth_retrying() -> None:
    app = create_app(AwsSettings())

    async def scenario() -> Any:
        async with Client(app.state.mcp_server) as client:
            return await client.call_tool("list_s3_buckets", {})

    result = anyio.run(scenario)
    assert result.is_error is True
    assert "No AWS credentials are configured" in result.content[0].text
    assert result.meta[RETRYABLE_META] is False

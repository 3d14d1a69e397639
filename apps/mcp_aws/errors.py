"""Turning botocore failures into ``ToolError`` messages a model can act on.

Every tool wraps its AWS calls in ``aws_errors("<service>:<Action>")``. The action is the IAM
action name, so an AccessDenied message says exactly which permission is missing.

What reaches the model:

- ``NoCredentialsError``, ``PartialCredentialsError``, invalid or expired credentials:
  a deployment problem; do not retry.
- AccessDenied family: names the denied action; AWS's own text is left out because it carries
  the role ARN and account id.
- Throttling family: retry later.
- Not found (``NoSuchBucket``, ``EntityNotFoundException``, ``ResourceNotFoundException``),
  ``ValidationException`` and other client-side faults: AWS's message (it describes the request,
  which the model wrote) and what to check.
- Transient service errors, connection failures and timeouts: retry later; a read timeout
  warns that the call may have taken effect.
- Anything else from AWS: its code and message, shortened.

Each ``ToolError`` says whether the same call may succeed later (``retryable``): true for throttling, AWS's
transient faults (and any other code answered with a 5xx or 429), connection failures, timeouts, a Bedrock
model not ready or overloaded, a Glue job at its concurrent-run limit; false for the rest, which fail the
same way again.

Nothing here formats a traceback; the original exception stays chained for the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from apps.common.tools import ToolError

__all__ = ["aws_errors", "tool_error_for"]

logger = logging.getLogger(__name__)

# AWS messages are usually one sentence; a cap keeps a pathological one out of the context window.
_MAX_AWS_MESSAGE_CHARS = 500

_NO_CREDENTIALS = (
    "No AWS credentials are configured for this server, so {action} cannot run. This is a deployment "
    "problem that retrying will not fix: the server needs an IAM role (EKS Pod Identity in the cluster) "
    "or AWS credentials in its environment."
)
_BAD_CREDENTIALS = (
    "AWS rejected this server's credentials for {action} ({code}): they are invalid or expired. "
    "Retrying will not help until the server's credentials are fixed."
)
_ACCESS_DENIED = (
    "Access denied: this server's IAM role is not allowed to perform {action}{resource}. Do not retry; "
    "the permission must be granted to the role, or choose a resource the role can use."
)
_THROTTLED = "AWS is throttling {action} requests and the built-in retries were used up. Wait before trying again."
_TRANSIENT = "AWS had a temporary problem with {action} ({code}). Retry in a little while."
_UNREACHABLE = (
    "Could not connect to the AWS endpoint for {action}. The network or endpoint is unavailable; retry later."
)
_READ_TIMEOUT = (
    "AWS did not answer {action} in time. The request may still have taken effect: check its result "
    "before repeating anything that changes state."
)

_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"})
_BAD_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "ServiceQuotaExceededException",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalServiceException",
        "InternalFailure",
        "InternalError",
        "OperationTimeoutException",
    }
)


def _aws_message(error: ClientError) -> str:
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    if len(message) > _MAX_AWS_MESSAGE_CHARS:
        message = message[:_MAX_AWS_MESSAGE_CHARS] + "…"
    return message


def _client_error(action: str, error: ClientError, resource: str | None) -> ToolError:
    code = str(error.response.get("Error", {}).get("Code") or "Unknown")
    message = _aws_message(error)
    # Messages are spliced into sentences that go on, so each must end like one.
    if message and message[-1] not in ".!?…":
        message += "."
    detail = f": {message}" if message else "."
    if code in _ACCESS_DENIED_CODES:
        return ToolError(_ACCESS_DENIED.format(action=action, resource=f" on {resource}" if resource else ""))
    if code in _BAD_CREDENTIAL_CODES:
        return ToolError(_BAD_CREDENTIALS.format(action=action, code=code))
    if code in _THROTTLING_CODES:
        return ToolError(_THROTTLED.format(action=action), retryable=True)
    if code in _TRANSIENT_CODES:
        return ToolError(_TRANSIENT.format(action=action, code=code), retryable=True)
    if code == "NoSuchBucket":
        bucket = f"The S3 bucket {resource}" if resource else "The S3 bucket"
        return ToolError(f"{bucket} does not exist{detail} List the buckets to find the right name.")
    if code == "EntityNotFoundException":
        return ToolError(
            f"Glue could not find it{detail} Check the job name with list_glue_jobs (names are case-sensitive) "
            "and that the run id belongs to that job."
        )
    if code == "ConcurrentRunsExceededException":
        return ToolError(
            f"The Glue job is already running as many times as it allows{detail} Wait for the current run "
            "to finish (get_glue_job_status) before starting another.",
            retryable=True,
        )
    if code == "ResourceNotFoundException":
        return ToolError(f"AWS could not find the resource for {action}{detail} Check the name or id and the region.")
    if code == "ModelNotReadyException":
        return ToolError("The Bedrock model is not ready to serve requests yet. Retry in a minute.", retryable=True)
    if code == "ModelTimeoutException":
        return ToolError(
            "The Bedrock model took too long to answer. Retry with a shorter prompt or a lower max_tokens.",
            retryable=True,
        )
    if code == "ModelErrorException":
        return ToolError(
            f"The Bedrock model failed while processing the request{detail} Retrying may help.", retryable=True
        )
    if code == "ValidationException":
        return ToolError(
            f"AWS rejected the {action} request as invalid{detail} Check the parameters; for Bedrock, check "
            "that the model id exists in this region, is enabled for the account and supports the Converse API."
        )
    if code in {"InvalidInputException", "InvalidParameterValue", "InvalidRequest"}:
        return ToolError(f"AWS rejected the {action} request as invalid{detail} Correct the parameters and try again.")
    # A code not named above: its HTTP status tells a fault of AWS's (5xx) or a rate limit (429) from the request's.
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    transient = isinstance(status, int) and (status >= 500 or status == 429)
    return ToolError(f"AWS returned {code} for {action}{detail}", retryable=transient)


def tool_error_for(action: str, error: BotoCoreError | ClientError, resource: str | None = None) -> ToolError:
    """The ``ToolError`` to raise for a botocore failure during ``action``, retryable when the fault may pass."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return ToolError(_NO_CREDENTIALS.format(action=action))
    if isinstance(error, ClientError):
        return _client_error(action, error, resource)
    if isinstance(error, ReadTimeoutError):
        # Transient; a non-idempotent call's caller knows it may have run (the message says so too).
        return ToolError(_READ_TIMEOUT.format(action=action), retryable=True)
    # ConnectTimeoutError is an EndpointConnectionError's sibling, not its child.
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return ToolError(_UNREACHABLE.format(action=action), retryable=True)
    if isinstance(error, ParamValidationError):
        # botocore's report describes the arguments the model supplied; nothing secret in it.
        return ToolError(f"Invalid parameters for {action}: {error.kwargs.get('report', error)}")
    return ToolError(f"The AWS SDK could not complete {action} ({type(error).__name__}). Retry later.", retryable=True)


@contextmanager
def aws_errors(action: str, resource: str | None = None) -> Iterator[None]:
    """Map any botocore failure inside the block to a ``ToolError``; ``ToolError`` passes through.

    ``action`` is the IAM action (``"s3:ListAllMyBuckets"``); ``resource`` a name the caller
    already knows (a bucket, a job) for messages that should mention it.
    """
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId") if isinstance(exc, ClientError) else None
        logger.info("%s failed: %s (request id %s)", action, code, request_id)
        raise tool_error_for(action, exc, resource) from exc

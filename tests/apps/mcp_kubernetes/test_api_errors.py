"""Every failure family maps to a ToolError that says what happened and what to do, without a traceback."""

from __future__ import annotations

import json

import pytest
import urllib3.exceptions
from kubernetes.client import V1ContainerStatus
from kubernetes.client.exceptions import ApiException

from apps.common.tools import ToolError
from apps.mcp_kubernetes.api_errors import ApiCall, translated_api_errors

GET_POD = ApiCall(verb="get", resource="pods", namespace="agentic", name="api-1")
HOST = "https://ABC.gr7.us-west-2.eks.amazonaws.com"


def raised_message(error: BaseException, call: ApiCall = GET_POD) -> str:
    with pytest.raises(ToolError) as refused, translated_api_errors(call, host=HOST):
        raise error
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
    return str(refused.value)


def api_exception(status: int, message: str = "") -> ApiException:
    body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": status})
    return ApiException(status=status, reason="reason", body=body)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (409, "Conflict (409): pod 'agentic/api-1' was changed by someone else at the same moment."),
        (422, "rejected the request for pod 'agentic/api-1' as invalid (422). The API server said: bad"),
        (400, "as invalid (400)"),
        (429, "rate-limiting requests (429 Too Many Requests); wait before retrying"),
        (500, "server failed while handling the request for pod 'agentic/api-1' (500). This is a control-plane"),
        (503, "(503)"),
        (418, "refused the request for pod 'agentic/api-1' (418)"),
    ],
)
def test_statuses(status: int, expected: str) -> None:
    assert expected in raised_message(api_exception(status, "bad"))


def test_tls_failures_point_at_the_configuration() -> None:
    message = raised_message(ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] details"))

    assert message.startswith("Could not talk to the Kubernetes API securely (SSLError)")


def test_cluster_scoped_lists_say_so() -> None:
    message = raised_message(api_exception(403, "nodes is forbidden"), ApiCall(verb="list", resource="nodes"))

    assert "'list' on 'nodes' (the core API group) across the cluster" in message


def test_long_server_messages_are_cut() -> None:
    message = raised_message(api_exception(500, "boom " * 500))

    assert len(message) < 600
    assert message.endswith("...")


def test_a_body_that_is_not_json_is_ignored() -> None:
    message = raised_message(ApiException(status=500, reason="Internal", body="<html>proxy error</html>"))

    assert "The API server said" not in message


def test_timeouts_and_refused_connections_differ() -> None:
    read_timeout = urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out.")  # type: ignore[arg-type]
    refused = urllib3.exceptions.MaxRetryError(
        None,  # type: ignore[arg-type]
        "/api",
        urllib3.exceptions.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
    )

    assert raised_message(read_timeout).startswith(f"The Kubernetes API at {HOST} did not answer")
    assert raised_message(refused).startswith(f"Could not connect to the Kubernetes API at {HOST}")


def test_unreadable_responses_are_reported() -> None:
    with pytest.raises(ValueError) as invalid:
        V1ContainerStatus.model_validate({"name": "x"})

    assert "could not read" in raised_message(invalid.value)


def test_unexpected_errors_are_not_disguised() -> None:
    with pytest.raises(KeyError), translated_api_errors(GET_POD, host=HOST):
        raise KeyError("a bug")


def raised(error: BaseException) -> ToolError:
    with pytest.raises(ToolError) as refused, translated_api_errors(GET_POD, host=HOST):
        raise error
    return refused.value


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(status, False) for status in (401, 403, 404, 400, 422, 0, 418)],
        *[(status, True) for status in (409, 429, 500, 503)],
    ],
)
def test_only_conflicts_rate_limits_and_control_plane_faults_are_worth_retrying(status: int, retryable: bool) -> None:
    assert raised(api_exception(status, "said")).retryable is retryable


def test_a_cluster_not_reached_is_worth_retrying() -> None:
    read_timeout = urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out.")  # type: ignore[arg-type]
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]

    assert raised(read_timeout).retryable is True
    assert raised(refused).retryable is True

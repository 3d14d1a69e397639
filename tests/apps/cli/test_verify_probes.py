"""verify's judgement without a platform: which failures mean "no access", which tool it calls, how it scores.

The access phrases are checked against the messages the aws and kubernetes servers really produce (their own
error builders, fed the botocore and Kubernetes client failures behind each case), so rewording a server's
message cannot silently turn a warning into a failure.
"""

from __future__ import annotations

import json

import httpx
import pytest
import urllib3
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from kubernetes.client.exceptions import ApiException

from apps.cli import exit_codes
from apps.cli.client import Platform
from apps.cli.verify.api_views import ToolView
from apps.cli.verify.platform_checks import NO_SUCH_RUN, check_approvals, check_dashboard
from apps.cli.verify.probes import access_problem, choose_probe
from apps.cli.verify.results import Report, failed, passed, warned
from apps.cli.verify.run_checks import SDK_ERROR_PREFIX, workflow_name
from apps.mcp_aws.errors import tool_error_for
from apps.mcp_kubernetes.api_errors import ApiCall, tool_error_for_status, tool_error_for_transport
from apps.mcp_kubernetes.cluster_access import NOT_CONFIGURED_MESSAGE


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "ListBuckets")


def _kube_status(status: int) -> ApiException:
    return ApiException(status=status, reason="r")


CALL = ApiCall(verb="list", resource="nodes")


@pytest.mark.parametrize(
    ("message", "server"),
    [
        (str(tool_error_for("s3:ListAllMyBuckets", NoCredentialsError())), "aws"),
        (str(tool_error_for("s3:ListAllMyBuckets", _client_error("InvalidAccessKeyId"))), "aws"),
        (str(tool_error_for("s3:ListAllMyBuckets", _client_error("AccessDenied"))), "aws"),
        (NOT_CONFIGURED_MESSAGE, "kubernetes"),
        (str(tool_error_for_status(CALL, _kube_status(401))), "kubernetes"),
        (str(tool_error_for_status(CALL, _kube_status(403))), "kubernetes"),
        (
            str(tool_error_for_transport(CALL, urllib3.exceptions.NewConnectionError(None, "refused"), host="h")),  # type: ignore[arg-type]
            "kubernetes",
        ),
    ],
)
def test_the_servers_no_access_messages_are_warnings(message: str, server: str) -> None:
    problem = access_problem("Error executing tool t: " + message)
    assert problem is not None, message
    assert ("AWS" if server == "aws" else "cluster access") in problem.remedy


@pytest.mark.parametrize(
    "message",
    [
        str(tool_error_for("s3:ListAllMyBuckets", _client_error("ThrottlingException"))),
        str(tool_error_for("s3:ListAllMyBuckets", EndpointConnectionError(endpoint_url="https://s3"))),
        str(tool_error_for_status(CALL, _kube_status(500))),
        "Workflow step failed: the tool timed out after 30 s",
        "",
    ],
)
def test_other_failures_are_not_excused(message: str) -> None:
    assert access_problem(message) is None


def test_the_sdk_prefix_is_cut_from_a_tool_error() -> None:
    assert SDK_ERROR_PREFIX.sub("", "Error executing tool list_s3_buckets: No AWS…") == "No AWS…"


def _tool(server: str, name: str, *, read_only: bool = True, required: list[str] | None = None) -> ToolView:
    return ToolView(server=server, name=name, read_only=read_only, input_schema={"required": required or []})


def test_the_preferred_probe_when_usable_else_the_first_read_only_tool_without_arguments() -> None:
    database = [_tool("database", "execute_query", required=["sql"]), _tool("database", "get_schema")]
    assert choose_probe("database", database) == database[1]
    other = [_tool("ops", "zeta"), _tool("ops", "alpha", read_only=False), _tool("ops", "beta")]
    assert choose_probe("ops", other) == other[2]
    assert choose_probe("ops", [_tool("ops", "write", read_only=False), _tool("ops", "get", required=["id"])]) is None
    # A preferred name that has become a write, or grown a required argument, is not called.
    assert choose_probe("custom", [_tool("custom", "list_keys", required=["prefix"])]) is None


def test_workflow_names_fit_the_workflow_alphabet() -> None:
    assert workflow_name("aws") == "verify_aws"
    assert workflow_name("My-Server.v2") == "verify_my_server_v2"
    assert len(workflow_name("x" * 100)) == 64


def _approvals(status: int, body: object) -> tuple[Platform, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"runs": [{"id": "a"}], "next_cursor": None})
        return httpx.Response(status, json=body)

    return Platform("http://platform.test", "key", transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(
    ("status", "outcome", "words"),
    [
        (422, "pass", "refused a malformed decision with 422"),
        (404, "pass", "refused a malformed decision with 404"),
        (403, "warn", "may not decide approvals (403)"),
        (401, "fail", "refused the API key (401)"),
        (500, "fail", "answered 500"),
    ],
)
def test_approvals_are_probed_with_a_request_that_can_change_nothing(status: int, outcome: str, words: str) -> None:
    platform, seen = _approvals(status, {"error": "e", "message": "m", "problems": []})
    result = check_approvals(platform)
    assert (result.outcome, words in result.detail) == (outcome, True), result.detail
    posted = [request for request in seen if request.method == "POST"]
    assert [request.url.path for request in posted] == [f"/api/runs/{NO_SUCH_RUN}/approvals"]
    assert json.loads(posted[0].content)["decision"] not in ("approve", "reject")


def test_the_exit_code() -> None:
    ok, warning, failure = passed("a", "d"), warned("b", "d", "r"), failed("c", "d", "r")
    assert Report(url="u", strict=False, checks=[ok, warning]).exit_code() == exit_codes.OK
    assert Report(url="u", strict=True, checks=[ok, warning]).exit_code() == exit_codes.RUN_FAILED
    assert Report(url="u", strict=False, checks=[ok, failure]).exit_code() == exit_codes.RUN_FAILED
    assert Report(url="u", strict=False, checks=[failure], unreachable=True).exit_code() == exit_codes.UNAVAILABLE


def test_the_dashboard_is_fetched_without_the_api_key() -> None:
    """Static files are not the API: the key goes only where the API is, as the browser sends it."""
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.path] = request.headers.get("authorization")
        return httpx.Response(200, text="<!doctype html><html></html>", headers={"content-type": "text/html"})

    platform = Platform("http://platform.test", "secret-key", transport=httpx.MockTransport(handler))
    assert check_dashboard(platform).outcome == "pass"
    platform.request("GET", "/api/health")
    assert seen == {"/": None, "/api/health": "Bearer secret-key"}


def test_a_page_that_is_not_html_fails_the_dashboard_check() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": "not_found"})

    result = check_dashboard(Platform("http://platform.test", transport=httpx.MockTransport(handler)))
    assert (result.outcome, "application/json, not HTML" in result.detail) == ("fail", True)

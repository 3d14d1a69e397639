from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from apps.common.tools import ToolDef, ToolError
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.glue import GlueJobList, GlueJobRunStarted, GlueJobRunStatus

ROLE_ARN = "arn:aws:iam::123456789012:role/glue-etl"


def create_job(clients: AwsClients, **overrides: object) -> str:
    name = f"etl-{uuid.uuid4().hex[:12]}"
    params: dict[str, object] = {
        "Name": name,
        "Role": ROLE_ARN,
        "Command": {"Name": "glueetl", "ScriptLocation": "s3://scripts/etl.py"},
        "GlueVersion": "4.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        **overrides,
    }
    clients.glue.create_job(**params)  # type: ignore[arg-type]
    return name


@pytest.fixture
def stepwise_job_runs(aws_env: str) -> Iterator[None]:
    """Make each moto job run advance one state every second status read, instead of finishing at once.

    Set through moto's HTTP API because the server is shared; unset afterwards for the other tests.
    """
    body = {"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 2}}
    httpx.post(f"{aws_env}/moto-api/state-manager/set-transition", json=body, timeout=5).raise_for_status()
    try:
        yield
    finally:
        unset = {"model_name": "glue::job_run"}
        httpx.post(f"{aws_env}/moto-api/state-manager/unset-transition", json=unset, timeout=5).raise_for_status()


def list_jobs(tools: dict[str, ToolDef], max_results: int) -> GlueJobList:
    result = tools["list_glue_jobs"].fn(max_results=max_results)
    assert isinstance(result, GlueJobList)
    return result


def start(tools: dict[str, ToolDef], job_name: str, **kwargs: object) -> GlueJobRunStarted:
    result = tools["start_glue_job"].fn(job_name=job_name, **kwargs)
    assert isinstance(result, GlueJobRunStarted)
    return result


def status(tools: dict[str, ToolDef], job_name: str, run_id: str) -> GlueJobRunStatus:
    result = tools["get_glue_job_status"].fn(job_name=job_name, run_id=run_id)
    assert isinstance(result, GlueJobRunStatus)
    return result


def test_jobs_are_listed_with_their_settings(clients: AwsClients, tools: dict[str, ToolDef]) -> None:
    first = create_job(clients)
    second = create_job(clients, Command={"Name": "pythonshell", "ScriptLocation": "s3://s/p.py"}, MaxCapacity=0.0625)
    jobs = {job.name: job for job in list_jobs(tools, 1000).jobs}
    job = jobs[first]
    assert (job.role, job.job_type, job.glue_version) == (ROLE_ARN, "glueetl", "4.0")
    assert (job.worker_type, job.number_of_workers) == ("G.1X", 2)
    assert job.created_on is not None
    assert datetime.fromisoformat(job.created_on)
    assert jobs[second].job_type == "pythonshell"


def test_listing_is_cut_at_max_results_and_says_so(clients: AwsClients, tools: dict[str, ToolDef]) -> None:
    create_job(clients)
    create_job(clients)
    total = len(list_jobs(tools, 1000).jobs)
    exact = list_jobs(tools, total)
    assert len(exact.jobs) == total
    assert exact.truncated is False
    cut = list_jobs(tools, total - 1)
    assert len(cut.jobs) == total - 1
    assert cut.truncated is True


def test_a_run_progresses_to_success(clients: AwsClients, tools: dict[str, ToolDef], stepwise_job_runs: None) -> None:
    job_name = create_job(clients)
    started = start(tools, job_name)
    assert started.job_name == job_name
    assert started.job_run_id.startswith("jr_")
    states: list[str] = []
    for _ in range(10):  # bounded: moto needs six reads with the transition above
        run = status(tools, job_name, started.job_run_id)
        if not states or states[-1] != run.state:
            states.append(run.state)
        if run.state == "SUCCEEDED":
            break
    assert states == ["STARTING", "RUNNING", "SUCCEEDED"]
    assert run.run_id == started.job_run_id
    assert run.started_on is not None
    assert datetime.fromisoformat(run.started_on)
    assert run.attempt == 0
    assert isinstance(run.execution_time_seconds, int)
    assert run.error_message is None


def test_arguments_and_worker_overrides_reach_glue(clients: AwsClients, tools: dict[str, ToolDef]) -> None:
    job_name = create_job(clients)
    run_id = start(
        tools,
        job_name,
        arguments={"--input-path": "s3://in/2024/", "--mode_flag": "full"},
        worker_type="G.2X",
        number_of_workers=5,
    ).job_run_id
    run = clients.glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    assert run.get("Arguments", {}).items() >= {"--input-path": "s3://in/2024/", "--mode_flag": "full"}.items()
    assert (run.get("WorkerType"), run.get("NumberOfWorkers")) == ("G.2X", 5)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"arguments": {"--extra-py-files": "s3://evil/x.py"}}, "cannot be set from here"),
        ({"arguments": {"--CONF": "spark.x=y"}}, "cannot be set from here"),
        ({"arguments": {"input": "x"}}, "names look like '--input-path'"),
        ({"arguments": {f"--a{i}": "v" for i in range(51)}}, "at most 50"),
        ({"arguments": {"--big": "x" * 5000}}, "longer than 4096"),
        ({"worker_type": "G.2X"}, "together"),
        ({"worker_type": "G.2X", "number_of_workers": 0}, "between 1 and 1000"),
    ],
)
def test_refused_starts_start_nothing(
    clients: AwsClients, tools: dict[str, ToolDef], kwargs: dict[str, object], expected: str
) -> None:
    job_name = create_job(clients)
    with pytest.raises(ToolError, match=expected):
        start(tools, job_name, **kwargs)
    assert clients.glue.get_job_runs(JobName=job_name)["JobRuns"] == []


def test_starting_a_missing_job_says_how_to_find_one(tools: dict[str, ToolDef]) -> None:
    with pytest.raises(ToolError, match=r"Glue could not find it: Job no-such-job not found\. .*list_glue_jobs"):
        start(tools, "no-such-job")


def test_status_of_a_missing_job_or_run(clients: AwsClients, tools: dict[str, ToolDef]) -> None:
    with pytest.raises(ToolError, match="Glue could not find it"):
        status(tools, "no-such-job", "jr_" + "0" * 64)
    job_name = create_job(clients)
    with pytest.raises(ToolError, match=r"Glue could not find it: Job run jr_0+ not found"):
        status(tools, job_name, "jr_" + "0" * 64)


def test_a_second_run_beyond_the_concurrency_limit_is_explained(
    clients: AwsClients, tools: dict[str, ToolDef], stepwise_job_runs: None
) -> None:
    job_name = create_job(clients)
    start(tools, job_name)
    with pytest.raises(ToolError, match=r"already running as many times as it allows: .*\. Wait .*get_glue_job_status"):
        start(tools, job_name)

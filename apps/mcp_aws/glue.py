"""Glue: listing jobs, starting a run, reading a run's state."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from apps.common.tools import ToolError
from apps.mcp_aws.errors import aws_errors

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_glue import GlueClient
    from mypy_boto3_glue.type_defs import StartJobRunRequestTypeDef

__all__ = [
    "ARGUMENT_KEY_PATTERN",
    "JOB_NAME_PATTERN",
    "MAX_ARGUMENTS",
    "MAX_ARGUMENT_VALUE_CHARS",
    "MAX_JOBS_LIMIT",
    "MAX_WORKERS",
    "PROTECTED_ARGUMENTS",
    "RUN_ID_PATTERN",
    "GlueJob",
    "GlueJobList",
    "GlueJobRunStarted",
    "GlueJobRunStatus",
    "WorkerType",
    "check_arguments",
    "get_job_run_status",
    "list_jobs",
    "start_job_run",
]

MAX_JOBS_LIMIT = 1000
# Glue names are single-line strings of 1..255 characters; control characters never belong in one.
JOB_NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"
# "jr_" and 64 hex digits; retried attempts append "_attempt_<n>".
RUN_ID_PATTERN = r"^jr_[A-Za-z0-9_]{1,252}$"
ARGUMENT_KEY_PATTERN = r"^--[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
MAX_ARGUMENTS = 50
MAX_ARGUMENT_VALUE_CHARS = 4096
MAX_WORKERS = 1000
# These change which code the job runs or with what Spark settings (and so what its IAM role
# is used for); they belong in the job definition, which someone reviewed, not in a model's call.
PROTECTED_ARGUMENTS = frozenset(
    {
        "--scriptlocation",
        "--extra-py-files",
        "--extra-jars",
        "--extra-files",
        "--additional-python-modules",
        "--python-modules-installer-option",
        "--user-jars-first",
        "--conf",
        "--job-language",
        "--customer-driver-env-vars",
        "--customer-executor-env-vars",
    }
)
_ARGUMENT_KEY_RE = re.compile(ARGUMENT_KEY_PATTERN)
_GLUE_PAGE_LIMIT = 1000

WorkerType = Literal[
    "Standard", "G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X", "Z.2X"
]


class GlueJob(BaseModel):
    name: str
    role: str | None = Field(description="IAM role ARN or name the job runs as")
    job_type: str | None = Field(description="glueetl, gluestreaming, pythonshell or glueray")
    glue_version: str | None
    worker_type: str | None
    number_of_workers: int | None
    created_on: str | None = Field(description="ISO 8601")
    last_modified_on: str | None = Field(description="ISO 8601")


class GlueJobList(BaseModel):
    jobs: list[GlueJob]
    truncated: bool = Field(description="True when more jobs exist than were returned")


class GlueJobRunStarted(BaseModel):
    job_name: str
    job_run_id: str


class GlueJobRunStatus(BaseModel):
    job_name: str
    run_id: str
    state: str = Field(description="STARTING, RUNNING, STOPPING, STOPPED, SUCCEEDED, FAILED, TIMEOUT, ERROR, WAITING")
    started_on: str | None = Field(description="ISO 8601")
    completed_on: str | None = Field(description="ISO 8601; empty while the run is in progress")
    execution_time_seconds: int | None
    attempt: int | None
    error_message: str | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_jobs(glue: GlueClient, *, max_results: int = 100) -> GlueJobList:
    """Up to ``max_results`` job definitions, in Glue's order."""
    if not 1 <= max_results <= MAX_JOBS_LIMIT:
        raise ToolError(f"max_results must be between 1 and {MAX_JOBS_LIMIT}.")
    # One extra job tells whether the list was cut short; pages are fetched lazily.
    wanted = max_results + 1
    found: list[GlueJob] = []
    with aws_errors("glue:GetJobs"):
        pages = glue.get_paginator("get_jobs").paginate(PaginationConfig={"PageSize": min(wanted, _GLUE_PAGE_LIMIT)})
        for page in pages:
            for job in page.get("Jobs", []):
                found.append(
                    GlueJob(
                        name=job.get("Name", ""),
                        role=job.get("Role"),
                        job_type=job.get("Command", {}).get("Name"),
                        glue_version=job.get("GlueVersion"),
                        worker_type=job.get("WorkerType"),
                        number_of_workers=job.get("NumberOfWorkers"),
                        created_on=_iso(job.get("CreatedOn")),
                        last_modified_on=_iso(job.get("LastModifiedOn")),
                    )
                )
            if len(found) >= wanted:
                break
    return GlueJobList(jobs=found[:max_results], truncated=len(found) > max_results)


def check_arguments(arguments: Mapping[str, str]) -> dict[str, str]:
    """The job arguments as Glue takes them, or a ``ToolError`` saying which one is refused."""
    if len(arguments) > MAX_ARGUMENTS:
        raise ToolError(f"Too many job arguments ({len(arguments)}); at most {MAX_ARGUMENTS} are accepted.")
    for key, value in arguments.items():
        if not _ARGUMENT_KEY_RE.fullmatch(key):
            raise ToolError(f"Job argument name {key[:80]!r} is invalid: names look like '--input-path'.")
        if key.lower() in PROTECTED_ARGUMENTS:
            raise ToolError(
                f"Job argument {key} cannot be set from here: it changes the code or Spark settings the job "
                "runs with. Start the job without it; it can only be changed in the job definition."
            )
        if len(value) > MAX_ARGUMENT_VALUE_CHARS:
            raise ToolError(f"The value of {key} is longer than {MAX_ARGUMENT_VALUE_CHARS} characters.")
    return dict(arguments)


def start_job_run(
    glue: GlueClient,
    *,
    job_name: str,
    arguments: Mapping[str, str] | None = None,
    worker_type: WorkerType | None = None,
    number_of_workers: int | None = None,
) -> GlueJobRunStarted:
    """Start one run of an existing job; returns its run id."""
    request: StartJobRunRequestTypeDef = {"JobName": job_name}
    if arguments:
        request["Arguments"] = check_arguments(arguments)
    # Glue wants the worker type and count together when either overrides the job's.
    if (worker_type is None) != (number_of_workers is None):
        raise ToolError("Set worker_type and number_of_workers together, or neither to use the job's own.")
    if worker_type is not None and number_of_workers is not None:
        if not 1 <= number_of_workers <= MAX_WORKERS:
            raise ToolError(f"number_of_workers must be between 1 and {MAX_WORKERS}.")
        request["WorkerType"] = worker_type
        request["NumberOfWorkers"] = number_of_workers
    with aws_errors("glue:StartJobRun", resource=job_name):
        response = glue.start_job_run(**request)
    return GlueJobRunStarted(job_name=job_name, job_run_id=response["JobRunId"])


def get_job_run_status(glue: GlueClient, *, job_name: str, run_id: str) -> GlueJobRunStatus:
    """The state and timings of one run."""
    with aws_errors("glue:GetJobRun", resource=job_name):
        run = glue.get_job_run(JobName=job_name, RunId=run_id, PredecessorsIncluded=False)["JobRun"]
    return GlueJobRunStatus(
        job_name=run.get("JobName", job_name),
        run_id=run.get("Id", run_id),
        state=run.get("JobRunState", "UNKNOWN"),
        started_on=_iso(run.get("StartedOn")),
        completed_on=_iso(run.get("CompletedOn")),
        execution_time_seconds=run.get("ExecutionTime"),
        attempt=run.get("Attempt"),
        error_message=run.get("ErrorMessage"),
    )

"""The AWS MCP server's tools: their input schemas, descriptions and effects.

No ``from __future__ import annotations`` here, on purpose: the SDK reads a tool's parameters
with ``inspect.signature(eval_str=True)``, which resolves string annotations against module
globals only. The Bedrock tool's ``max_tokens`` bound is the configured cap, a closure value,
so annotations must be evaluated when the function is defined.
"""

from typing import Annotated

from pydantic import Field

from apps.common.tools import ToolDef, ToolError
from apps.mcp_aws import bedrock, glue, s3
from apps.mcp_aws.bedrock import BedrockInvocation
from apps.mcp_aws.clients import BEDROCK_READ_TIMEOUT_SECONDS, AwsClients
from apps.mcp_aws.glue import GlueJobList, GlueJobRunStarted, GlueJobRunStatus, WorkerType
from apps.mcp_aws.s3 import S3BucketList

__all__ = ["DEFAULT_MAX_TOKENS", "build_tools"]

DEFAULT_MAX_TOKENS = 1024
# A long answer plus botocore's retries on throttling; the server's default suits the rest.
BEDROCK_TOOL_TIMEOUT_SECONDS = 2 * BEDROCK_READ_TIMEOUT_SECONDS

JobName = Annotated[
    str,
    Field(min_length=1, max_length=255, pattern=glue.JOB_NAME_PATTERN, description="Glue job name (case-sensitive)"),
]
ArgumentKey = Annotated[str, Field(pattern=glue.ARGUMENT_KEY_PATTERN)]
ArgumentValue = Annotated[str, Field(max_length=glue.MAX_ARGUMENT_VALUE_CHARS)]


def build_tools(clients: AwsClients, *, default_model_id: str | None, max_tokens_cap: int) -> list[ToolDef]:
    """The five AWS tools bound to ``clients``; fails at once on a bad default model or cap.

    Without a default model (AGENTIC_BEDROCK_MODEL_ID unset) ``invoke_bedrock_model`` needs ``model_id``.
    """
    if max_tokens_cap < 1:
        raise ValueError(f"max_tokens_cap must be at least 1, got {max_tokens_cap}")
    if default_model_id is not None:
        try:
            bedrock.validate_model_id(default_model_id)
        except ToolError as exc:
            raise ValueError(f"default_model_id: {exc}") from None
    model_id_default = f"default {default_model_id}" if default_model_id else "required: no default is configured"
    default_max_tokens = min(DEFAULT_MAX_TOKENS, max_tokens_cap)

    def list_s3_buckets(
        prefix: Annotated[
            str | None, Field(min_length=1, max_length=63, description="Only buckets whose names start with this")
        ] = None,
        max_buckets: Annotated[int, Field(ge=1, le=s3.MAX_BUCKETS_LIMIT, description="Most buckets to return")] = 100,
    ) -> S3BucketList:
        return s3.list_buckets(clients.s3, prefix=prefix, max_buckets=max_buckets)

    def invoke_bedrock_model(
        prompt: Annotated[
            str, Field(min_length=1, max_length=bedrock.MAX_PROMPT_CHARS, description="The user message")
        ],
        system_prompt: Annotated[
            str | None, Field(max_length=bedrock.MAX_SYSTEM_PROMPT_CHARS, description="Optional system prompt")
        ] = None,
        model_id: Annotated[
            str | None,
            Field(
                max_length=bedrock.MAX_MODEL_ID_CHARS,
                pattern=bedrock.MODEL_ID_PATTERN,
                description=f"Bedrock model id, inference profile id or ARN; {model_id_default}",
            ),
        ] = None,
        max_tokens: Annotated[
            int, Field(ge=1, le=max_tokens_cap, description="Most tokens the model may generate")
        ] = default_max_tokens,
        temperature: Annotated[
            float | None, Field(ge=0.0, le=1.0, description="Sampling temperature; the model's default if unset")
        ] = None,
    ) -> BedrockInvocation:
        if max_tokens > max_tokens_cap:  # the schema says so too; direct callers skip the schema
            raise ToolError(f"max_tokens may be at most {max_tokens_cap}.")
        chosen = model_id or default_model_id
        if not chosen:
            raise ToolError(
                "No model_id was given and this server has no default model (AGENTIC_BEDROCK_MODEL_ID). "
                "Pass the id of a model or inference profile enabled in this account."
            )
        return bedrock.converse(
            clients.bedrock_runtime,
            prompt=prompt,
            model_id=chosen,
            system_prompt=system_prompt,
            max_tokens=max_tokens,
            temperature=temperature,
        )

    def list_glue_jobs(
        max_results: Annotated[int, Field(ge=1, le=glue.MAX_JOBS_LIMIT, description="Most jobs to return")] = 100,
    ) -> GlueJobList:
        return glue.list_jobs(clients.glue, max_results=max_results)

    def start_glue_job(
        job_name: JobName,
        arguments: Annotated[
            dict[ArgumentKey, ArgumentValue] | None,
            Field(
                max_length=glue.MAX_ARGUMENTS,
                description="Job arguments for this run, e.g. {'--input-path': 's3://bucket/key'}",
            ),
        ] = None,
        worker_type: Annotated[
            WorkerType | None, Field(description="Worker type for this run; set with number_of_workers")
        ] = None,
        number_of_workers: Annotated[
            int | None, Field(ge=1, le=glue.MAX_WORKERS, description="Worker count for this run")
        ] = None,
    ) -> GlueJobRunStarted:
        return glue.start_job_run(
            clients.glue,
            job_name=job_name,
            arguments=arguments,
            worker_type=worker_type,
            number_of_workers=number_of_workers,
        )

    def get_glue_job_status(
        job_name: JobName,
        run_id: Annotated[
            str, Field(max_length=255, pattern=glue.RUN_ID_PATTERN, description="Run id from start_glue_job")
        ],
    ) -> GlueJobRunStatus:
        return glue.get_job_run_status(clients.glue, job_name=job_name, run_id=run_id)

    return [
        ToolDef(
            list_s3_buckets,
            description="List S3 buckets in the AWS account: name, creation date and region.",
            read_only=True,
            open_world=True,
        ),
        ToolDef(
            invoke_bedrock_model,
            description=(
                "Send a prompt to an Amazon Bedrock model through the Converse API and return its reply "
                "and token usage. Each call is billed."
            ),
            read_only=True,
            open_world=True,
            timeout_seconds=BEDROCK_TOOL_TIMEOUT_SECONDS,
        ),
        ToolDef(
            list_glue_jobs,
            description="List AWS Glue job definitions: name, role, Glue version, workers and dates.",
            read_only=True,
            open_world=True,
        ),
        ToolDef(
            start_glue_job,
            description=(
                "Start a run of an existing AWS Glue job, optionally with run arguments and a worker override. "
                "Returns the run id."
            ),
            read_only=False,
            destructive=True,
            idempotent=False,
            open_world=True,
        ),
        ToolDef(
            get_glue_job_status,
            description="Get the state, timings and error message of one AWS Glue job run.",
            read_only=True,
            open_world=True,
        ),
    ]

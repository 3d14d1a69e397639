"""The services' AWS permissions: one Pod Identity role per service account, each granting only what the
service's code calls (the actions are named in its modules: apps/agent_core/store/dynamodb.py,
apps/mcp_aws/{s3,glue,bedrock}.py, apps/mcp_custom/kv_dynamodb.py). k8s-mcp calls no AWS API and gets
no role at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.bedrock_access import BedrockModelAccess
from infra.iam import AwsContext, document, policy_json, statement
from infra.identities import AppServiceAccounts
from infra.pod_identity import PodIdentityRole, PodIdentityRoleArgs

__all__ = ["AppRoles", "AppRolesArgs", "agent_core_policy", "aws_mcp_policy", "custom_mcp_policy"]


@dataclass
class AppRolesArgs:
    cluster_name: pulumi.Input[str]
    context: AwsContext
    service_accounts: AppServiceAccounts
    runs_table_arn: pulumi.Input[str]
    kv_table_arn: pulumi.Input[str]
    # The configured model's grants (infra/bedrock_access.py): profile and foundation models in every Region.
    bedrock: BedrockModelAccess
    # Exact Glue job names aws-mcp may start and inspect; empty: it may only list job definitions.
    glue_jobs: Sequence[str]


def _bedrock(model_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    # Converse is authorised as InvokeModel; streaming is not used by the services.
    return statement("InvokeConfiguredModels", ["bedrock:InvokeModel"], list(model_arns))


def agent_core_policy(runs_table_arn: pulumi.Input[str], model_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    index_arn = pulumi.Output.concat(runs_table_arn, "/index/*")
    return document(
        _bedrock(model_arns),
        statement(
            "RunStore",
            # DeleteItem: a deleted schedule's item (runs and their journals are never deleted).
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:DescribeTable",
            ],
            [runs_table_arn, index_arn],
        ),
    )


def aws_mcp_policy(
    ctx: AwsContext, model_arns: Sequence[pulumi.Input[str]], glue_jobs: Sequence[str]
) -> dict[str, Any]:
    """Exactly the actions aws-mcp's tools call (each named in its `aws_errors(...)`): S3 only lists buckets,
    so no bucket or object is readable, let alone writable; Glue jobs start only where named."""
    p = ctx.partition
    job_arns = [pulumi.Output.concat(f"arn:{p}:glue:{ctx.region}:", ctx.account_id, f":job/{job}") for job in glue_jobs]
    statements = [
        # ListAllMyBuckets has no resource-level permissions: AWS requires "*".
        statement("ListBuckets", ["s3:ListAllMyBuckets"], "*"),
        # GetJobs is a list call without resource-level permissions, also "*" by AWS's rules.
        statement("ListGlueJobs", ["glue:GetJobs"], "*"),
        _bedrock(model_arns),
    ]
    if job_arns:
        statements.append(statement("RunGlueJobs", ["glue:StartJobRun", "glue:GetJobRun"], job_arns))
    return document(*statements)


def custom_mcp_policy(kv_table_arn: pulumi.Input[str]) -> dict[str, Any]:
    return document(
        statement(
            "KeyValueStore",
            ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
            [kv_table_arn],
        )
    )


class AppRoles(pulumi.ComponentResource):
    # Role ARN per service account name ("agent-core", "aws-mcp", "custom-mcp"); k8s-mcp is absent on purpose.
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AppRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:apps:AppRoles", name, None, opts)
        accounts = args.service_accounts
        model_arns = args.bedrock.invoke_arns(args.context.partition, args.context.account_id)
        policies = {
            "agent-core": (accounts.agent_core, agent_core_policy(args.runs_table_arn, model_arns)),
            "aws-mcp": (
                accounts.aws_mcp,
                aws_mcp_policy(args.context, model_arns, args.glue_jobs),
            ),
            "custom-mcp": (accounts.custom_mcp, custom_mcp_policy(args.kv_table_arn)),
        }
        self.roles: dict[str, PodIdentityRole] = {
            key: PodIdentityRole(
                f"{name}-{key}",
                PodIdentityRoleArgs(
                    cluster_name=args.cluster_name,
                    service_account=account,
                    policy=policy_json(policy),
                    description=f"{key} ({account})",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, (account, policy) in policies.items()
        }
        self.role_arns = {key: role.role_arn for key, role in self.roles.items()}
        self.register_outputs({"roleArns": self.role_arns})

"""The DynamoDB tables behind the services' shared state: agent-core's runs and custom-mcp's key/value store.

Their schemas are the apps' contracts, documented in apps/agent_core/store/dynamodb.py and
apps/mcp_custom/kv_dynamodb.py; the services only read and write, they never create tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

__all__ = ["StateTables", "StateTablesArgs"]

# The key/value store writes this attribute; the run store does not (yet), so its runs never expire.
TTL_ATTRIBUTE = "expires_at"


@dataclass
class StateTablesArgs:
    deletion_protection: bool


class StateTables(pulumi.ComponentResource):
    runs_table_name: pulumi.Output[str]
    runs_table_arn: pulumi.Output[str]
    kv_table_name: pulumi.Output[str]
    kv_table_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StateTablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:state:StateTables", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        runs = _table(
            f"{name}-runs",
            keys=("pk", "sk"),
            attributes=("pk", "sk", "gsi_all", "status", "created_key"),
            indexes={"by_created": "gsi_all", "by_status": "status"},
            deletion_protection=args.deletion_protection,
            opts=child,
        )
        kv = _table(
            f"{name}-kv",
            keys=("namespace", "key"),
            attributes=("namespace", "key"),
            indexes={},
            deletion_protection=args.deletion_protection,
            opts=child,
        )
        self.runs_table_name = runs.name
        self.runs_table_arn = runs.arn
        self.kv_table_name = kv.name
        self.kv_table_arn = kv.arn
        self.register_outputs(
            {
                "runsTableName": self.runs_table_name,
                "runsTableArn": self.runs_table_arn,
                "kvTableName": self.kv_table_name,
                "kvTableArn": self.kv_table_arn,
            }
        )


def _table(
    resource_name: str,
    *,
    keys: tuple[str, str],
    attributes: tuple[str, ...],
    indexes: dict[str, str],
    deletion_protection: bool,
    opts: pulumi.ResourceOptions,
) -> aws.dynamodb.Table:
    """A table keyed (partition, sort) on string attributes; each index sorts by `created_key`, projecting ALL."""

    def key(attribute: str, key_type: str) -> aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs:
        return aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=attribute, key_type=key_type)

    return aws.dynamodb.Table(
        resource_name,
        hash_key=keys[0],
        range_key=keys[1],
        attributes=[aws.dynamodb.TableAttributeArgs(name=attribute, type="S") for attribute in attributes],
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index, key_schemas=[key(partition, "HASH"), key("created_key", "RANGE")], projection_type="ALL"
            )
            for index, partition in indexes.items()
        ]
        or None,
        # Traffic is bursty and small: on-demand costs nothing when idle and needs no capacity planning.
        billing_mode="PAY_PER_REQUEST",
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        # Encrypted with the AWS-managed KMS key (auditable in CloudTrail) rather than the AWS-owned one.
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=TTL_ATTRIBUTE, enabled=True),
        deletion_protection_enabled=deletion_protection,
        opts=opts,
    )

"""Every check, in order: the stack's config, the local tools, then the AWS account (only with credentials).

Checks run concurrently (each is I/O: a subprocess or an AWS call, each bounded in time), and are reported in
a fixed order. Nothing here creates, changes or deletes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from infra.config import PlatformConfig
from infra.preflight.aws_clients import AwsClients
from infra.preflight.checks_aws import (
    SPOT_ROLE_FIX,
    check_credentials,
    check_kubernetes_version,
    check_spot_role,
    check_zones,
)
from infra.preflight.checks_bedrock import check_bedrock_model
from infra.preflight.checks_quotas import check_quotas
from infra.preflight.checks_tools import check_aws_cli, check_docker_buildx, check_docker_engine, check_pulumi
from infra.preflight.findings import Finding, Report, describe_error, guarded
from infra.preflight.stack import load_stack

__all__ = ["run_preflight"]

_RETRY = "run the preflight again; if it persists, check the AWS endpoint and your network"


def run_preflight(stack: str, config_file: Path) -> Report:
    loaded = load_stack(config_file, stack)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="preflight") as pool:
        tools = [
            _submit(pool, "pulumi-cli", check_pulumi),
            _submit(pool, "aws-cli", check_aws_cli),
            _submit(pool, "docker-engine", check_docker_engine),
            _submit(pool, "docker-buildx", check_docker_buildx),
        ]
        account: str | None = None
        aws: list[Finding] = []
        if loaded.config is not None:
            account, aws = _aws_checks(pool, loaded.config, stack)
        findings = (loaded.finding, *(future.result() for future in tools), *aws)
    return Report(
        stack=stack,
        config_file=str(config_file),
        region=loaded.config.region if loaded.config else None,
        account=account,
        findings=findings,
    )


def _aws_checks(pool: ThreadPoolExecutor, config: PlatformConfig, stack: str) -> tuple[str | None, list[Finding]]:
    try:
        clients = AwsClients.for_region(config.region)
    except Exception as exc:  # a broken profile or config file is reported, not raised
        return None, [Finding.failed("aws-credentials", f"no AWS client could be made: {exc}", _RETRY)]
    credentials, account = check_credentials(clients.sts)
    if account is None:
        skipped = "; the AWS checks (zones, Bedrock model, Spot role, EKS version, quotas) were not run"
        return None, [credentials.model_copy(update={"found": credentials.found + skipped})]
    singles = [
        _submit(pool, "availability-zones", lambda: check_zones(clients.ec2, config.network.az_count, stack)),
        _submit(
            pool,
            "bedrock-model",
            lambda: check_bedrock_model(clients.bedrock, config.apps.bedrock_model_id, config.region, stack),
        ),
        _submit(
            pool,
            "spot-service-linked-role",
            lambda: check_spot_role(
                clients.iam,
                config.karpenter.capacity_types,
                config.karpenter.create_spot_service_linked_role,
                stack,
            ),
            fix=SPOT_ROLE_FIX,
        ),
        _submit(pool, "eks-version", lambda: check_kubernetes_version(clients.eks, config.cluster.version, stack)),
    ]
    quotas = pool.submit(_quota_findings, clients, config)
    return account, [credentials, *(future.result() for future in singles), *quotas.result()]


def _quota_findings(clients: AwsClients, config: PlatformConfig) -> list[Finding]:
    try:
        return check_quotas(clients, config.network.az_count, config.network.nat_per_az)
    except Exception as exc:  # as guarded() does for single findings
        return [Finding.failed("quotas", f"the check itself failed: {describe_error(exc)}", _RETRY)]


def _submit(pool: ThreadPoolExecutor, name: str, check: Callable[[], Finding], fix: str = _RETRY) -> Future[Finding]:
    return pool.submit(guarded, name, check, fix)

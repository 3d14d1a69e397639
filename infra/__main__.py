"""The Pulumi program: configuration → components → exports. Nothing else belongs here."""

from __future__ import annotations

import sys
from pathlib import Path

# Pulumi runs this file with infra/ as the working directory and only infra/ on sys.path; the repository
# root goes first so `infra` imports as the same package that tests and `python -m infra.plan` use.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pulumi  # noqa: E402

from infra.alb_controller import AlbController, AlbControllerArgs  # noqa: E402
from infra.alerting import webhook_url  # noqa: E402
from infra.app_roles import AppRoles, AppRolesArgs  # noqa: E402
from infra.cluster import Cluster, ClusterArgs  # noqa: E402
from infra.config import load_config  # noqa: E402
from infra.extra_mcp_servers import ExtraMcpServers, ExtraMcpServersArgs  # noqa: E402
from infra.iam import aws_context  # noqa: E402
from infra.images import Images, ImagesArgs, build_context, content_tag  # noqa: E402
from infra.ingress import load_balancer_cidrs  # noqa: E402
from infra.karpenter import Karpenter, KarpenterArgs  # noqa: E402
from infra.monitoring import Monitoring, MonitoringArgs  # noqa: E402
from infra.network import Network, NetworkArgs  # noqa: E402
from infra.platform import Platform, PlatformArgs  # noqa: E402
from infra.state import StateTables, StateTablesArgs  # noqa: E402

config = load_config()
name = config.cluster.name
context = aws_context(config.region)

network = Network(
    name,
    NetworkArgs(cluster_name=name, plan=config.network.plan, nat_per_az=config.network.nat_per_az),
)
cluster = Cluster(
    name,
    ClusterArgs(config=config.cluster, context=context, private_subnet_ids=network.private_subnet_ids),
)
state = StateTables(name, StateTablesArgs(deletion_protection=config.state.deletion_protection))
app_roles = AppRoles(
    name,
    AppRolesArgs(
        cluster_name=cluster.cluster_name,
        context=context,
        service_accounts=config.apps.service_accounts,
        runs_table_arn=state.runs_table_arn,
        kv_table_arn=state.kv_table_arn,
        bedrock=config.apps.bedrock,
        glue_jobs=config.apps.glue_jobs,
    ),
)
karpenter = Karpenter(
    f"{name}-karpenter",
    KarpenterArgs(
        config=config.karpenter,
        context=context,
        cluster_name=name,
        cluster=cluster.cluster_name,
        provider=cluster.provider,
        cluster_ready=cluster.ready,
    ),
)
alb_controller = AlbController(
    f"{name}-alb-controller",
    AlbControllerArgs(
        cluster_name=name,
        cluster=cluster.cluster_name,
        partition=context.partition,
        region=config.region,
        vpc_id=network.vpc_id,
        provider=cluster.provider,
        cluster_ready=cluster.ready,
    ),
)
# What may run on Karpenter's nodes waits for its NodePool, so `pulumi destroy` removes it before Karpenter
# drains and terminates those nodes (and before the EBS CSI driver goes, which deletes Prometheus's volume).
workloads_ready = [*cluster.ready, *karpenter.capacity]
monitoring = Monitoring(
    f"{name}-monitoring",
    MonitoringArgs(
        config=config.monitoring,
        vpc_cidr=network.vpc_cidr,
        alert_webhook_url=webhook_url(config.apps.namespace),
        provider=cluster.provider,
        cluster_ready=workloads_ready,
        ingress_controller=alb_controller.release,
    ),
)
images = Images(f"{name}-images", ImagesArgs(repository_prefix=name, context=build_context(), tag=content_tag()))
platform = Platform(
    f"{name}-platform",
    PlatformArgs(
        apps=config.apps,
        ingress=config.ingress,
        region=config.region,
        service_cidr=config.cluster.service_ipv4_cidr,
        load_balancer_cidrs=load_balancer_cidrs(config.ingress, config.network.plan),
        runs_table_name=state.runs_table_name,
        kv_table_name=state.kv_table_name,
        images=images.references,
        version=images.tag,
        provider=cluster.provider,
        cluster_ready=workloads_ready,
        identities=[app_roles],
        ingress_controller=alb_controller.release,
        monitoring=monitoring.release,
        alertmanager_api_key=monitoring.alertmanager_api_key,
    ),
)
extra_mcp_servers = ExtraMcpServers(
    f"{name}-extra-mcp",
    ExtraMcpServersArgs(
        servers=config.apps.extra_mcp_servers,
        namespace=config.apps.namespace,
        region=config.region,
        service_cidr=config.cluster.service_ipv4_cidr,
        cluster_name=cluster.cluster_name,
        provider=cluster.provider,
        platform=platform,
        monitoring=monitoring.release,
    ),
)

pulumi.export("vpcId", network.vpc_id)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("grafanaUrl", monitoring.grafana_url)
pulumi.export("grafanaPortForward", monitoring.grafana_port_forward)
pulumi.export("grafanaAdminPassword", monitoring.grafana_admin_password)
pulumi.export("runsTableName", state.runs_table_name)
pulumi.export("kvTableName", state.kv_table_name)
pulumi.export("appRoleArns", app_roles.role_arns)
pulumi.export("serviceAccounts", {key: str(account) for key, account in config.apps.service_accounts.all().items()})
pulumi.export("dashboardUrl", platform.dashboard_url)
pulumi.export("apiUrl", platform.api_url)
pulumi.export("apiKey", platform.api_key)
pulumi.export("extraMcpServers", extra_mcp_servers.urls)
pulumi.export("ecrRepositoryUrls", images.repository_urls)
pulumi.export("images", images.references)
pulumi.export("imageTag", images.tag)

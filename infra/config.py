"""The stack's configuration: read once, validated whole, frozen.

Every problem is collected and reported together, each line starting with the full key
(`agentic-platform:vpcCidr: ...`), before any resource is declared. `ConfigError` is a `pulumi.RunError`,
so the CLI prints the message without a Python traceback. Values arrive as the CLI passes them: strings,
with lists and maps as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from types import MappingProxyType

import pulumi

from infra.bedrock_access import DEFAULT_MODEL_ID, BedrockAccessError, BedrockModelAccess, model_access
from infra.cidr import CidrError, SubnetPlan, check_plan, compute_plan, parse_cidr
from infra.config_reader import PROJECT, ConfigError, RawGetter, Reader
from infra.extra_mcp_config import ExtraMcpServer, parse_extra_mcp_servers
from infra.identities import K8S_ADMIN_NAMESPACE, AppServiceAccounts

__all__ = ["PROJECT", "ConfigError", "PlatformConfig", "load_config", "parse_config"]


# Resource names derive from it (`<cluster>-karpenter-controller-role-1a2b3c4`) and must stay within IAM's and
# EventBridge's 64 characters.
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")
_K8S_VERSION = re.compile(r"^1\.[2-9][0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
# family (t3, m7i-flex, u-6tb1) "." size (medium, 2xlarge, metal, metal-24xl)
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)
_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")
_BEDROCK_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:([0-9]{12})?:"
    r"(foundation-model|inference-profile|application-inference-profile)/[A-Za-z0-9._:/-]+$"
)
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$")
# Exact Glue job names: no wildcards, so every job aws-mcp may start is named in the stack's config.
_GLUE_JOB = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A non-negative Kubernetes quantity (the pattern Karpenter's CRD uses, minus the sign).
_QUANTITY = re.compile(
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_VOLUME_SIZE = re.compile(r"^[1-9][0-9]*(Gi|Ti)$")
_PROM_DURATION = re.compile(r"^[1-9][0-9]*(h|d|w|y)$")
_AMI_ALIAS = re.compile(r"^al2023@(latest|v[0-9]{8})$")
_ADDON_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$")
# Bedrock model or inference-profile ids as the Converse API takes them (e.g. us.amazon.nova-lite-v1:0).
_BEDROCK_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,2047}$")
# The AWS Load Balancer Controller's IngressGroup names: lower-case letters, digits, '-' and '.'.
_ALB_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")

# What EKS picks by itself for a VPC in 10.0.0.0/8, stated explicitly: the API server's Service address (the
# first one) is written into NetworkPolicies, so it must be known, not discovered after the cluster exists.
DEFAULT_SERVICE_CIDR = "172.20.0.0/16"
_PRIVATE_BLOCKS = tuple(IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ADDONS = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver")
CAPACITY_TYPES = ("spot", "on-demand", "reserved")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922)


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: IPv4Network
    az_count: int
    nat_per_az: bool
    plan: SubnetPlan


@dataclass(frozen=True)
class NodeGroupConfig:
    instance_types: tuple[str, ...]
    desired_size: int
    min_size: int
    max_size: int
    disk_size_gib: int


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    version: str
    public_access_cidrs: tuple[str, ...]
    log_types: tuple[str, ...]
    log_retention_days: int
    node_group: NodeGroupConfig
    admin_principal_arns: tuple[str, ...]
    creator_admin: bool
    addon_versions: Mapping[str, str]
    # Where Kubernetes takes Service ClusterIPs from; the `kubernetes` Service (the API server) gets its first
    # address, which NetworkPolicies must allow (infra/network_policies.py).
    service_ipv4_cidr: IPv4Network


@dataclass(frozen=True)
class KarpenterConfig:
    instance_types: tuple[str, ...]
    capacity_types: tuple[str, ...]
    cpu_limit: str
    memory_limit: str
    ami_alias: str
    # Create the account-wide EC2 Spot service-linked role (AWSServiceRoleForEC2Spot) in this stack; off by
    # default because creating it fails where it exists already (the preflight checks for it).
    create_spot_service_linked_role: bool


@dataclass(frozen=True)
class AppsConfig:
    namespace: str
    service_accounts: AppServiceAccounts
    # Glue jobs aws-mcp may start and inspect (exact names); empty: it may only list job definitions.
    glue_jobs: tuple[str, ...]
    # What agent-core reasons with and aws-mcp defaults to (AGENTIC_BEDROCK_MODEL_ID), in one place.
    bedrock_model_id: str
    # What the two roles must be granted to invoke it (and any extra ARNs from bedrockModelArns).
    bedrock: BedrockModelAccess
    # Where k8s-mcp may scale deployments (AGENTIC_SCALABLE_NAMESPACES, and one Role in each).
    scalable_namespaces: tuple[str, ...]
    # Stdio MCP servers deployed behind the bridge, beside the platform's own (infra/extra_mcp_config.py).
    extra_mcp_servers: tuple[ExtraMcpServer, ...] = ()


@dataclass(frozen=True)
class IngressConfig:
    """The platform's ALB: `/` → the dashboard, `/api` → agent-core."""

    scheme: str  # "internet-facing" | "internal"
    certificate_arn: str | None
    group_name: str | None
    allowed_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class StateConfig:
    deletion_protection: bool


@dataclass(frozen=True)
class MonitoringConfig:
    prometheus_retention: str
    prometheus_storage: str
    grafana_storage: str
    grafana_exposure: str  # "clusterIp" | "alb"
    alb_scheme: str  # "internal" | "internet-facing"
    allowed_cidrs: tuple[str, ...]
    certificate_arn: str | None


@dataclass(frozen=True)
class PlatformConfig:
    region: str
    network: NetworkConfig
    cluster: ClusterConfig
    karpenter: KarpenterConfig
    apps: AppsConfig
    ingress: IngressConfig
    state: StateConfig
    monitoring: MonitoringConfig


def parse_config(get: RawGetter) -> PlatformConfig:
    """Build the configuration from raw values (`get("project:key")` → string or None), or raise ConfigError."""
    r = Reader(get)
    config = PlatformConfig(
        region=(region := r.text("aws:region", pattern=_REGION, hint="expected a region such as us-west-2")),
        network=(network := _network(r)),
        cluster=_cluster(r, network.vpc_cidr),
        karpenter=_karpenter(r),
        apps=_apps(r, region, get),
        ingress=_ingress(r),
        state=StateConfig(deletion_protection=r.boolean("stateDeletionProtection", True)),
        monitoring=_monitoring(r),
    )
    if r.problems:
        raise ConfigError(r.problems)
    return config


def load_config() -> PlatformConfig:
    """The running stack's configuration, as the Pulumi engine passes it."""

    def get(full_key: str) -> str | None:
        namespace, key = full_key.split(":", 1)
        return pulumi.Config(namespace).get(key)

    return parse_config(get)


def _network(r: Reader) -> NetworkConfig:
    vpc_text = r.text("vpcCidr", "10.0.0.0/16")
    az_count = r.integer("azCount", 3, minimum=2, maximum=6)
    nat = r.text("natGateways", "single", choices=("single", "perAz"))
    private_prefix = r.integer("privateSubnetPrefix", 19, minimum=16, maximum=28)
    public_prefix = r.integer("publicSubnetPrefix", 20, minimum=16, maximum=28)
    private = r.cidrs("privateSubnetCidrs", ())
    public = r.cidrs("publicSubnetCidrs", ())
    try:
        vpc = parse_cidr(vpc_text)
    except CidrError as exc:
        r.fail("vpcCidr", str(exc))
        vpc = IPv4Network("10.0.0.0/16")
    if not 16 <= vpc.prefixlen <= 28:
        r.fail("vpcCidr", f"{vpc} must be between /16 and /28 (the sizes AWS allows for a VPC)")
    plan = SubnetPlan(vpc=vpc, private=(), public=())
    try:
        plan = compute_plan(vpc, az_count, private_prefix, public_prefix)
    except CidrError as exc:
        if not (private and public):
            r.fail("privateSubnetPrefix", str(exc))
    for key, given in (("privateSubnetCidrs", private), ("publicSubnetCidrs", public)):
        if given and len(given) != az_count:
            r.fail(key, f"has {len(given)} CIDRs for {az_count} zones (azCount)")
    plan = SubnetPlan(vpc=vpc, private=private or plan.private, public=public or plan.public)
    try:
        check_plan(plan)
    except CidrError as exc:
        r.fail("privateSubnetCidrs" if private else "publicSubnetCidrs" if public else "vpcCidr", str(exc))
    return NetworkConfig(vpc_cidr=vpc, az_count=az_count, nat_per_az=nat == "perAz", plan=plan)


def _cluster(r: Reader, vpc: IPv4Network) -> ClusterConfig:
    desired = r.integer("nodeDesiredSize", 2, minimum=0, maximum=450)
    minimum = r.integer("nodeMinSize", 2, minimum=0, maximum=450)
    maximum = r.integer("nodeMaxSize", 3, minimum=1, maximum=450)
    if not minimum <= desired <= maximum:
        r.fail(
            "nodeDesiredSize", f"must lie between nodeMinSize ({minimum}) and nodeMaxSize ({maximum}); got {desired}"
        )
    node_group = NodeGroupConfig(
        instance_types=r.strings(
            "nodeInstanceTypes",
            # t3.large: 35 pods a node (t3.medium: 17); tests/infra/test_upstream_capacity.py counts why.
            ("t3.large",),
            pattern=_INSTANCE_TYPE,
            min_items=1,
            hint="expected an EC2 instance type such as t3.medium",
        ),
        desired_size=desired,
        min_size=minimum,
        max_size=maximum,
        disk_size_gib=r.integer("nodeDiskSizeGib", 50, minimum=20, maximum=16384),
    )
    addon_versions = r.mapping("addonVersions")
    for addon, version in addon_versions.items():
        if addon not in ADDONS:
            r.fail("addonVersions", f"{addon!r} is not one of {', '.join(ADDONS)}")
        elif not _ADDON_VERSION.match(version):
            r.fail("addonVersions", f"{addon}: {version!r} is malformed (expected e.g. v1.19.2-eksbuild.1)")
    return ClusterConfig(
        name=r.text("clusterName", pattern=_CLUSTER_NAME, hint="1-24 letters, digits, '-' or '_'"),
        version=r.text("kubernetesVersion", pattern=_K8S_VERSION, hint='expected a minor version such as "1.35"'),
        public_access_cidrs=tuple(str(n) for n in r.cidrs("endpointPublicAccessCidrs", ("0.0.0.0/0",))),
        log_types=r.strings("controlPlaneLogTypes", LOG_TYPES, choices=LOG_TYPES),
        log_retention_days=_retention(r),
        node_group=node_group,
        admin_principal_arns=r.strings(
            "adminPrincipalArns",
            (),
            pattern=_IAM_PRINCIPAL,
            hint="expected arn:aws:iam::<account>:role/<name> or :user/<name>",
        ),
        creator_admin=r.boolean("clusterCreatorAdmin", True),
        addon_versions=MappingProxyType(addon_versions),
        service_ipv4_cidr=_service_cidr(r, vpc),
    )


def _service_cidr(r: Reader, vpc: IPv4Network) -> IPv4Network:
    """EKS's rules for kubernetesNetworkConfig.serviceIpv4Cidr (API reference, KubernetesNetworkConfigRequest):
    inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, between /24 and /12, not overlapping the VPC. It can
    only be chosen when the cluster is created."""
    text = r.text("serviceIpv4Cidr", DEFAULT_SERVICE_CIDR)
    try:
        cidr = parse_cidr(text)
    except CidrError as exc:
        r.fail("serviceIpv4Cidr", str(exc))
        return IPv4Network(DEFAULT_SERVICE_CIDR)
    if not any(cidr.subnet_of(block) for block in _PRIVATE_BLOCKS):
        r.fail("serviceIpv4Cidr", f"{cidr} must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    if not 12 <= cidr.prefixlen <= 24:
        r.fail("serviceIpv4Cidr", f"{cidr} must be between /12 and /24 (EKS's limits)")
    if cidr.overlaps(vpc):
        r.fail("serviceIpv4Cidr", f"{cidr} overlaps the VPC ({vpc}); choose another block, e.g. 10.100.0.0/16")
    return cidr


def _retention(r: Reader) -> int:
    days = r.integer("controlPlaneLogRetentionDays", 30, minimum=1, maximum=3653)
    if days not in LOG_RETENTION_DAYS:
        r.fail("controlPlaneLogRetentionDays", f"CloudWatch accepts only {LOG_RETENTION_DAYS}; got {days}")
    return days


def _karpenter(r: Reader) -> KarpenterConfig:
    return KarpenterConfig(
        instance_types=r.strings(
            "karpenterInstanceTypes",
            ("t3.medium", "t3.large", "t3.xlarge"),
            pattern=_INSTANCE_TYPE,
            min_items=1,
            hint="expected an EC2 instance type such as t3.large",
        ),
        capacity_types=r.strings("karpenterCapacityTypes", ("spot", "on-demand"), choices=CAPACITY_TYPES, min_items=1),
        cpu_limit=r.text("karpenterCpuLimit", "100", pattern=_QUANTITY, hint="expected a quantity such as 100"),
        memory_limit=r.text("karpenterMemoryLimit", "400Gi", pattern=_QUANTITY, hint="expected e.g. 400Gi"),
        ami_alias=r.text(
            "karpenterAmiAlias", "al2023@latest", pattern=_AMI_ALIAS, hint="expected al2023@latest or al2023@vYYYYMMDD"
        ),
        create_spot_service_linked_role=r.boolean("createSpotServiceLinkedRole", False),
    )


def _apps(r: Reader, region: str | None, get: RawGetter) -> AppsConfig:
    namespace = r.text("appsNamespace", "agentic", pattern=_DNS_LABEL, hint="expected a DNS-1123 label")
    if namespace == K8S_ADMIN_NAMESPACE or namespace.startswith("kube-"):
        r.fail("appsNamespace", f"{namespace!r} is reserved")
    extra_model_arns = r.strings(
        "bedrockModelArns",
        (),
        pattern=_BEDROCK_ARN,
        hint="expected a foundation-model or inference-profile ARN",
    )
    model_id = r.text(
        "bedrockModelId", DEFAULT_MODEL_ID, pattern=_BEDROCK_MODEL_ID, hint="expected a model or profile id"
    )
    scalable = r.strings("scalableNamespaces", (), pattern=_DNS_LABEL, hint="expected a namespace name")
    for name in scalable:
        if name == K8S_ADMIN_NAMESPACE or name.startswith("kube-"):
            # The model must not be able to scale the cluster's own controllers or the server that scales.
            r.fail("scalableNamespaces", f"{name!r} may not be scaled by k8s-mcp")
    if r.strings("awsMcpS3Buckets", ()):
        # Retired: it granted object reads and writes that no aws-mcp tool makes (apps/mcp_aws/s3.py only
        # lists buckets), so a stack that still sets it learns why instead of silently losing access.
        r.fail(
            "awsMcpS3Buckets",
            "is no longer read: aws-mcp's only S3 tool lists buckets (s3:ListAllMyBuckets), so no bucket or "
            "object access is granted; remove the key",
        )
    return AppsConfig(
        namespace=namespace,
        service_accounts=AppServiceAccounts.in_namespace(namespace),
        glue_jobs=r.strings(
            "awsMcpGlueJobs", (), pattern=_GLUE_JOB, hint="expected an exact Glue job name (no wildcards)"
        ),
        bedrock_model_id=model_id,
        bedrock=_bedrock_access(r, model_id, region, extra_model_arns),
        scalable_namespaces=scalable,
        extra_mcp_servers=parse_extra_mcp_servers(get, r),
    )


def _bedrock_access(r: Reader, model_id: str, region: str | None, extra_arns: tuple[str, ...]) -> BedrockModelAccess:
    """The grants the model needs from this Region; a model the roles could not invoke is refused here."""
    if region is None or not _REGION.match(region):
        return model_access(DEFAULT_MODEL_ID, "us-west-2")  # aws:region is reported already
    try:
        return model_access(model_id, region, extra_arns)
    except BedrockAccessError as exc:
        r.fail("bedrockModelId", str(exc))
        return model_access(DEFAULT_MODEL_ID, "us-west-2")


def _ingress(r: Reader) -> IngressConfig:
    scheme = r.text("ingressScheme", "internet-facing", choices=("internet-facing", "internal"))
    return IngressConfig(
        scheme=scheme,
        certificate_arn=r.text("ingressCertificateArn", None, pattern=_ACM_ARN, hint="expected an ACM certificate ARN"),
        group_name=r.text("ingressGroupName", None, pattern=_ALB_GROUP, hint="lower-case letters, digits, '-', '.'"),
        allowed_cidrs=tuple(str(n) for n in r.cidrs("ingressAllowedCidrs", ())),
    )


def _monitoring(r: Reader) -> MonitoringConfig:
    exposure = r.text("grafanaExposure", "clusterIp", choices=("clusterIp", "alb"))
    scheme = r.text("grafanaAlbScheme", "internal", choices=("internal", "internet-facing"))
    certificate = r.text("grafanaCertificateArn", None, pattern=_ACM_ARN, hint="expected an ACM certificate ARN")
    if exposure == "alb" and scheme == "internet-facing" and certificate is None:
        # The admin login would otherwise cross the internet in clear text.
        r.fail("grafanaCertificateArn", "required when grafanaExposure is alb and grafanaAlbScheme internet-facing")
    return MonitoringConfig(
        prometheus_retention=r.text("prometheusRetention", "7d", pattern=_PROM_DURATION, hint="expected e.g. 7d"),
        prometheus_storage=r.text("prometheusStorageSize", "10Gi", pattern=_VOLUME_SIZE, hint="expected e.g. 10Gi"),
        grafana_storage=r.text("grafanaStorageSize", "5Gi", pattern=_VOLUME_SIZE, hint="expected e.g. 5Gi"),
        grafana_exposure=exposure,
        alb_scheme=scheme,
        allowed_cidrs=tuple(str(n) for n in r.cidrs("grafanaAllowedCidrs", ())),
        certificate_arn=certificate,
    )

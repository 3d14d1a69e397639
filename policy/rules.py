"""The platform's rules, as functions over (resource type, props) and over the whole stack.

Each rule states one property the deployed platform must have; tests/infra runs all of them over the
program's registrations under mocks, and `policy/__main__.py` runs them as a Pulumi policy pack.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policy.iam_documents import permission_problems, trust_problems, trusts_pod_identity
from policy.model import ResourceRule, StackResource, StackRule, Violation, known, unwrap
from policy.pod_security import restricted_violations

__all__ = ["RESOURCE_RULES", "STACK_RULES", "evaluate"]

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
RELEASE = "kubernetes:helm.sh/v3:Release"
DOCKER_IMAGE = "docker-build:index:Image"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
_REGISTRY_PASSWORD = re.compile(r"^registries\[[0-9]+\]\.password$")
_SEMVER = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api[_-]?key|private[_-]?key)$", re.IGNORECASE)
# Names of references to a secret, not secrets: `existingSecret: grafana-admin`.
_SECRET_REFERENCE = re.compile(r"^existing", re.IGNORECASE)


def _iam_documents(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    documents = []
    if resource_type == ROLE:
        documents.append(("assumeRolePolicy", props.get("assumeRolePolicy"), trust_problems))
        for inline in props.get("inlinePolicies") or []:
            documents.append(("inlinePolicies", inline.get("policy"), permission_problems))
    else:
        documents.append(("policy", props.get("policy"), permission_problems))
    for field, text, check in documents:
        text = unwrap(text)
        if text is None or not known(text):
            continue
        yield from (f"{field}: {problem}" for problem in check(text))


def _subnet(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    cidr, tags = props.get("cidrBlock"), props.get("tags") or {}
    if isinstance(cidr, str):
        try:
            ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as exc:
            yield f"cidrBlock {cidr!r}: {exc}"
    if not any(k.startswith("kubernetes.io/cluster/") and v == "owned" for k, v in tags.items()):
        yield "missing kubernetes.io/cluster/<cluster>=owned"
    public, private = tags.get("kubernetes.io/role/elb") == "1", tags.get("kubernetes.io/role/internal-elb") == "1"
    if public == private:
        yield "needs exactly one of kubernetes.io/role/elb=1 (public) or kubernetes.io/role/internal-elb=1 (private)"
    if public and "karpenter.sh/discovery" in tags:
        yield "public subnets must not be selectable by Karpenter (karpenter.sh/discovery)"
    if private and not tags.get("karpenter.sh/discovery"):
        yield "private subnets need karpenter.sh/discovery=<cluster>"
    if public and props.get("mapPublicIpOnLaunch"):
        yield "public subnets hold only load balancers and NAT: mapPublicIpOnLaunch should be false"


def _eks_cluster(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    access = props.get("accessConfig") or {}
    vpc = props.get("vpcConfig") or {}
    if access.get("authenticationMode") != "API":
        yield "accessConfig.authenticationMode must be API (access entries, no aws-auth ConfigMap)"
    if vpc.get("endpointPrivateAccess") is not True:
        yield "vpcConfig.endpointPrivateAccess must be true"
    if vpc.get("endpointPublicAccess") and "publicAccessCidrs" not in vpc:
        yield "a public endpoint needs explicit publicAccessCidrs"
    if not props.get("enabledClusterLogTypes"):
        yield "control-plane logging must be enabled"
    if not props.get("version"):
        yield "version must be set, not left to EKS's default"


def _helm_release(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    version, chart = props.get("version"), str(props.get("chart") or "")
    if not isinstance(version, str) or not _SEMVER.match(version):
        yield f"chart {chart!r} must pin an exact version, got {version!r}"
    if not chart.startswith("oci://"):
        repo = str((props.get("repositoryOpts") or {}).get("repo") or "")
        if not repo.startswith("https://"):
            yield f"chart {chart!r} must come from an https repository or an oci:// registry"


def _dynamodb(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("billingMode") != "PAY_PER_REQUEST":
        yield "billingMode must be PAY_PER_REQUEST"
    if not (props.get("pointInTimeRecovery") or {}).get("enabled"):
        yield "point-in-time recovery must be enabled"
    if not (props.get("serverSideEncryption") or {}).get("enabled"):
        yield "server-side encryption with KMS must be enabled"
    ttl = props.get("ttl") or {}
    if not (ttl.get("enabled") and ttl.get("attributeName")):
        yield "a TTL attribute must be enabled"


def _sqs(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    if not (props.get("sqsManagedSseEnabled") or props.get("kmsMasterKeyId")):
        yield "queue must be encrypted (sqsManagedSseEnabled or kmsMasterKeyId)"


def _storage_class(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("provisioner") == "ebs.csi.aws.com" and (props.get("parameters") or {}).get("encrypted") != "true":
        yield "EBS volumes must be encrypted (parameters.encrypted: 'true')"


def _ec2_node_class(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    metadata = (props.get("spec") or {}).get("metadataOptions") or {}
    if metadata.get("httpTokens") != "required":
        yield "metadataOptions.httpTokens must be required (IMDSv2)"
    if int(metadata.get("httpPutResponseHopLimit") or 0) != 1:
        # Pods then cannot reach the node's credentials; they use Pod Identity instead.
        yield "metadataOptions.httpPutResponseHopLimit must be 1"


def _node_pool(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    spec = props.get("spec") or {}
    if not {"cpu", "memory"} <= set(spec.get("limits") or {}):
        yield "limits must bound cpu and memory"
    if not ((spec.get("template") or {}).get("spec") or {}).get("expireAfter"):
        yield "template.spec.expireAfter must be set so nodes are replaced regularly"


def _workload(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    template = (props.get("spec") or {}).get("template") or {}
    pod = template.get("spec")
    if not isinstance(pod, Mapping) or not known(pod):
        return
    yield from restricted_violations(dict(pod))
    for container in pod.get("containers") or []:
        name = container.get("name")
        if not (container.get("securityContext") or {}).get("readOnlyRootFilesystem"):
            yield f"container {name}: readOnlyRootFilesystem must be true"
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(bound) or {}):
                yield f"container {name}: resources.{bound} must set cpu and memory"
        if not container.get("livenessProbe") or not container.get("readinessProbe"):
            yield f"container {name}: needs a liveness and a readiness probe"


def _cluster_role(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    for rule in props.get("rules") or []:
        if not known(rule):
            continue
        writes = set(rule.get("verbs") or []) - {"get", "list", "watch"}
        if writes:
            # Writes belong in namespaced Roles, granted only where the stack allows them.
            yield f"grants {sorted(writes)} on {rule.get('resources')}: cluster-wide access must be read-only"


def _plaintext_secrets(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    if resource_type in ("kubernetes:core/v1:Secret", "random:index/randomPassword:RandomPassword"):
        return
    for path, value in _walk(props, ""):
        key = path.rsplit(".", 1)[-1]
        if resource_type == DOCKER_IMAGE and _REGISTRY_PASSWORD.match(path):
            continue  # the registry's short-lived token from ecr.getAuthorizationToken, held only in memory
        if (
            _SECRET_KEY.search(key)
            and not _SECRET_REFERENCE.match(key)
            and isinstance(value, str)
            and value
            and known(value)
        ):
            yield f"{path} holds a literal secret; reference a Kubernetes Secret or a pulumi secret instead"


def _walk(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "iam-documents-least-privilege",
        "IAM documents parse, and grant no '*' action or unscoped write on Resource '*'",
        _iam_documents,
        frozenset({ROLE, ROLE_POLICY, POLICY, QUEUE_POLICY}),
    ),
    ResourceRule(
        "subnet-cidr-and-tags",
        "Subnets are aligned and tagged for the ALB controller and Karpenter",
        _subnet,
        frozenset({SUBNET}),
    ),
    ResourceRule(
        "eks-cluster-access",
        "EKS uses access entries, a private endpoint and control-plane logs",
        _eks_cluster,
        frozenset({"aws:eks/cluster:Cluster"}),
    ),
    ResourceRule(
        "helm-chart-pinned",
        "Every Helm release pins an exact chart version from a trusted source",
        _helm_release,
        frozenset({RELEASE}),
    ),
    ResourceRule(
        "dynamodb-table-hardened",
        "State tables: on-demand, PITR, KMS encryption, TTL",
        _dynamodb,
        frozenset({"aws:dynamodb/table:Table"}),
    ),
    ResourceRule("sqs-encrypted", "Queues are encrypted at rest", _sqs, frozenset({"aws:sqs/queue:Queue"})),
    ResourceRule(
        "ebs-encrypted",
        "EBS StorageClasses encrypt volumes",
        _storage_class,
        frozenset({"kubernetes:storage.k8s.io/v1:StorageClass"}),
    ),
    ResourceRule(
        "karpenter-node-imdsv2",
        "Karpenter nodes require IMDSv2 with hop limit 1",
        _ec2_node_class,
        frozenset({"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"}),
    ),
    ResourceRule(
        "karpenter-nodepool-bounded",
        "NodePools are bounded and expire nodes",
        _node_pool,
        frozenset({"kubernetes:karpenter.sh/v1:NodePool"}),
    ),
    ResourceRule(
        "no-plaintext-secrets", "No password, token or key is a literal input outside a Secret", _plaintext_secrets
    ),
    ResourceRule(
        "workloads-restricted",
        "Pods meet the restricted Pod Security Standard, with a read-only root, bounded resources and probes",
        _workload,
        frozenset({DEPLOYMENT, "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"}),
    ),
    ResourceRule(
        "cluster-roles-read-only",
        "ClusterRoles the program creates only read; writes are granted per namespace",
        _cluster_role,
        frozenset({"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"}),
    ),
)


def _pod_identity_bindings(resources: Sequence[StackResource]) -> Iterable[tuple[str | None, str]]:
    roles = {
        r.urn: r
        for r in resources
        if r.resource_type == ROLE
        and known(r.props.get("assumeRolePolicy"))
        and trusts_pod_identity(unwrap(r.props.get("assumeRolePolicy")))
    }
    bindings: dict[str, list[StackResource]] = {urn: [] for urn in roles}
    pairs: Counter[tuple[str, str]] = Counter()
    for assoc in (r for r in resources if r.resource_type == ASSOCIATION):
        pairs[(str(assoc.props.get("namespace")), str(assoc.props.get("serviceAccount")))] += 1
        sources = [urn for urn in assoc.property_dependencies.get("roleArn", ()) if urn in roles]
        if len(sources) != 1:
            yield assoc.urn, "roleArn must come from exactly one role trusted by EKS Pod Identity"
        for urn in sources:
            bindings[urn].append(assoc)
    for urn, found in bindings.items():
        if len(found) != 1:
            yield urn, f"a Pod Identity role must be bound to exactly one service account; found {len(found)}"
    for (namespace, account), count in pairs.items():
        if count > 1:
            yield None, f"{namespace}/{account} is bound {count} times; Pod Identity allows one role per account"


def _subnets_in_vpc(resources: Sequence[StackResource]) -> Iterable[tuple[str | None, str]]:
    vpcs = [r for r in resources if r.resource_type == VPC]
    subnets = [r for r in resources if r.resource_type == SUBNET and isinstance(r.props.get("cidrBlock"), str)]
    if len(vpcs) != 1:
        return
    try:
        vpc = ipaddress.IPv4Network(vpcs[0].props.get("cidrBlock"), strict=True)
        networks = [(s, ipaddress.IPv4Network(s.props["cidrBlock"], strict=True)) for s in subnets]
    except (TypeError, ValueError):
        return  # reported per resource by subnet-cidr-and-tags
    for index, (subnet, net) in enumerate(networks):
        if not net.subnet_of(vpc):
            yield subnet.urn, f"{net} is outside the VPC {vpc}"
        for other, other_net in networks[index + 1 :]:
            if net.overlaps(other_net):
                yield subnet.urn, f"{net} overlaps {other.name} ({other_net})"


STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "pod-identity-one-binding", "Each Pod Identity role serves exactly one service account", _pod_identity_bindings
    ),
    StackRule("subnets-inside-vpc-disjoint", "Subnets lie inside the VPC and do not overlap", _subnets_in_vpc),
)


def evaluate(resources: Sequence[StackResource]) -> list[Violation]:
    """Every rule over every resource: the policy pack's verdict, computed without the CLI."""
    violations = [
        Violation(rule.name, message, resource.urn)
        for resource in resources
        for rule in RESOURCE_RULES
        for message in rule.validate(resource.resource_type, resource.props)
    ]
    for stack_rule in STACK_RULES:
        violations.extend(stack_rule.validate(resources))
    return violations

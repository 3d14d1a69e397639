"""Karpenter v1: controller role (Pod Identity), node role, interruption queue and rules, the Helm
releases, and the default EC2NodeClass and NodePool as custom resources.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.charts import KARPENTER, KARPENTER_CRD
from infra.config import KarpenterConfig
from infra.iam import AwsContext, managed_policy_arn, policy_json, service_trust
from infra.identities import KARPENTER as SERVICE_ACCOUNT
from infra.karpenter_policy import controller_policy, queue_policy
from infra.pod_identity import PodIdentityRole, PodIdentityRoleArgs

__all__ = [
    "DRAIN_LIMIT",
    "INTERRUPTION_EVENTS",
    "NODE_DELETE_TIMEOUT",
    "SPOT_SERVICE",
    "Karpenter",
    "KarpenterArgs",
    "ec2_node_class_spec",
    "node_pool_spec",
]

NODE_CLASS = "default"
NODE_POOL = "default"
# How long Karpenter may spend draining one of its nodes before it stops honouring PDBs and terminates it
# (NodePool spec.template.spec.terminationGracePeriod): a drain, and so `pulumi destroy`, always ends.
DRAIN_LIMIT = "30m"
# How long `pulumi destroy` waits for the NodePool and the EC2NodeClass to disappear. pulumi-kubernetes
# deletes them in the foreground and waits, 5 minutes unless told otherwise; they go only once Karpenter has
# drained and terminated every instance it launched (the NodeClaims' and the EC2NodeClass's finalizers).
NODE_DELETE_TIMEOUT = "45m"
# The service whose service-linked role (AWSServiceRoleForEC2Spot) EC2 needs before any Spot launch.
SPOT_SERVICE = "spot.amazonaws.com"
# What Karpenter reacts to before AWS takes a node away: the five events the terraform-aws-modules module routes.
INTERRUPTION_EVENTS = {
    "health": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}


@dataclass
class KarpenterArgs:
    config: KarpenterConfig
    context: AwsContext
    cluster_name: str
    # The cluster's name as an output, so everything here waits for the cluster.
    cluster: pulumi.Input[str]
    provider: k8s.Provider
    cluster_ready: Sequence[pulumi.Resource]


def ec2_node_class_spec(cluster_name: str, node_role_name: Any, ami_alias: str) -> dict[str, Any]:
    discovery = [{"tags": {"karpenter.sh/discovery": cluster_name}}]
    return {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        # IMDSv2 only, one hop: containers cannot borrow the node's credentials.
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
            }
        ],
    }


def node_pool_spec(cfg: KarpenterConfig) -> dict[str, Any]:
    return {
        "template": {
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
                "requirements": [
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(cfg.capacity_types)},
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(cfg.instance_types)},
                ],
                # 90 days: nodes pick up new AMIs and patches at least this often.
                "expireAfter": "2160h",
                "terminationGracePeriod": DRAIN_LIMIT,
            }
        },
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "30s"},
        "limits": {"cpu": cfg.cpu_limit, "memory": cfg.memory_limit},
    }


class Karpenter(pulumi.ComponentResource):
    node_role_name: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    # The NodePool and EC2NodeClass: whatever may run on Karpenter's nodes depends on these, so
    # `pulumi destroy` removes it before Karpenter drains and terminates the nodes.
    capacity: list[pulumi.Resource]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:karpenter:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.context

        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=policy_json(service_trust("ec2.amazonaws.com")),
            description=f"Nodes launched by Karpenter in {args.cluster_name}",
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy.lower().replace('_', '-')}",
                role=node_role.name,
                policy_arn=managed_policy_arn(ctx.partition, policy),
                opts=child,
            )
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
        ]
        # With API authentication the node role needs an access entry of type EC2_LINUX to join the cluster.
        access_entry = aws.eks.AccessEntry(
            f"{name}-node-access", cluster_name=args.cluster, principal_arn=node_role.arn, type="EC2_LINUX", opts=child
        )

        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            message_retention_seconds=300,  # an interruption notice is useless after minutes
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy", queue_url=queue.url, policy=policy_json(queue_policy(queue.arn)), opts=child
        )
        for key, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                description=f"Karpenter interruption: {detail_type}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{key}-target",
                rule=rule.name,
                arn=queue.arn,
                target_id="KarpenterInterruptionQueue",
                opts=child,
            )

        controller = PodIdentityRole(
            f"{name}-controller",
            PodIdentityRoleArgs(
                cluster_name=args.cluster,
                service_account=SERVICE_ACCOUNT,
                policy=policy_json(controller_policy(ctx, args.cluster_name, node_role.arn, queue.arn)),
                description=f"Karpenter controller ({SERVICE_ACCOUNT})",
            ),
            opts=child,
        )

        in_cluster = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.cluster_ready))
        crds = KARPENTER_CRD.release(
            f"{name}-crd", release_name="karpenter-crd", namespace=SERVICE_ACCOUNT.namespace, values={}, opts=in_cluster
        )
        release = KARPENTER.release(
            f"{name}-release",
            release_name="karpenter",
            namespace=SERVICE_ACCOUNT.namespace,
            skip_crds=True,
            values={
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT.name},
                "controller": {
                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
                },
            },
            opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[crds, controller])),
        )

        # Both are deleted before the release (they depend on it), so the controller is still running to
        # drain and terminate its instances; otherwise they would outlive the stack.
        waits_for_nodes = pulumi.CustomTimeouts(delete=NODE_DELETE_TIMEOUT)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS},
            spec=ec2_node_class_spec(args.cluster_name, node_role.name, args.config.ami_alias),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[release, access_entry, *node_policies],
                custom_timeouts=waits_for_nodes,
            ),
        )
        pool_needs: list[pulumi.Resource] = [release, node_class]
        if args.config.create_spot_service_linked_role and "spot" in args.config.capacity_types:
            # Account-wide and shared with anything else that launches Spot: kept when the stack goes.
            pool_needs.append(
                aws.iam.ServiceLinkedRole(
                    f"{name}-spot-service-linked-role",
                    aws_service_name=SPOT_SERVICE,
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                )
            )
        node_pool = k8s.apiextensions.CustomResource(
            f"{name}-node-pool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": NODE_POOL},
            spec=node_pool_spec(args.config),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=pool_needs, custom_timeouts=waits_for_nodes
            ),
        )
        self.capacity = [node_class, node_pool]

        self.node_role_name = node_role.name
        self.node_role_arn = node_role.arn
        self.queue_name = queue.name
        self.controller_role_arn = controller.role_arn
        self.register_outputs(
            {
                "nodeRoleArn": self.node_role_arn,
                "queueName": self.queue_name,
                "controllerRoleArn": self.controller_role_arn,
            }
        )

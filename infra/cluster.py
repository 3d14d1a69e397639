"""The EKS cluster from `pulumi_aws.eks` resources: control plane, system node group, add-ons, access.

Add-ons are EKS-managed (`bootstrap_self_managed_addons=False`), so EKS owns their upgrades. vpc-cni,
kube-proxy and the Pod Identity agent go in before the node group (nodes are not Ready without a CNI);
CoreDNS and the EBS CSI driver need running nodes, so they come after.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.config import ClusterConfig
from infra.iam import AwsContext, managed_policy_arn, policy_json, service_trust
from infra.identities import EBS_CSI_CONTROLLER
from infra.pod_identity import PodIdentityRole, PodIdentityRoleArgs

__all__ = ["Cluster", "ClusterArgs", "gp3_storage_class", "kubeconfig_document"]

PRE_COMPUTE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# The VPC CNI's network policy agent enforces NetworkPolicies; without it they would be accepted and ignored.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}
ADMIN_POLICY = "arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@dataclass
class ClusterArgs:
    config: ClusterConfig
    context: AwsContext
    private_subnet_ids: Sequence[pulumi.Input[str]]


def kubeconfig_document(name: Any, endpoint: Any, ca_data: Any, region: str) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token`: nothing long-lived is stored in it."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [
            {
                "name": name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def gp3_storage_class() -> dict[str, Any]:
    """The default StorageClass: encrypted gp3, bound where the pod lands (volumes are zonal)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "fsType": "ext4"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


class Cluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    # In-cluster resources depend on these: the API answers only once nodes and DNS are up.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg, ctx = args.config, args.context

        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=policy_json(service_trust("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn=managed_policy_arn(ctx.partition, "AmazonEKSClusterPolicy"),
            opts=child,
        )
        # Created first so EKS writes into a group with a retention period rather than one kept forever.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{cfg.name}/cluster",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cfg.name,
            version=cfg.version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                # Control-plane ENIs go in the private subnets; load balancers find public ones by tag.
                subnet_ids=list(args.private_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=True,
                public_access_cidrs=list(cfg.public_access_cidrs),
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=cfg.creator_admin,
            ),
            # Explicit rather than EKS's pick: NetworkPolicies must name the API server's Service address.
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=str(cfg.service_ipv4_cidr)
            ),
            bootstrap_self_managed_addons=False,
            enabled_cluster_log_types=list(cfg.log_types),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, log_group]),
        )
        # Karpenter's EC2NodeClass selects security groups by this tag; the cluster security group is the one
        # EKS attaches to managed nodes, so Karpenter nodes get the same network access.
        aws.ec2.Tag(
            f"{name}-cluster-sg-discovery",
            resource_id=cluster.vpc_config.cluster_security_group_id,
            key="karpenter.sh/discovery",
            value=cfg.name,
            opts=child,
        )

        pre_compute = [self._addon(name, cluster, addon, cfg, []) for addon in PRE_COMPUTE_ADDONS]
        node_group = self._node_group(name, cluster, cfg, ctx, pre_compute)
        coredns = self._addon(name, cluster, "coredns", cfg, [node_group])

        ebs_csi = PodIdentityRole(
            f"{name}-ebs-csi",
            PodIdentityRoleArgs(
                cluster_name=cluster.name,
                service_account=EBS_CSI_CONTROLLER,
                managed_policy_arns=[managed_policy_arn(ctx.partition, "service-role/AmazonEBSCSIDriverPolicy")],
                description="EBS CSI controller (kube-system/ebs-csi-controller-sa)",
            ),
            opts=child,
        )
        # Pod Identity injects credentials when a pod is admitted, so the association precedes the driver.
        ebs_addon = self._addon(name, cluster, "aws-ebs-csi-driver", cfg, [node_group, ebs_csi])

        for index, principal in enumerate(cfg.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}-policy",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=ADMIN_POLICY.format(partition=ctx.partition),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )

        kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.json_dumps(
                kubeconfig_document(cluster.name, cluster.endpoint, cluster.certificate_authority.data, ctx.region)
            )
        )
        provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
        manifest = gp3_storage_class()
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=manifest["metadata"],
            provisioner=manifest["provisioner"],
            parameters=manifest["parameters"],
            reclaim_policy=manifest["reclaimPolicy"],
            volume_binding_mode=manifest["volumeBindingMode"],
            allow_volume_expansion=manifest["allowVolumeExpansion"],
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ebs_addon]),
        )

        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.version = cluster.version
        self.security_group_id = cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = kubeconfig
        self.provider = provider
        self.ready = [node_group, coredns, storage_class]
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "ebsCsiRoleArn": ebs_csi.role_arn,
            }
        )

    def _node_group(
        self, name: str, cluster: aws.eks.Cluster, cfg: ClusterConfig, ctx: AwsContext, after: Sequence[pulumi.Resource]
    ) -> aws.eks.NodeGroup:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-node-role", assume_role_policy=policy_json(service_trust("ec2.amazonaws.com")), opts=child
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy.lower().replace('_', '-')}",
                role=role.name,
                policy_arn=managed_policy_arn(ctx.partition, policy),
                opts=child,
            )
            # The CNI keeps the node role: aws-node must assign pod IPs before Pod Identity can serve anything.
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
        ]
        group = cfg.node_group
        return aws.eks.NodeGroup(
            f"{name}-system-nodes",
            cluster_name=cluster.name,
            node_role_arn=role.arn,
            subnet_ids=cluster.vpc_config.subnet_ids,
            instance_types=list(group.instance_types),
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            disk_size=group.disk_size_gib,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=group.desired_size, min_size=group.min_size, max_size=group.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels={"agentic.io/pool": "system"},
            # Operators may resize the group by hand; a later `pulumi up` should not undo that.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*attachments, *after],
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _addon(
        self, name: str, cluster: aws.eks.Cluster, addon: str, cfg: ClusterConfig, after: Sequence[pulumi.Resource]
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{name}-addon-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=cfg.addon_versions.get(addon),
            configuration_values=json.dumps(ADDON_CONFIGURATION[addon]) if addon in ADDON_CONFIGURATION else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

"""Cluster: EKS settings, the system node group, add-ons, access entries, kubeconfig, provider, StorageClass."""

from __future__ import annotations

import json

import pytest

from infra.offline import ProgramRun, Secret
from tests.infra.support import depends_on, manifest, run_with, validate_manifest

ADDONS = {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}


def _addon(run: ProgramRun, name: str):
    (addon,) = [a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == name]
    return addon


def test_eks_cluster_settings(program: ProgramRun) -> None:
    (cluster,) = program.of_type("aws:eks/cluster:Cluster")
    inputs = cluster.inputs
    assert inputs["name"] == "agentic-dev"
    assert inputs["version"] == "1.35"
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    vpc = inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert set(inputs["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert inputs["bootstrapSelfManagedAddons"] is False
    private = [s for s in program.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert all(depends_on(cluster, "vpcConfig", s) for s in private)
    public = [s for s in program.of_type("aws:ec2/subnet:Subnet") if "-public-" in s.name]
    assert not any(depends_on(cluster, "vpcConfig", s) for s in public)


def test_control_plane_log_group_exists_first_with_retention(program: ProgramRun) -> None:
    (group,) = program.of_type("aws:cloudwatch/logGroup:LogGroup")
    (cluster,) = program.of_type("aws:eks/cluster:Cluster")
    assert group.inputs["name"] == "/aws/eks/agentic-dev/cluster"
    assert group.inputs["retentionInDays"] == 30
    assert group.urn in cluster.dependencies


def test_system_node_group(program: ProgramRun) -> None:
    (group,) = program.of_type("aws:eks/nodeGroup:NodeGroup")
    (cluster,) = program.of_type("aws:eks/cluster:Cluster")
    assert group.inputs["scalingConfig"] == {"desiredSize": 2, "minSize": 2, "maxSize": 3}
    assert group.inputs["instanceTypes"] == ["t3.large"]  # 35 pods a node: tests/infra/test_upstream_capacity.py
    assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert group.inputs["capacityType"] == "ON_DEMAND"
    assert depends_on(group, "subnetIds", cluster)  # the cluster's (private) subnets


def test_node_group_sizes_follow_configuration() -> None:
    run = run_with(
        {"nodeDesiredSize": "4", "nodeMinSize": "3", "nodeMaxSize": "6", "nodeInstanceTypes": '["m7i.large"]'}
    )
    assert run.error is None
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.inputs["scalingConfig"] == {"desiredSize": 4, "minSize": 3, "maxSize": 6}
    assert group.inputs["instanceTypes"] == ["m7i.large"]


def test_addons_and_their_order(program: ProgramRun) -> None:
    addons = program.of_type("aws:eks/addon:Addon")
    assert {a.inputs["addonName"] for a in addons} == ADDONS
    (group,) = program.of_type("aws:eks/nodeGroup:NodeGroup")
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert _addon(program, name).urn in group.dependencies  # nodes need a CNI to become Ready
    for name in ("coredns", "aws-ebs-csi-driver"):
        assert group.urn in _addon(program, name).dependencies  # these need running nodes
    # Pod Identity injects credentials at admission: the association must exist before the driver's pods.
    (association,) = [
        a
        for a in program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "ebs-csi-controller-sa"
    ]
    assert association.urn in _addon(program, "aws-ebs-csi-driver").dependencies


def test_ebs_csi_driver_has_its_own_pod_identity_role(program: ProgramRun) -> None:
    (association,) = [
        a
        for a in program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "ebs-csi-controller-sa"
    ]
    assert association.inputs["namespace"] == "kube-system"
    attachments = [
        a
        for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["policyArn"].endswith("service-role/AmazonEBSCSIDriverPolicy")
    ]
    assert len(attachments) == 1


def test_access_entries_for_admin_principals() -> None:
    admins = ["arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:user/alice"]
    run = run_with({"adminPrincipalArns": json.dumps(admins)}, preview=False)
    assert run.error is None
    entries = [e for e in run.of_type("aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "STANDARD"]
    assert sorted(e.inputs["principalArn"] for e in entries) == sorted(admins)
    policies = run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert sorted(p.inputs["principalArn"] for p in policies) == sorted(admins)
    for policy in policies:
        assert policy.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert policy.inputs["accessScope"] == {"type": "cluster"}


def test_no_admin_entries_by_default(program: ProgramRun) -> None:
    assert all(e.inputs["type"] != "STANDARD" for e in program.of_type("aws:eks/accessEntry:AccessEntry"))


def test_karpenter_can_discover_the_cluster_security_group(program: ProgramRun) -> None:
    (tag,) = program.of_type("aws:ec2/tag:Tag")
    (cluster,) = program.of_type("aws:eks/cluster:Cluster")
    assert (tag.inputs["key"], tag.inputs["value"]) == ("karpenter.sh/discovery", "agentic-dev")
    assert depends_on(tag, "resourceId", cluster)


def test_kubeconfig_is_a_secret_using_aws_eks_get_token(program: ProgramRun) -> None:
    exported = program.exports["kubeconfig"]
    assert exported.secret
    if program.preview:
        assert not exported.known  # the endpoint is unknown until the cluster exists
        return
    config = json.loads(exported.value)
    (cluster,) = program.of_type("aws:eks/cluster:Cluster")
    assert config["clusters"][0]["cluster"]["server"] == cluster.outputs["endpoint"]
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    user = config["users"][0]["user"]
    assert "token" not in user and "client-key-data" not in user  # nothing long-lived in it
    assert user["exec"]["command"] == "aws"
    args = user["exec"]["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == "agentic-dev"
    assert args[args.index("--region") + 1] == "us-west-2"


def test_every_kubernetes_object_goes_through_the_cluster_provider(program: ProgramRun) -> None:
    (provider,) = program.of_type("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    in_cluster = [r for r in program.resources if r.type.startswith("kubernetes:")]
    assert in_cluster
    for resource in in_cluster:
        assert resource.provider and resource.provider.startswith(provider.urn + "::"), resource.name


def test_gp3_default_storage_class(program: ProgramRun, dev_config: dict[str, str]) -> None:
    (storage_class,) = program.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    sc = manifest(storage_class)
    validate_manifest(sc, dev_config["agentic-platform:kubernetesVersion"])
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3"
    assert sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"


def test_storage_class_validation_can_fail(dev_config: dict[str, str]) -> None:
    with pytest.raises(Exception, match="volumeBindingModes"):
        validate_manifest(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "x"},
                "provisioner": "ebs.csi.aws.com",
                "volumeBindingModes": "Immediate",
            },
            dev_config["agentic-platform:kubernetesVersion"],
        )

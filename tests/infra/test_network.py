"""Network: the CIDR plan, tags, routes and NAT as registered by the real program."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from infra.offline import ProgramRun
from tests.infra.support import depends_on, run_with

PRIVATE = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
PUBLIC = ["10.0.96.0/20", "10.0.112.0/20", "10.0.128.0/20"]


def _subnets(run: ProgramRun, tier: str) -> list:
    return sorted((r for r in run.of_type("aws:ec2/subnet:Subnet") if f"-{tier}-" in r.name), key=lambda r: r.name)


def test_vpc(program: ProgramRun) -> None:
    (vpc,) = program.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True
    assert vpc.inputs["enableDnsSupport"] is True


def test_cidr_plan_is_strict_inside_the_vpc_and_disjoint(program: ProgramRun) -> None:
    vpc = IPv4Network(program.of_type("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"], strict=True)
    private, public = _subnets(program, "private"), _subnets(program, "public")
    assert [s.inputs["cidrBlock"] for s in private] == PRIVATE
    assert [s.inputs["cidrBlock"] for s in public] == PUBLIC
    networks = [IPv4Network(s.inputs["cidrBlock"], strict=True) for s in private + public]
    assert all(n.subnet_of(vpc) for n in networks)
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_one_public_and_one_private_subnet_per_zone(program: ProgramRun) -> None:
    zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert [s.inputs["availabilityZone"] for s in _subnets(program, "private")] == zones
    assert [s.inputs["availabilityZone"] for s in _subnets(program, "public")] == zones
    (lookup,) = [args for token, args in program.invokes if token.endswith("getAvailabilityZones")]
    assert lookup["state"] == "available"


def test_subnet_tags(program: ProgramRun) -> None:
    for subnet in _subnets(program, "public"):
        tags = subnet.inputs["tags"]
        assert tags["kubernetes.io/role/elb"] == "1"
        assert tags["kubernetes.io/cluster/agentic-dev"] == "owned"
        assert "karpenter.sh/discovery" not in tags
        assert "kubernetes.io/role/internal-elb" not in tags
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    for subnet in _subnets(program, "private"):
        tags = subnet.inputs["tags"]
        assert tags["kubernetes.io/role/internal-elb"] == "1"
        assert tags["karpenter.sh/discovery"] == "agentic-dev"
        assert tags["kubernetes.io/cluster/agentic-dev"] == "owned"
        assert "kubernetes.io/role/elb" not in tags


def test_public_routes_go_to_the_internet_gateway(program: ProgramRun) -> None:
    (igw,) = program.of_type("aws:ec2/internetGateway:InternetGateway")
    (public_rt,) = [r for r in program.of_type("aws:ec2/routeTable:RouteTable") if r.name.endswith("public-rt")]
    (route,) = [r for r in program.of_type("aws:ec2/route:Route") if depends_on(r, "routeTableId", public_rt)]
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert depends_on(route, "gatewayId", igw)
    associations = program.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    for subnet in _subnets(program, "public"):
        (assoc,) = [a for a in associations if depends_on(a, "subnetId", subnet)]
        assert depends_on(assoc, "routeTableId", public_rt)


def _private_routes(run: ProgramRun) -> dict[str, str]:
    """Private subnet name → the name of the NAT gateway its default route uses."""
    associations = run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    routes = run.of_type("aws:ec2/route:Route")
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    result = {}
    for subnet in _subnets(run, "private"):
        (assoc,) = [a for a in associations if depends_on(a, "subnetId", subnet)]
        (table,) = [t for t in run.of_type("aws:ec2/routeTable:RouteTable") if depends_on(assoc, "routeTableId", t)]
        (route,) = [r for r in routes if depends_on(r, "routeTableId", table)]
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        (nat,) = [n for n in nats if depends_on(route, "natGatewayId", n)]
        result[subnet.name] = nat.name
    return result


def test_single_nat_gateway_in_a_public_subnet(program: ProgramRun) -> None:
    (nat,) = program.of_type("aws:ec2/natGateway:NatGateway")
    (eip,) = program.of_type("aws:ec2/eip:Eip")
    assert eip.inputs["domain"] == "vpc"
    assert depends_on(nat, "allocationId", eip)
    assert depends_on(nat, "subnetId", _subnets(program, "public")[0])
    assert set(_private_routes(program).values()) == {nat.name}


@pytest.mark.parametrize("preview", [True, False])
def test_nat_gateway_per_zone(preview: bool) -> None:
    run = run_with({"natGateways": "perAz"}, preview=preview)
    assert run.error is None
    nats = sorted(run.of_type("aws:ec2/natGateway:NatGateway"), key=lambda n: n.name)
    assert len(nats) == len(run.of_type("aws:ec2/eip:Eip")) == 3
    for nat, subnet in zip(nats, _subnets(run, "public"), strict=True):
        assert depends_on(nat, "subnetId", subnet)
    routes = _private_routes(run)
    assert [routes[s.name] for s in _subnets(run, "private")] == [n.name for n in nats]


def test_exports(update_run: ProgramRun) -> None:
    exports = update_run.exports
    assert exports["vpcId"].value.startswith("vpc-")
    assert len(exports["privateSubnetIds"].value) == len(exports["publicSubnetIds"].value) == 3
    assert all(s.startswith("subnet-") for s in exports["privateSubnetIds"].value + exports["publicSubnetIds"].value)

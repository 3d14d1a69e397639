"""The VPC: a public and a private subnet per zone, an internet gateway, NAT, and route tables."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cidr import SubnetPlan

__all__ = ["Network", "NetworkArgs", "subnet_tags"]


@dataclass
class NetworkArgs:
    cluster_name: str
    plan: SubnetPlan
    nat_per_az: bool


def subnet_tags(cluster_name: str, *, public: bool, zone: str) -> dict[str, str]:
    """The tags the ALB controller (role/elb, role/internal-elb) and Karpenter (discovery) select subnets by."""
    tags = {
        "Name": f"{cluster_name}-{'public' if public else 'private'}-{zone}",
        f"kubernetes.io/cluster/{cluster_name}": "owned",
    }
    if public:
        tags["kubernetes.io/role/elb"] = "1"
    else:
        tags["kubernetes.io/role/internal-elb"] = "1"
        # Only private subnets: Karpenter nodes must never get public addresses.
        tags["karpenter.sh/discovery"] = cluster_name
    return tags


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    availability_zones: list[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan = args.plan
        zones = _zones(len(plan.private))

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(plan.vpc),
            enable_dns_hostnames=True,  # EKS nodes and private endpoints need DNS hostnames
            enable_dns_support=True,
            tags={"Name": f"{args.cluster_name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{args.cluster_name}-igw"}, opts=child
        )

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{args.cluster_name}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        for index, (zone, cidr) in enumerate(zip(zones, plan.public, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=str(cidr),
                availability_zone=zone,
                # Only load balancers and NAT gateways live here, and they get their own addresses.
                map_public_ip_on_launch=False,
                tags=subnet_tags(args.cluster_name, public=True, zone=zone),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            public_subnets.append(subnet)

        nat_count = len(zones) if args.nat_per_az else 1
        nat_gateways: list[aws.ec2.NatGateway] = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(
                f"{name}-nat-{index}-eip",
                domain="vpc",
                tags={"Name": f"{args.cluster_name}-nat-{zones[index]}"},
                opts=child,
            )
            nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public_subnets[index].id,
                    tags={"Name": f"{args.cluster_name}-nat-{zones[index]}"},
                    # The gateway needs the internet gateway attached before it can route.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_subnets: list[aws.ec2.Subnet] = []
        for index, (zone, cidr) in enumerate(zip(zones, plan.private, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=str(cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=subnet_tags(args.cluster_name, public=False, zone=zone),
                opts=child,
            )
            # One table per zone either way, so switching natGateways only changes routes, not associations.
            route_table = aws.ec2.RouteTable(
                f"{name}-private-{index}-rt",
                vpc_id=vpc.id,
                tags={"Name": f"{args.cluster_name}-private-{zone}"},
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-{index}-default",
                route_table_id=route_table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateways[index if args.nat_per_az else 0].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=child,
            )
            private_subnets.append(subnet)

        self.vpc_id = vpc.id
        self.vpc_cidr = str(plan.vpc)
        self.availability_zones = zones
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.nat_gateway_ids = [n.id for n in nat_gateways]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "availabilityZones": self.availability_zones,
            }
        )


def _zones(count: int) -> list[str]:
    """The first `count` zones the account can use without opting in (Local and Wavelength zones excluded)."""
    result = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    names = sorted(result.names)
    if len(names) < count:
        raise pulumi.RunError(
            f"agentic-platform:azCount: the region has {len(names)} usable availability zones; {count} were asked for"
        )
    return names[:count]

"""Service quotas the network needs, against what the account already uses in the region.

The stack creates one VPC, one internet gateway, and one NAT gateway with one Elastic IP per zone
(`natGateways: perAz`) or a single pair in the first zone (infra/network.py). Quota codes are Service Quotas'
(the same in every region; `aws service-quotas list-service-quotas --service-code vpc|ec2` lists them):
  vpc L-F678F1CE  VPCs per Region                     (AWS default 5)
  vpc L-A4707A72  Internet gateways per Region        (AWS default 5)
  vpc L-FE5A380F  NAT gateways per Availability Zone  (AWS default 5)
  ec2 L-0263D0A3  EC2-VPC Elastic IPs                 (AWS default 5)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from infra.preflight.checks_aws import usable_zones
from infra.preflight.findings import Finding, describe_error

if TYPE_CHECKING:
    from infra.preflight.aws_clients import AwsClients

__all__ = ["ELASTIC_IPS", "INTERNET_GATEWAYS", "NAT_GATEWAYS", "VPCS", "Quota", "check_quotas"]


@dataclass(frozen=True)
class Quota:
    name: str
    title: str
    service_code: str
    quota_code: str
    unit: str
    """What is counted, plural, for the finding's text."""


VPCS = Quota("quota-vpcs", "VPCs per Region", "vpc", "L-F678F1CE", "VPCs")
INTERNET_GATEWAYS = Quota("quota-internet-gateways", "Internet gateways per Region", "vpc", "L-A4707A72", "gateways")
NAT_GATEWAYS = Quota("quota-nat-gateways", "NAT gateways per Availability Zone", "vpc", "L-FE5A380F", "NAT gateways")
ELASTIC_IPS = Quota("quota-elastic-ips", "EC2-VPC Elastic IPs", "ec2", "L-0263D0A3", "addresses")

# NAT gateways still count against the quota while they start or run.
_LIVE_NAT_STATES = ["pending", "available"]


def check_quotas(clients: AwsClients, az_count: int, nat_per_az: bool) -> list[Finding]:
    ec2 = clients.ec2
    vpcs = sum(len(page["Vpcs"]) for page in ec2.get_paginator("describe_vpcs").paginate())
    gateways = sum(len(page["InternetGateways"]) for page in ec2.get_paginator("describe_internet_gateways").paginate())
    addresses = len(ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"])
    nat_count = az_count if nat_per_az else 1
    zones = usable_zones(ec2)[:nat_count]
    busiest_zone, nat_in_use = _busiest_zone(clients, zones)
    return [
        _compare(clients, VPCS, vpcs, 1),
        _compare(clients, INTERNET_GATEWAYS, gateways, 1),
        _compare(clients, NAT_GATEWAYS, nat_in_use, 1, where=f" in {busiest_zone}" if busiest_zone else ""),
        _compare(clients, ELASTIC_IPS, addresses, nat_count),
    ]


def _busiest_zone(clients: AwsClients, zones: list[str]) -> tuple[str | None, int]:
    """Of the zones that get a NAT gateway, the one with the most NAT gateways already, and how many."""
    ec2 = clients.ec2
    subnet_ids = [
        gateway["SubnetId"]
        for page in ec2.get_paginator("describe_nat_gateways").paginate(
            Filters=[{"Name": "state", "Values": _LIVE_NAT_STATES}]
        )
        for gateway in page["NatGateways"]
        if "SubnetId" in gateway
    ]
    per_zone: Counter[str] = Counter()
    if subnet_ids:
        for page in ec2.get_paginator("describe_subnets").paginate(
            Filters=[{"Name": "subnet-id", "Values": sorted(set(subnet_ids))}]
        ):
            zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in page["Subnets"] if "AvailabilityZone" in s}
            per_zone.update(zone_of[sid] for sid in subnet_ids if sid in zone_of)
    if not zones:
        return None, 0
    busiest = max(zones, key=lambda zone: (per_zone[zone], zone))
    return busiest, per_zone[busiest]


def _compare(clients: AwsClients, quota: Quota, in_use: int, needed: int, where: str = "") -> Finding:
    limit, source, error = _read_limit(clients, quota)
    usage = f"{in_use} {quota.unit} in use{where}, the stack adds {needed}"
    if limit is None:
        return Finding.warned(
            quota.name,
            f"{quota.title}: could not read the quota ({error}); {usage}",
            f"aws service-quotas get-service-quota --service-code {quota.service_code} "
            f"--quota-code {quota.quota_code} --region {clients.region}",
        )
    if in_use + needed > limit:
        return Finding.failed(
            quota.name,
            f"{quota.title}: {usage}, but the quota is {limit}",
            f"aws service-quotas request-service-quota-increase --service-code {quota.service_code} "
            f"--quota-code {quota.quota_code} --desired-value {in_use + needed} --region {clients.region}  "
            f"(or release unused {quota.unit})",
        )
    return Finding.passed(quota.name, f"{quota.title}: {usage}, quota {limit}{source}")


def _read_limit(clients: AwsClients, quota: Quota) -> tuple[int | None, str, str]:
    """(the applied quota, a note on where it came from, why it could not be read)."""
    try:
        value = clients.quotas.get_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
        applied = value["Quota"].get("Value")
        if applied is not None:
            return int(applied), "", ""
        error = "Service Quotas returned no value"
    except (ClientError, BotoCoreError) as exc:
        error = describe_error(exc)
    if quota is ELASTIC_IPS:
        # EC2 reports the same limit as an account attribute, readable where Service Quotas is not.
        # (The request's AttributeNames enum allows only two names, so all are read and this one picked.)
        try:
            attributes = clients.ec2.describe_account_attributes()["AccountAttributes"]
            for attribute in attributes:
                if attribute.get("AttributeName") != "vpc-max-elastic-ips":
                    continue
                for item in attribute.get("AttributeValues", []):
                    if "AttributeValue" in item:
                        return int(item["AttributeValue"]), " (EC2 account attribute vpc-max-elastic-ips)", ""
        except (ClientError, BotoCoreError, ValueError) as exc:
            error += f"; EC2 account attributes: {describe_error(exc)}"
    return None, "", error

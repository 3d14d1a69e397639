"""The subnet plan: computed from the VPC CIDR, or given explicitly, and always checked.

The original plan (public 10.0.4.0/20, 10.0.5.0/20, 10.0.6.0/20; private 10.0.0.0/20, 10.0.1.0/20,
10.0.2.0/20) is what this module exists to reject: five of those have host bits set and, once
normalised, all six are the same network. AWS would refuse it only at `pulumi up`, half-way through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from ipaddress import IPv4Network

__all__ = ["CidrError", "SubnetPlan", "check_plan", "compute_plan", "parse_cidr"]

# AWS allows subnets from /16 to /28.
MIN_SUBNET_PREFIX = 16
MAX_SUBNET_PREFIX = 28


class CidrError(ValueError):
    """A CIDR or a plan that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class SubnetPlan:
    """One private and one public subnet per zone, in zone order."""

    vpc: IPv4Network
    private: tuple[IPv4Network, ...]
    public: tuple[IPv4Network, ...]


def parse_cidr(text: str) -> IPv4Network:
    """Parse strictly: `10.0.4.0/20` is refused (host bits set) instead of silently becoming 10.0.0.0/20."""
    try:
        return IPv4Network(text, strict=True)
    except ValueError as exc:
        # ipaddress says "has host bits set"; add what the aligned network would be.
        try:
            aligned = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise CidrError(f"{text!r} is not an IPv4 CIDR") from None
        raise CidrError(f"{text!r} is misaligned ({exc}); the network containing it is {aligned}") from None


def compute_plan(vpc: IPv4Network, zones: int, private_prefix: int, public_prefix: int) -> SubnetPlan:
    """Private subnets first, then public ones, each placed at the next address aligned to its size."""
    for prefix in (private_prefix, public_prefix):
        if not vpc.prefixlen <= prefix <= MAX_SUBNET_PREFIX:
            raise CidrError(f"/{prefix} subnets cannot be carved from {vpc} (allowed: /{vpc.prefixlen}-/28)")
    cursor = int(vpc.network_address)
    blocks: list[IPv4Network] = []
    for prefix in [private_prefix] * zones + [public_prefix] * zones:
        size = 2 ** (32 - prefix)
        cursor = -(-cursor // size) * size  # round up to the block's alignment
        block = IPv4Network((cursor, prefix))
        if not block.subnet_of(vpc):
            raise CidrError(
                f"{zones} private /{private_prefix} and {zones} public /{public_prefix} subnets do not fit in {vpc}"
            )
        blocks.append(block)
        cursor += size
    plan = SubnetPlan(vpc=vpc, private=tuple(blocks[:zones]), public=tuple(blocks[zones:]))
    check_plan(plan)
    return plan


def check_plan(plan: SubnetPlan) -> None:
    """Every subnet inside the VPC, sized as AWS allows, and no two overlapping."""
    labelled = [(f"private[{i}]", net) for i, net in enumerate(plan.private)] + [
        (f"public[{i}]", net) for i, net in enumerate(plan.public)
    ]
    problems: list[str] = []
    for label, net in labelled:
        if not net.subnet_of(plan.vpc):
            problems.append(f"{label} {net} is outside the VPC {plan.vpc}")
        if not MIN_SUBNET_PREFIX <= net.prefixlen <= MAX_SUBNET_PREFIX:
            problems.append(f"{label} {net} must be between /16 and /28")
    for i, (label_a, a) in enumerate(labelled):
        for label_b, b in labelled[i + 1 :]:
            if a.overlaps(b):
                problems.append(f"{label_a} {a} overlaps {label_b} {b}")
    if problems:
        raise CidrError("; ".join(problems))

"""The rules of policy/rules.py as a Pulumi policy pack.

With the CLI: `pulumi preview --policy-pack policy` (needs the `pulumi-policy` package in the environment
the pack runs in). Without pulumi-policy this module only exposes `policies()`; tests/infra run the same
rules over the program's registrations under mocks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Run by the CLI with policy/ as the working directory; the repository root makes `policy` importable.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from policy.model import ResourceRule, StackResource, StackRule  # noqa: E402
from policy.rules import RESOURCE_RULES, STACK_RULES  # noqa: E402

PACK_NAME = "agentic-platform"


def _resource_policy(pulumi_policy: Any, rule: ResourceRule) -> Any:
    def validate(args: Any, report_violation: Any) -> None:
        # Reading a value still unknown in a preview raises pulumi-policy's UnknownValueError, which the
        # framework treats as "cannot judge yet", as the mocks' UNKNOWN is treated in tests.
        for message in rule.validate(args.resource_type, args.props):
            report_violation(message)

    return pulumi_policy.ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=pulumi_policy.EnforcementLevel.MANDATORY,
    )


def _stack_policy(pulumi_policy: Any, rule: StackRule) -> Any:
    def validate(args: Any, report_violation: Any) -> None:
        resources = [
            StackResource(
                urn=r.urn,
                resource_type=r.resource_type,
                name=r.name,
                props=r.props,
                property_dependencies={k: tuple(d.urn for d in deps) for k, deps in r.property_dependencies.items()},
            )
            for r in args.resources
        ]
        for violation in rule.validate(resources):
            report_violation(violation.message, violation.urn)

    return pulumi_policy.StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=pulumi_policy.EnforcementLevel.MANDATORY,
    )


def policies(pulumi_policy: Any) -> list[Any]:
    return [_resource_policy(pulumi_policy, r) for r in RESOURCE_RULES] + [
        _stack_policy(pulumi_policy, r) for r in STACK_RULES
    ]


if __name__ == "__main__":
    try:
        import pulumi_policy
    except ImportError:
        sys.exit("policy pack: install pulumi-policy to run these rules with the Pulumi CLI")
    # Serves the analyzer until the CLI stops it.
    pulumi_policy.PolicyPack(name=PACK_NAME, policies=policies(pulumi_policy))

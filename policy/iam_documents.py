"""Checks on IAM JSON documents: permission policies and trust policies.

"No `*` on `*`" is read strictly: an Allow statement on Resource "*" with no Condition may only name
actions that AWS authorises on "*" alone (list and describe calls, and the few listed below), and a
wildcard action (`*`, `s3:*`, `ec2:Describe*`) is never allowed on "*", conditioned or not.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["POD_IDENTITY_PRINCIPAL", "parse_document", "permission_problems", "trust_problems"]

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = frozenset({"sts:AssumeRole", "sts:TagSession"})

# Non-list actions that have no resource-level permissions, so AWS requires Resource "*"
# (Service Authorization Reference). Extend only with an action that truly has no resource type.
AWS_UNSCOPED_ACTIONS = frozenset(
    {
        "s3:ListAllMyBuckets",
        "glue:GetJobs",
        "pricing:GetProducts",
        "ec2:GetCoipPoolUsage",
        "ec2:GetSecurityGroupsForVpc",
        "iam:GetServerCertificate",
        "shield:GetSubscriptionState",
    }
)
# Granted on "*" without condition by the AWS Load Balancer Controller's published policy
# (docs/install/iam_policy.json, vendored in infra/policies/). Accepted as upstream's decision: the
# controller discovers the resources it manages at run time, so they cannot be named in advance.
UPSTREAM_ALB_UNSCOPED_ACTIONS = frozenset(
    {
        "waf-regional:GetWebACL",
        "waf-regional:GetWebACLForResource",
        "waf-regional:AssociateWebACL",
        "waf-regional:DisassociateWebACL",
        "wafv2:GetWebACL",
        "wafv2:GetWebACLForResource",
        "wafv2:AssociateWebACL",
        "wafv2:DisassociateWebACL",
        "shield:CreateProtection",
        "shield:DeleteProtection",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:DeleteRule",
        "elasticloadbalancing:SetWebAcl",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:SetRulePriorities",
    }
)
_READ_ONLY_PREFIXES = ("Describe", "List")
# Privilege escalation paths: on "*" these are refused even behind a Condition.
ESCALATION_ACTIONS = frozenset(
    {
        "iam:PassRole",
        "sts:AssumeRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:CreatePolicyVersion",
        "iam:UpdateAssumeRolePolicy",
    }
)


def parse_document(text: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The document, or the reasons it is not a usable IAM document."""
    if isinstance(text, dict):
        doc = text
    else:
        try:
            doc = json.loads(text)
        except (TypeError, ValueError) as exc:
            return None, [f"not valid JSON ({exc})"]
    if not isinstance(doc, dict):
        return None, ["not a JSON object"]
    problems = []
    if doc.get("Version") != "2012-10-17":
        problems.append(f"Version must be 2012-10-17, not {doc.get('Version')!r}")
    statements = doc.get("Statement")
    if not isinstance(statements, list) or not statements or not all(isinstance(s, dict) for s in statements):
        problems.append("Statement must be a non-empty list of objects")
        return None, problems
    return doc, problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _unscoped_allowed(action: str) -> bool:
    verb = action.split(":", 1)[-1]
    return (
        verb.startswith(_READ_ONLY_PREFIXES)
        or action in AWS_UNSCOPED_ACTIONS
        or action in UPSTREAM_ALB_UNSCOPED_ACTIONS
    )


def permission_problems(text: Any) -> list[str]:
    doc, problems = parse_document(text)
    if doc is None:
        return problems
    for index, stmt in enumerate(doc["Statement"]):
        label = f"statement {stmt.get('Sid') or index}"
        if stmt.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"{label}: Effect must be Allow or Deny")
        if stmt.get("Effect") != "Allow":
            continue  # a Deny may be as broad as it likes
        if "NotAction" in stmt or "NotResource" in stmt:
            problems.append(f"{label}: Allow with NotAction/NotResource grants everything else")
            continue
        actions = [str(a) for a in _list(stmt.get("Action"))]
        resources = [str(r) for r in _list(stmt.get("Resource"))]
        if not actions:
            problems.append(f"{label}: no Action")
        if not resources and "Principal" not in stmt:
            problems.append(f"{label}: no Resource")
        if "*" in actions:
            problems.append(f"{label}: Action '*' grants every action")
        if "*" not in resources:
            continue
        for action in actions:
            if "*" in action:
                problems.append(f"{label}: wildcard action {action!r} on Resource '*'")
            elif action in ESCALATION_ACTIONS:
                problems.append(f"{label}: {action} on Resource '*' allows privilege escalation; name the ARNs")
            elif not stmt.get("Condition") and not _unscoped_allowed(action):
                problems.append(f"{label}: {action} on Resource '*' without a Condition (scope it to ARNs)")
    return problems


def trust_problems(text: Any) -> list[str]:
    """For a role trusted by EKS Pod Identity: that service only, with AssumeRole and TagSession."""
    doc, problems = parse_document(text)
    if doc is None:
        return problems
    for index, stmt in enumerate(doc["Statement"]):
        label = f"statement {stmt.get('Sid') or index}"
        principal = stmt.get("Principal")
        services = _list(principal.get("Service")) if isinstance(principal, dict) else []
        if POD_IDENTITY_PRINCIPAL not in services:
            continue
        if stmt.get("Effect") != "Allow":
            problems.append(f"{label}: Effect must be Allow")
        if set(principal) != {"Service"} or services != [POD_IDENTITY_PRINCIPAL]:
            problems.append(f"{label}: trusts more than {POD_IDENTITY_PRINCIPAL}: {principal}")
        actions = set(_list(stmt.get("Action")))
        if actions != POD_IDENTITY_ACTIONS:
            problems.append(
                f"{label}: actions must be exactly sts:AssumeRole and sts:TagSession, got {sorted(actions)}"
            )
    return problems


def trusts_pod_identity(text: Any) -> bool:
    doc, _ = parse_document(text)
    if doc is None:
        return False
    return any(
        POD_IDENTITY_PRINCIPAL in _list((s.get("Principal") or {}).get("Service"))
        for s in doc["Statement"]
        if isinstance(s.get("Principal"), dict)
    )

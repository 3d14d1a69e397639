"""Which Bedrock ARNs agent-core and aws-mcp may invoke, derived from the one model id in the stack's config.

The stack names its model once (`bedrockModelId`, also AGENTIC_BEDROCK_MODEL_ID); the grants follow from it.
AWS's rule for a geographic cross-Region inference profile (Bedrock user guide, "Geographic cross-Region
inference", IAM policy requirements): `bedrock:InvokeModel` on the profile, on the foundation model in the
source Region, and on the foundation model in every destination Region the profile may route to. A grant
that misses a destination fails only when Bedrock happens to route there: intermittent AccessDenied.

Models reach end of life (Claude 3.5 Haiku did on 2026-06-19), so the id is configuration, checked before
deploying by the preflight; nothing here is a default that quietly outlives its model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

__all__ = [
    "DEFAULT_MODEL_ID",
    "PROFILE_ROUTES",
    "BedrockAccessError",
    "BedrockModelAccess",
    "model_access",
]

# Claude Haiku 4.5 through the US geographic inference profile (Bedrock model card "Claude Haiku 4.5":
# lifecycle Active, launched 2025-10-16; its geographic inference id is this one).
DEFAULT_MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"

# The first segment of a system-defined (cross-Region) inference profile id: the geography it routes within.
_GEOGRAPHIES = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})

_US_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")
# Source Region → destination Regions, for the profiles this program knows. From the Bedrock user guide,
# "Supported Regions and models for inference profiles" (US Anthropic Claude Haiku 4.5), which AWS also
# serves per Region as GetInferenceProfile's `models`. Where the guide's rows differ by source Region, each
# source here lists every US Region the profile routes to: a grant for a Region Bedrock never picks from this
# source is unused, a missing one is an outage. Any other profile works too, with its foundation-model ARNs
# listed in bedrockModelArns.
PROFILE_ROUTES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    DEFAULT_MODEL_ID: dict.fromkeys(_US_REGIONS, _US_REGIONS),
}


class BedrockAccessError(ValueError):
    """The model cannot be invoked from the stack's Region with what is configured; the message says why."""


@dataclass(frozen=True)
class BedrockModelAccess:
    """What one configured model needs granted, before account and partition are known."""

    model_id: str
    region: str
    # The system-defined inference profile, when the model id is one.
    profile_id: str | None
    # The foundation model behind the id, and the Regions it must be granted in.
    foundation_model: str | None
    foundation_regions: tuple[str, ...]
    # More ARNs from bedrockModelArns: other models aws-mcp's callers may name, or a profile's destinations.
    extra_arns: tuple[str, ...]

    def invoke_arns(self, partition: str, account_id: pulumi.Input[str]) -> list[pulumi.Input[str]]:
        """The resources of the `bedrock:InvokeModel` statement, each once."""
        arns: list[pulumi.Input[str]] = []
        if self.model_id.startswith("arn:"):
            arns.append(self.model_id)
        if self.profile_id is not None:
            arns.append(
                pulumi.Output.concat(
                    f"arn:{partition}:bedrock:{self.region}:", account_id, f":inference-profile/{self.profile_id}"
                )
            )
        if self.foundation_model is not None:
            arns.extend(
                f"arn:{partition}:bedrock:{region}::foundation-model/{self.foundation_model}"
                for region in self.foundation_regions
            )
        seen = {arn for arn in arns if isinstance(arn, str)}
        for extra in self.extra_arns:
            if extra not in seen:
                arns.append(extra)
                seen.add(extra)
        return arns


def model_access(model_id: str, region: str, extra_arns: Sequence[str] = ()) -> BedrockModelAccess:
    """Work out the grants for ``model_id`` called from ``region``, or raise BedrockAccessError."""
    extras = tuple(extra_arns)
    if model_id.startswith("arn:"):
        # An ARN is granted as written; an (application) inference profile ARN also needs its models.
        is_profile = ":inference-profile/" in model_id or ":application-inference-profile/" in model_id
        if is_profile and not any(":foundation-model/" in arn for arn in extras):
            raise BedrockAccessError(
                f"{model_id} is an inference profile: list the foundation-model ARNs of every Region it "
                "routes to in bedrockModelArns (GetInferenceProfile shows them under `models`)"
            )
        return BedrockModelAccess(model_id, region, None, None, (), extras)
    geography, _, base = model_id.partition(".")
    if geography not in _GEOGRAPHIES or not base:
        # A foundation model called in the stack's own Region.
        return BedrockModelAccess(model_id, region, None, model_id, (region,), extras)
    routes = PROFILE_ROUTES.get(model_id)
    if routes is None:
        if not any(arn.endswith(f":foundation-model/{base}") for arn in extras):
            raise BedrockAccessError(
                f"the Regions {model_id} routes to are not known to this program: list the foundation-model "
                f"ARNs of {base} in each of them in bedrockModelArns (GetInferenceProfile shows them under `models`)"
            )
        return BedrockModelAccess(model_id, region, model_id, None, (), extras)
    if region not in routes:
        raise BedrockAccessError(
            f"{model_id} cannot be called from {region}; its source Regions are {', '.join(sorted(routes))}. "
            "Choose the inference profile of this Region's geography"
        )
    return BedrockModelAccess(model_id, region, model_id, base, routes[region], extras)

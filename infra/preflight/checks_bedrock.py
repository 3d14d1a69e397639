"""The configured Bedrock model (`agentic-platform:bedrockModelId`): it exists, is ACTIVE and the account may use it.

Through Bedrock's control plane (the `bedrock` client), read-only: GetInferenceProfile for an inference profile,
GetFoundationModel for each model (lifecycle status, whether it can be invoked on demand) and
GetFoundationModelAvailability for the account's access (authorization, entitlement, agreement, region).
Operation names and shapes: botocore/data/bedrock/2023-04-20/service-2.json (botocore 1.44.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from infra.preflight.findings import Finding, describe_error

if TYPE_CHECKING:
    from mypy_boto3_bedrock import BedrockClient

__all__ = ["check_bedrock_model"]

NAME = "bedrock-model"
_PROFILE_ARN_TYPES = (":inference-profile/", ":application-inference-profile/")
_FOUNDATION_ARN_TYPE = ":foundation-model/"


class _Problem(Exception):
    """A reason the model cannot be used; `warn` when it only could not be confirmed."""

    def __init__(self, found: str, fix: str, *, warn: bool = False) -> None:
        super().__init__(found)
        self.found = found
        self.fix = fix
        self.warn = warn


@dataclass(frozen=True)
class _Fixes:
    region: str
    stack: str

    @property
    def choose(self) -> str:
        return (
            f"pulumi config set agentic-platform:bedrockModelId <id> --stack {self.stack} (and bedrockModelArns to "
            f"match); see aws bedrock list-inference-profiles --region {self.region}  and  "
            f"aws bedrock list-foundation-models --region {self.region}"
        )


def check_bedrock_model(bedrock: BedrockClient, model_id: str, region: str, stack: str) -> Finding:
    fixes = _Fixes(region, stack)
    try:
        profile = _inference_profile(bedrock, model_id, fixes)
        if profile is None:
            model = _foundation_model_id(model_id)
            _check_model(bedrock, model, fixes, direct=True)
            return Finding.passed(NAME, f"foundation model {model} is ACTIVE, on demand, and granted to the account")
        profile_id, models = profile
        for model in models:
            _check_model(bedrock, model, fixes, direct=False)
        return Finding.passed(
            NAME, f"inference profile {profile_id} is ACTIVE; {', '.join(models)} ACTIVE and granted to the account"
        )
    except _Problem as problem:
        if problem.warn:
            return Finding.warned(NAME, problem.found, problem.fix)
        return Finding.failed(NAME, problem.found, problem.fix)


def _inference_profile(bedrock: BedrockClient, model_id: str, fixes: _Fixes) -> tuple[str, list[str]] | None:
    """(profile id, its distinct foundation model ids), or None when `model_id` names no inference profile."""
    if _FOUNDATION_ARN_TYPE in model_id:
        return None
    try:
        profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
    except ClientError as exc:
        code = _code(exc)
        # A plain id may name a foundation model instead: the profile look-up does not know it.
        if code in ("ResourceNotFoundException", "ValidationException") and not _is_profile_arn(model_id):
            return None
        if code == "ResourceNotFoundException":
            raise _Problem(f"inference profile {model_id} does not exist in {fixes.region}", fixes.choose) from exc
        raise _unconfirmed(exc, "bedrock:GetInferenceProfile", fixes) from exc
    profile_id = profile["inferenceProfileId"]
    if profile["status"] != "ACTIVE":
        raise _Problem(f"inference profile {profile_id} is {profile['status']}, not ACTIVE", fixes.choose)
    models: list[str] = []
    for entry in profile["models"]:
        model = _foundation_model_id(entry.get("modelArn", ""))
        if model and model not in models:
            models.append(model)
    if not models:
        raise _Problem(f"inference profile {profile_id} lists no foundation models", fixes.choose)
    return profile_id, models


def _check_model(bedrock: BedrockClient, model: str, fixes: _Fixes, *, direct: bool) -> None:
    try:
        details = bedrock.get_foundation_model(modelIdentifier=model)["modelDetails"]
    except ClientError as exc:
        if _code(exc) in ("ResourceNotFoundException", "ValidationException"):
            raise _Problem(f"foundation model {model} is not offered in {fixes.region}", fixes.choose) from exc
        raise _unconfirmed(exc, "bedrock:GetFoundationModel", fixes) from exc
    lifecycle = details.get("modelLifecycle", {})
    status = lifecycle.get("status", "ACTIVE")
    if status != "ACTIVE":
        end = lifecycle.get("endOfLifeTime")
        raise _Problem(
            f"foundation model {model} is {status}, not ACTIVE" + (f" (end of life {end:%Y-%m-%d})" if end else ""),
            "pick an ACTIVE model: " + fixes.choose,
        )
    if direct and "ON_DEMAND" not in details.get("inferenceTypesSupported", ["ON_DEMAND"]):
        raise _Problem(
            f"foundation model {model} cannot be invoked on demand, only through an inference profile",
            f"use an inference profile for it (e.g. us.{model}): " + fixes.choose,
        )
    _check_access(bedrock, model, fixes)


def _check_access(bedrock: BedrockClient, model: str, fixes: _Fixes) -> None:
    grant = (
        "grant access: open the Bedrock console's Model access page (Anthropic models also ask for a use-case form),"
        f" or aws bedrock list-foundation-model-agreement-offers --model-id {model} then"
        f" aws bedrock create-foundation-model-agreement --model-id {model} --offer-token <token>"
    )
    try:
        availability = bedrock.get_foundation_model_availability(modelId=model)
    except ClientError as exc:
        raise _unconfirmed(exc, "bedrock:GetFoundationModelAvailability", fixes) from exc
    agreement = availability["agreementAvailability"]["status"]
    refused = [
        f"{field} is {value}"
        for field, value, wanted in (
            ("authorizationStatus", availability["authorizationStatus"], "AUTHORIZED"),
            ("entitlementAvailability", availability["entitlementAvailability"], "AVAILABLE"),
            ("regionAvailability", availability["regionAvailability"], "AVAILABLE"),
        )
        if value != wanted
    ]
    if agreement not in ("AVAILABLE", "PENDING"):
        error = availability["agreementAvailability"].get("errorMessage")
        refused.append(f"agreement is {agreement}" + (f" ({error})" if error else ""))
    if refused:
        raise _Problem(f"{model} is not granted to the account: {'; '.join(refused)}", grant)
    if agreement == "PENDING":
        raise _Problem(
            f"{model}: the model agreement is still PENDING",
            "wait a few minutes, then run the preflight again",
            warn=True,
        )


def _unconfirmed(exc: ClientError, action: str, fixes: _Fixes) -> _Problem:
    if _code(exc) == "AccessDeniedException":
        return _Problem(
            f"could not confirm the model: {describe_error(exc)}",
            f"allow {action} to the principal running the preflight, or check the model in the Bedrock console",
            warn=True,
        )
    return _Problem(
        f"could not confirm the model: {describe_error(exc)}", "run the preflight again; or " + fixes.choose
    )


def _foundation_model_id(text: str) -> str:
    return text.split(_FOUNDATION_ARN_TYPE, 1)[1] if _FOUNDATION_ARN_TYPE in text else text


def _is_profile_arn(text: str) -> bool:
    return text.startswith("arn:") and any(kind in text for kind in _PROFILE_ARN_TYPES)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

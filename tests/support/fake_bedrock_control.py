"""A stand-in for Bedrock's control plane (the `bedrock` client) on 127.0.0.1; moto does not implement it.

    with run_fake_bedrock_control() as bedrock:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", bedrock.base_url)
        bedrock.add_model(FoundationModel("anthropic.claude-haiku-4-5-20251001-v1:0"))
        bedrock.add_profile(InferenceProfile("us.anthropic.claude-haiku-4-5-20251001-v1:0", ...))

It speaks the REST-JSON wire format of botocore/data/bedrock/2023-04-20/service-2.json (botocore 1.44.5):
  GET /inference-profiles/{inferenceProfileIdentifier}       GetInferenceProfile (an id or its ARN)
  GET /foundation-models/{modelIdentifier}                   GetFoundationModel  (an id or its ARN)
  GET /foundation-model-availability/{modelId}               GetFoundationModelAvailability
Responses carry the modelled members (`inferenceProfileId`, `status`, `models[].modelArn`; `modelDetails` with
`modelLifecycle` and `inferenceTypesSupported`; `authorizationStatus`, `entitlementAvailability`,
`regionAvailability`, `agreementAvailability.status`), timestamps in ISO 8601 as the model's `Timestamp` shape
says. Errors are the modelled ones, sent as the service sends them: the status from the error shape
(ResourceNotFoundException 404, AccessDeniedException 403, ValidationException 400), an
`x-amzn-ErrorType: <Code>:<namespace>` header and `{"message": ...}` — botocore takes the code from the header.
Identifiers are checked against the model's own `pattern`s (read from botocore at start), as the service
validates them. `deny("GetFoundationModel")` answers an operation with AccessDeniedException, as for a caller
whose IAM policy lacks it. Every request is recorded in `calls`, so a test can prove only reads were made.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

__all__ = ["FakeBedrockControl", "FoundationModel", "InferenceProfile", "run_fake_bedrock_control"]

_HEALTH_PATH = "/__fake_bedrock_control/health"
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
ACCOUNT = "123456789012"


def _patterns() -> dict[str, re.Pattern[str]]:
    model = botocore.session.get_session().get_service_model("bedrock")
    shapes = {
        "GetInferenceProfile": "InferenceProfileIdentifier",
        "GetFoundationModel": "GetFoundationModelIdentifier",
        "GetFoundationModelAvailability": "BedrockModelId",
    }
    return {op: re.compile(model.shape_for(shape).metadata["pattern"]) for op, shape in shapes.items()}


@dataclass
class FoundationModel:
    model_id: str
    lifecycle: str = "ACTIVE"  # ACTIVE | LEGACY
    end_of_life: datetime | None = None
    inference_types: tuple[str, ...] = ("ON_DEMAND",)  # ON_DEMAND | PROVISIONED | INFERENCE_PROFILE
    authorization: str = "AUTHORIZED"  # AUTHORIZED | NOT_AUTHORIZED
    entitlement: str = "AVAILABLE"  # AVAILABLE | NOT_AVAILABLE
    agreement: str = "AVAILABLE"  # AVAILABLE | PENDING | NOT_AVAILABLE | ERROR
    region_availability: str = "AVAILABLE"  # AVAILABLE | NOT_AVAILABLE


@dataclass
class InferenceProfile:
    profile_id: str
    model_id: str
    regions: tuple[str, ...] = ("us-east-1", "us-east-2", "us-west-2")
    status: str = "ACTIVE"


@dataclass(frozen=True)
class ControlCall:
    method: str
    operation: str
    identifier: str


@dataclass
class FakeBedrockControl:
    base_url: str = ""
    region: str = "us-west-2"
    models: dict[str, FoundationModel] = field(default_factory=dict)
    profiles: dict[str, InferenceProfile] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    _calls: list[ControlCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_model(self, model: FoundationModel) -> FoundationModel:
        self.models[model.model_id] = model
        return model

    def add_profile(self, profile: InferenceProfile) -> InferenceProfile:
        self.profiles[profile.profile_id] = profile
        return profile

    def deny(self, *operations: str) -> None:
        self.denied.update(operations)

    @property
    def calls(self) -> list[ControlCall]:
        with self._lock:
            return list(self._calls)

    def _record(self, method: str, operation: str, identifier: str) -> None:
        with self._lock:
            self._calls.append(ControlCall(method, operation, identifier))


def _error(code: str, status: int, message: str) -> Response:
    headers = {"x-amzn-ErrorType": f"{code}:{_ERROR_NAMESPACE}", "x-amzn-RequestId": str(uuid.uuid4())}
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _model_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def create_app(fake: FakeBedrockControl) -> Starlette:
    patterns = _patterns()
    created = _iso(datetime(2025, 10, 15, tzinfo=UTC))

    def admit(request: Request, operation: str) -> tuple[str, Response | None]:
        identifier = str(request.path_params["identifier"])
        fake._record(request.method, operation, identifier)
        if operation in fake.denied:
            message = f"User is not authorized to perform: bedrock:{operation} on resource: {identifier}"
            return identifier, _error("AccessDeniedException", 403, message)
        if not patterns[operation].fullmatch(identifier):
            message = f"1 validation error detected: Value '{identifier}' failed to satisfy constraint: pattern"
            return identifier, _error("ValidationException", 400, message)
        return identifier, None

    async def get_inference_profile(request: Request) -> Response:
        identifier, refused = admit(request, "GetInferenceProfile")
        if refused is not None:
            return refused
        profile = fake.profiles.get(identifier.rsplit("inference-profile/", 1)[-1])
        if profile is None:
            return _error("ResourceNotFoundException", 404, f"Inference profile {identifier} not found.")
        arn = f"arn:aws:bedrock:{fake.region}:{ACCOUNT}:inference-profile/{profile.profile_id}"
        return JSONResponse(
            {
                "inferenceProfileName": profile.profile_id.replace(".", " ").replace(":", " ")[:64],
                "inferenceProfileArn": arn,
                "inferenceProfileId": profile.profile_id,
                "models": [{"modelArn": _model_arn(region, profile.model_id)} for region in profile.regions],
                "status": profile.status,
                "type": "SYSTEM_DEFINED",
                "createdAt": created,
                "updatedAt": created,
            }
        )

    async def get_foundation_model(request: Request) -> Response:
        identifier, refused = admit(request, "GetFoundationModel")
        if refused is not None:
            return refused
        model = fake.models.get(identifier.rsplit("foundation-model/", 1)[-1])
        if model is None:
            return _error("ResourceNotFoundException", 404, f"Could not find model {identifier}.")
        lifecycle: dict[str, Any] = {"status": model.lifecycle}
        if model.end_of_life is not None:
            lifecycle["endOfLifeTime"] = _iso(model.end_of_life)
        return JSONResponse(
            {
                "modelDetails": {
                    "modelArn": _model_arn(fake.region, model.model_id),
                    "modelId": model.model_id,
                    "modelName": model.model_id.split(".", 1)[-1],
                    "providerName": model.model_id.split(".", 1)[0].capitalize(),
                    "inputModalities": ["TEXT", "IMAGE"],
                    "outputModalities": ["TEXT"],
                    "responseStreamingSupported": True,
                    "customizationsSupported": [],
                    "inferenceTypesSupported": list(model.inference_types),
                    "modelLifecycle": lifecycle,
                }
            }
        )

    async def get_availability(request: Request) -> Response:
        identifier, refused = admit(request, "GetFoundationModelAvailability")
        if refused is not None:
            return refused
        model = fake.models.get(identifier)
        if model is None:
            return _error("ResourceNotFoundException", 404, f"Could not find model {identifier}.")
        agreement: dict[str, Any] = {"status": model.agreement}
        if model.agreement == "ERROR":
            agreement["errorMessage"] = "The agreement could not be created."
        return JSONResponse(
            {
                "modelId": model.model_id,
                "agreementAvailability": agreement,
                "authorizationStatus": model.authorization,
                "entitlementAvailability": model.entitlement,
                "regionAvailability": model.region_availability,
            }
        )

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    return Starlette(
        routes=[
            Route(_HEALTH_PATH, health),
            # `path` convertors: an ARN's `/` arrives percent-decoded.
            Route("/inference-profiles/{identifier:path}", get_inference_profile, methods=["GET"]),
            Route("/foundation-models/{identifier:path}", get_foundation_model, methods=["GET"]),
            Route("/foundation-model-availability/{identifier:path}", get_availability, methods=["GET"]),
        ]
    )


@contextmanager
def run_fake_bedrock_control(region: str = "us-west-2") -> Iterator[FakeBedrockControl]:
    fake = FakeBedrockControl(region=region)
    with serve_in_thread(create_app(fake), ready_path=_HEALTH_PATH) as base_url:
        fake.base_url = base_url
        yield fake

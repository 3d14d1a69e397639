"""A stand-in for EKS's DescribeClusterVersions on 127.0.0.1: moto 5.2.5 does not implement it (moto/eks/responses.py).

    with run_fake_eks_versions([ClusterVersion("1.35", "STANDARD_SUPPORT", ...)]) as eks:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", eks.base_url)

The wire format is botocore/data/eks/2017-11-01/service-2.json (botocore 1.44.5): `GET /cluster-versions` with
the query members `clusterVersions` (repeated), `versionStatus`, `includeAll`, `defaultOnly`; the answer is
`{"clusterVersions": [ClusterVersionInformation...]}` with timestamps as epoch seconds (rest-json's default;
the EKS `Timestamp` shape sets no format) and `status` as the deprecated lower-case twin of `versionStatus`.
Versions out of support are listed only with `includeAll=true` (the model documents it as "Include all
available versions"). Unknown operations answer 404 with EKS's error header, as an unknown route would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

__all__ = ["ClusterVersion", "FakeEksVersions", "run_fake_eks_versions"]

_HEALTH_PATH = "/__fake_eks/health"


@dataclass(frozen=True)
class ClusterVersion:
    version: str
    status: str  # STANDARD_SUPPORT | EXTENDED_SUPPORT | UNSUPPORTED
    end_of_standard_support: datetime
    end_of_extended_support: datetime
    default: bool = False

    def wire(self) -> dict[str, object]:
        return {
            "clusterVersion": self.version,
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.1",
            "defaultVersion": self.default,
            "releaseDate": int(self.end_of_standard_support.timestamp()) - 14 * 30 * 86400,
            "endOfStandardSupportDate": int(self.end_of_standard_support.timestamp()),
            "endOfExtendedSupportDate": int(self.end_of_extended_support.timestamp()),
            "status": self.status.lower().replace("_", "-"),
            "versionStatus": self.status,
            "kubernetesPatchVersion": f"{self.version}.0",
        }


@dataclass
class FakeEksVersions:
    versions: list[ClusterVersion]
    base_url: str = ""
    queries: list[dict[str, list[str]]] = field(default_factory=list)


def dated(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def create_app(fake: FakeEksVersions) -> Starlette:
    async def describe_cluster_versions(request: Request) -> Response:
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        fake.queries.append(query)
        wanted = set(query.get("clusterVersions", []))
        status = (query.get("versionStatus") or [None])[0]
        include_all = (query.get("includeAll") or ["false"])[0] == "true"
        listed = [
            v.wire()
            for v in fake.versions
            if (not wanted or v.version in wanted)
            and (status is None or v.status == status)
            and (include_all or status == "UNSUPPORTED" or v.status != "UNSUPPORTED")
        ]
        return JSONResponse({"clusterVersions": listed})

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    async def unknown(request: Request) -> Response:
        headers = {"x-amzn-ErrorType": "NotFoundException", "x-amzn-RequestId": str(uuid.uuid4())}
        return JSONResponse({"message": f"no route for {request.url.path}"}, status_code=404, headers=headers)

    return Starlette(
        routes=[
            Route(_HEALTH_PATH, health),
            Route("/cluster-versions", describe_cluster_versions, methods=["GET"]),
            Route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )


@contextmanager
def run_fake_eks_versions(versions: Sequence[ClusterVersion]) -> Iterator[FakeEksVersions]:
    fake = FakeEksVersions(list(versions))
    with serve_in_thread(create_app(fake), ready_path=_HEALTH_PATH) as base_url:
        fake.base_url = base_url
        yield fake

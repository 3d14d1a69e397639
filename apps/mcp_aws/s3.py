"""S3: listing the account's buckets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from apps.common.tools import ToolError
from apps.mcp_aws.errors import aws_errors

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PaginatorConfigTypeDef

__all__ = ["MAX_BUCKETS_LIMIT", "S3Bucket", "S3BucketList", "list_buckets"]

MAX_BUCKETS_LIMIT = 1000
# ListBuckets accepts MaxBuckets up to 10,000.
_S3_PAGE_LIMIT = 10_000


class S3Bucket(BaseModel):
    name: str
    created: str | None = Field(description="Creation time, ISO 8601")
    region: str | None = Field(description="The bucket's region when S3 reports it in the listing")


class S3BucketList(BaseModel):
    buckets: list[S3Bucket]
    truncated: bool = Field(description="True when more buckets match than were returned")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_buckets(s3: S3Client, *, prefix: str | None = None, max_buckets: int = 100) -> S3BucketList:
    """Up to ``max_buckets`` buckets whose names start with ``prefix``, in S3's (name) order."""
    if not 1 <= max_buckets <= MAX_BUCKETS_LIMIT:
        raise ToolError(f"max_buckets must be between 1 and {MAX_BUCKETS_LIMIT}.")
    # One more than asked for tells whether the listing was cut short, without a second page
    # when the first already had it. Pages are fetched lazily, so the loop stops early.
    wanted = max_buckets + 1
    found: list[S3Bucket] = []
    with aws_errors("s3:ListAllMyBuckets"):
        paginator = s3.get_paginator("list_buckets")
        page_size: PaginatorConfigTypeDef = {"PageSize": min(wanted, _S3_PAGE_LIMIT)}
        pages = (
            paginator.paginate(Prefix=prefix, PaginationConfig=page_size)
            if prefix
            else paginator.paginate(PaginationConfig=page_size)
        )
        for page in pages:
            for bucket in page.get("Buckets", []):
                found.append(
                    S3Bucket(
                        name=bucket.get("Name", ""),
                        created=_iso(bucket.get("CreationDate")),
                        region=bucket.get("BucketRegion"),
                    )
                )
            if len(found) >= wanted:
                break
    return S3BucketList(buckets=found[:max_buckets], truncated=len(found) > max_buckets)
